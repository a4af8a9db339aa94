"""STOP in every language while a broadcast is going out: nothing more reaches that person.

The broadcast goes at the provider's pace, so many rows are claimed and waiting when STOP
arrives; the dispatcher looks at the recipient again after the wait.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from sqlmodel import Session, select

from bot.broadcasts.expand import expand
from bot.channels.registry import ChannelSet
from bot.dispatcher import Dispatcher
from bot.storage.db import make_engine
from bot.storage.models import Broadcast, Contact, OutboundMessage, Person
from tests.channels.twilio_helpers import PUBLIC, message_form, sign
from tests.conftest import FIXED_NOW
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.twilio_api import FakeTwilio
from tests.reliability.helpers import both_channels, running
from tests.waiting import wait_until_async

PACE = 40.0
TEXT = "The national call is on Friday at 9:00."
PER_LANGUAGE = 25
STOPS = {
    "en": ("GH", "+23324{:07d}", "STOP"),
    "pt_BR": ("BR", "+55119{:08d}", "PARAR"),
    "fr": ("CI", "+22507{:08d}", "ARRÊT"),
    "id": ("ID", "+62812{:07d}", "BERHENTI"),
    "my": ("MM", "+95942{:07d}", "ရပ်"),
    "th": ("TH", "+6681{:07d}", "หยุด"),
    "vi": ("VN", "+84912{:06d}", "DỪNG"),
}


def _people(database_url: str) -> dict[str, list[str]]:
    engine = make_engine(database_url)
    numbers: dict[str, list[str]] = {}
    with Session(engine) as db, db.begin():
        for language, (country, pattern, _) in STOPS.items():
            for i in range(PER_LANGUAGE):
                number = pattern.format(1000 + i)
                person = Person(
                    phone=number, language=language, country=country, consent_at=FIXED_NOW
                )
                db.add(person)
                db.flush()
                assert person.id is not None
                db.add(Contact(person_id=person.id, channel="sms", address=number))
                numbers.setdefault(language, []).append(number)
        broadcast = Broadcast(audience="all", text=TEXT)
        db.add(broadcast)
        db.flush()
        broadcast_id = broadcast.id
    assert broadcast_id is not None
    assert expand(engine, broadcast_id) == PER_LANGUAGE * len(STOPS)
    engine.dispose()
    return numbers


async def test_stop_in_any_language_ends_the_broadcast_for_that_person(
    database_url: str, figure: Callable[[str], None]
) -> None:
    numbers = _people(database_url)
    # Late in each language's share of the queue: claimed, and waiting for its turn.
    stopping = {language: found[-3] for language, found in numbers.items()}
    stopped_at: dict[str, float] = {}
    with FakeTelegram().running() as telegram, FakeTwilio() as twilio:
        settings = both_channels(database_url, telegram, twilio, twilio_max_per_second=PACE)
        channels = ChannelSet(settings)
        engine = make_engine(database_url)
        dispatcher = Dispatcher(engine, channels.senders)
        done = asyncio.Event()
        sending = asyncio.create_task(dispatcher.run(done, idle_seconds=0.1))
        try:
            async with running(settings) as app:
                # Under way: its first message reached the provider, so every row is claimed
                # (one claim takes them all) and waits for its turn at the provider's pace.
                await wait_until_async(
                    lambda: any(r.form.get("Body") == TEXT for r in twilio.requests),
                    message="the first broadcast message at the fake Twilio",
                )
                for language, number in stopping.items():
                    word = STOPS[language][2]
                    form = message_form(number, word)
                    signature = sign(f"{PUBLIC}/twilio/messages", form, twilio.auth_token)
                    answer = await app.client.post(
                        "/twilio/messages", data=form, headers={"X-Twilio-Signature": signature}
                    )
                    assert answer.status_code == 200
                    stopped_at[number] = time.monotonic()  # stored: the response came after

                def finished() -> bool:
                    with Session(engine) as db:
                        left = db.exec(
                            select(OutboundMessage.id).where(
                                OutboundMessage.kind == "broadcast",
                                OutboundMessage.status.in_(("queued", "sending")),  # type: ignore[attr-defined]
                            )
                        ).first()
                    return left is None

                await wait_until_async(
                    finished, interval=0.1, message="every broadcast row sent or skipped"
                )
        finally:
            done.set()
            await sending
            await channels.close()
        late = [
            r
            for r in twilio.requests
            if r.to in stopped_at and r.form.get("Body") == TEXT and r.at > stopped_at[r.to]
        ]
        before = [r for r in twilio.requests if r.to in stopped_at and r.form.get("Body") == TEXT]
        with Session(engine) as db:
            opted_out = db.exec(
                select(Person.phone).where(Person.opted_out_at.is_not(None))  # type: ignore[union-attr]
            ).all()
            skipped = db.exec(
                select(OutboundMessage.status, OutboundMessage.error)
                .join(Contact)  # type: ignore[arg-type]
                .where(Contact.address.in_(list(stopped_at)), OutboundMessage.kind == "broadcast")  # type: ignore[attr-defined]
            ).all()
            sent = db.exec(
                select(OutboundMessage.id).where(
                    OutboundMessage.kind == "broadcast", OutboundMessage.status == "sent"
                )
            ).all()
        engine.dispose()
    figure(
        f"STOP mid-broadcast: {len(stopped_at)} languages, {len(late)} messages after opt-out, "
        f"{len(before)} before it, {len(sent)} of {PER_LANGUAGE * len(STOPS)} sent"
    )
    assert sorted(opted_out) == sorted(stopped_at)
    assert late == []
    assert len(before) + sum(1 for s in skipped if s == ("skipped", "opted out")) == len(stopped_at)
    assert len(sent) == PER_LANGUAGE * len(STOPS) - len(stopped_at) + len(before)
