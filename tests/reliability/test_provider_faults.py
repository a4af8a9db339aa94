"""Provider faults: 5xx, timeouts, 429s and the ambiguous accepted-then-5xx, against fake Twilio.

Every message ends delivered or failed with a reason, within 3 attempts, at no more than the
configured pace, and a message Twilio created despite an error answer is never sent twice.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Callable

import pytest
from sqlmodel import Session, select

from bot.channels.ratelimit import RateLimiter
from bot.channels.registry import ChannelSet
from bot.dispatcher import Dispatcher
from bot.storage.db import make_engine
from bot.storage.models import Contact, OutboundMessage, Person
from tests.conftest import FIXED_NOW
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.twilio_api import FakeTwilio
from tests.reliability.helpers import both_channels
from tests.storage.helpers import Clock

RECIPIENTS = 80
PACE = 20.0  # messages per second we allow ourselves
TIMEOUT = 0.5


def _queue(database_url: str) -> list[str]:
    engine = make_engine(database_url)
    numbers = [f"+6681555{i:04d}" for i in range(RECIPIENTS)]
    with Session(engine) as db, db.begin():
        for number in numbers:
            person = Person(phone=number, language="th", country="TH", consent_at=FIXED_NOW)
            db.add(person)
            db.flush()
            assert person.id is not None
            contact = Contact(person_id=person.id, channel="sms", address=number)
            db.add(contact)
            db.flush()
            assert contact.id is not None
            db.add(
                OutboundMessage(
                    contact_id=contact.id,
                    channel="sms",
                    kind="broadcast",
                    priority=10,
                    text=f"ประชุมวันศุกร์ {number[-4:]}",
                    next_attempt_at=FIXED_NOW,
                    created_at=FIXED_NOW,
                )
            )
    engine.dispose()
    return numbers


def _faults(twilio: FakeTwilio, numbers: list[str]) -> dict[str, str]:
    """30% get a 5xx (some twice, some three times: those must fail), and some a timeout,
    a 429, or the ambiguous accepted-then-500."""
    chosen = random.Random(7).sample(numbers, len(numbers))
    plan: dict[str, str] = {}
    share = int(RECIPIENTS * 0.3)
    for index, number in enumerate(chosen[:share]):
        times = 3 if index < 3 else 2 if index < 8 else 1
        twilio.inject_server_error(503 if index % 2 else 500, to=number, times=times)
        plan[number] = f"5xx x{times}"
    for number in chosen[share : share + 5]:
        twilio.inject_delay(TIMEOUT * 2, created=True, to=number)
        plan[number] = "timeout after creating"
    for number in chosen[share + 5 : share + 10]:
        twilio.inject_rate_limit(to=number)
        plan[number] = "429"
    for number in chosen[share + 10 : share + 15]:
        twilio.inject_accepted_then_error(500, to=number)
        plan[number] = "accepted then 500"
    return plan


def _busiest_second(times: list[float]) -> int:
    times = sorted(times)
    start, busiest = 0, 0
    for end, moment in enumerate(times):
        while moment - times[start] >= 1.0:
            start += 1
        busiest = max(busiest, end - start + 1)
    return busiest


async def test_every_message_ends_sent_or_failed_once(
    database_url: str, figure: Callable[[str], None], monkeypatch: pytest.MonkeyPatch
) -> None:
    released: list[float] = []
    acquire = RateLimiter.acquire

    async def recorded(self: RateLimiter, key: str | None = None) -> None:
        await acquire(self, key)
        released.append(time.monotonic())  # the moment a create call may leave

    monkeypatch.setattr(RateLimiter, "acquire", recorded)
    numbers = _queue(database_url)
    clock = Clock(FIXED_NOW)
    with FakeTelegram().running() as telegram, FakeTwilio() as twilio:
        plan = _faults(twilio, numbers)
        settings = both_channels(
            database_url,
            telegram,
            twilio,
            twilio_max_per_second=PACE,
            twilio_timeout_seconds=TIMEOUT,
        )
        channels = ChannelSet(settings, clock)
        dispatcher = Dispatcher(
            make_engine(database_url),
            channels.senders,
            max_attempts=3,
            clock=clock,
        )
        try:
            for _ in range(10):
                await dispatcher.dispatch_once(limit=500)
                clock.advance(minutes=10)  # past any backoff
        finally:
            await channels.close()
            dispatcher.engine.dispose()
        creates = [r for r in twilio.requests if r.to in plan or r.to in numbers]
        created = Counter(r.to for r in twilio.requests if r.sid is not None)
    engine = make_engine(database_url)
    with Session(engine) as db:
        rows = {
            contact.address: message
            for message, contact in db.exec(
                select(OutboundMessage, Contact).join(Contact)  # type: ignore[arg-type]
            ).all()
        }
    engine.dispose()
    statuses = Counter(m.status for m in rows.values())
    busiest = _busiest_second(released)
    arrivals = _busiest_second([r.at for r in creates])
    figure(
        f"provider faults: {statuses['sent']} sent / {statuses['failed']} failed of "
        f"{RECIPIENTS}; {len(creates)} create calls, {sum(created.values())} messages created; "
        f"busiest second: {busiest} sent, {arrivals} arrived (pace {PACE:g}/s); max attempts "
        f"{max(m.attempts for m in rows.values())}"
    )
    assert set(statuses) <= {"sent", "failed"}
    assert all(m.error for m in rows.values() if m.status == "failed")
    assert all(m.attempts <= 3 for m in rows.values())
    assert max(created.values()) == 1  # nobody got a message twice
    assert {n for n, m in rows.items() if m.status == "sent"} == set(created)
    failed = {n for n, m in rows.items() if m.status == "failed"}
    assert failed == {n for n, what in plan.items() if what == "5xx x3"}
    for number, what in plan.items():
        if what in ("timeout after creating", "accepted then 500"):
            # Created by the first attempt, found by the second: sent with that very SID.
            assert rows[number].status == "sent" and rows[number].provider_id is not None
    assert len(released) >= len(creates) and busiest <= PACE  # every create waited its turn
