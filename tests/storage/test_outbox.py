"""The outbox and its dispatcher, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.channels.base import SendResult
from bot.dispatcher import Dispatcher
from bot.storage import outbox
from bot.storage.models import Contact, OutboundMessage, Person
from tests.conftest import FIXED_NOW
from tests.storage.helpers import Clock, FakeSender


@pytest.fixture
def clock() -> Clock:
    return Clock(FIXED_NOW)


def _contact(engine: Engine, address: str = "+66812345678", channel: str = "sms") -> int:
    with Session(engine) as db, db.begin():
        person = Person(phone=address if channel != "telegram" else None, language="th")
        db.add(person)
        db.flush()
        assert person.id is not None
        contact = Contact(person_id=person.id, channel=channel, address=address)
        db.add(contact)
        db.flush()
        assert contact.id is not None
        return contact.id


def _queue(
    engine: Engine,
    contact_id: int,
    *texts: str,
    kind: str = "reply",
    priority: int = 0,
    channel: str = "sms",
) -> list[int]:
    with Session(engine) as db, db.begin():
        rows = [
            OutboundMessage(
                contact_id=contact_id,
                channel=channel,
                kind=kind,
                priority=priority,
                text=text,
                next_attempt_at=FIXED_NOW,
            )
            for text in texts
        ]
        db.add_all(rows)
        db.flush()
        return [r.id for r in rows if r.id is not None]


def _rows(engine: Engine) -> list[OutboundMessage]:
    with Session(engine) as db:
        return list(db.exec(select(OutboundMessage).order_by(OutboundMessage.id)).all())


def _dispatcher(engine: Engine, sender: FakeSender, clock: Clock, **kwargs: object) -> Dispatcher:
    return Dispatcher(engine, {"sms": sender}, clock=clock, max_attempts=3, **kwargs)  # type: ignore[arg-type]


def test_queued_messages_are_sent_in_order_and_marked(db_engine: Engine, clock: Clock) -> None:
    contact = _contact(db_engine)
    _queue(db_engine, contact, "one", "two", "three")
    sender = FakeSender()
    handled = asyncio.run(_dispatcher(db_engine, sender, clock).dispatch_once())
    assert handled == 3
    assert [e.text for e in sender.sent] == ["one", "two", "three"]
    rows = _rows(db_engine)
    assert {r.status for r in rows} == {"sent"}
    assert [r.provider_id for r in rows] == [f"p-{r.id}" for r in rows]
    assert all(r.sent_at == FIXED_NOW and r.attempts == 1 for r in rows)


def test_replies_go_before_bulk(db_engine: Engine, clock: Clock) -> None:
    contact = _contact(db_engine)
    _queue(db_engine, contact, "bulk", kind="broadcast", priority=outbox.BULK_PRIORITY)
    _queue(db_engine, contact, "reply")
    sender = FakeSender()
    asyncio.run(_dispatcher(db_engine, sender, clock).dispatch_once())
    assert [e.text for e in sender.sent] == ["reply", "bulk"]


def test_a_transient_failure_is_retried_with_backoff_then_given_up(
    db_engine: Engine, clock: Clock
) -> None:
    contact = _contact(db_engine)
    _queue(db_engine, contact, "hello")
    sender = FakeSender([SendResult("retry", error="HTTP 503")] * 3)
    dispatcher = _dispatcher(db_engine, sender, clock)
    asyncio.run(dispatcher.dispatch_once())
    (row,) = _rows(db_engine)
    assert (row.status, row.attempts) == ("queued", 1)
    assert row.next_attempt_at == FIXED_NOW + timedelta(seconds=outbox.backoff(1))
    assert asyncio.run(dispatcher.dispatch_once()) == 0  # not due yet
    for _ in range(2):
        clock.advance(minutes=10)
        asyncio.run(dispatcher.dispatch_once())
    (row,) = _rows(db_engine)
    assert (row.status, row.attempts) == ("failed", 3)
    assert row.error == "gave up after 3 attempts: HTTP 503"
    assert len(sender.sent) == 3


def test_retry_after_from_the_provider_is_honoured(db_engine: Engine, clock: Clock) -> None:
    contact = _contact(db_engine)
    _queue(db_engine, contact, "hello")
    sender = FakeSender([SendResult("retry", error="429", retry_after=42.0)])
    asyncio.run(_dispatcher(db_engine, sender, clock).dispatch_once())
    (row,) = _rows(db_engine)
    assert row.next_attempt_at == FIXED_NOW + timedelta(seconds=42)


def test_a_later_part_never_overtakes_one_being_retried(db_engine: Engine, clock: Clock) -> None:
    contact = _contact(db_engine)
    _queue(db_engine, contact, "part 1", "part 2")
    sender = FakeSender([SendResult("retry", error="timeout")])
    dispatcher = _dispatcher(db_engine, sender, clock)
    asyncio.run(dispatcher.dispatch_once())
    assert [e.text for e in sender.sent] == ["part 1"]
    rows = _rows(db_engine)
    assert [(r.status, r.attempts) for r in rows] == [("queued", 1), ("queued", 0)]
    clock.advance(minutes=1)
    asyncio.run(dispatcher.dispatch_once())
    assert [e.text for e in sender.sent] == ["part 1", "part 1", "part 2"]


def test_a_blocked_contact_is_marked_and_later_messages_skipped(
    db_engine: Engine, clock: Clock
) -> None:
    contact = _contact(db_engine, "777", channel="sms")
    _queue(db_engine, contact, "first")
    sender = FakeSender([SendResult("unreachable", error="blocked by user")])
    dispatcher = _dispatcher(db_engine, sender, clock)
    asyncio.run(dispatcher.dispatch_once())
    _queue(db_engine, contact, "second")
    asyncio.run(dispatcher.dispatch_once())
    first, second = _rows(db_engine)
    assert (first.status, first.error) == ("failed", "blocked by user")
    assert (second.status, second.error) == ("skipped", "unreachable: blocked by user")
    assert len(sender.sent) == 1
    with Session(db_engine) as db:
        assert db.get(Contact, contact).unreachable_at == FIXED_NOW  # type: ignore[union-attr]


def test_a_provider_opt_out_opts_the_person_out(db_engine: Engine, clock: Clock) -> None:
    contact = _contact(db_engine)
    _queue(db_engine, contact, "hello")
    sender = FakeSender([SendResult("opted_out", error="21610 recipient sent STOP")])
    asyncio.run(_dispatcher(db_engine, sender, clock).dispatch_once())
    with Session(db_engine) as db:
        assert db.exec(select(Person.opted_out_at)).one() == FIXED_NOW


def test_bulk_is_never_sent_to_an_opted_out_person_but_their_replies_are(
    db_engine: Engine, clock: Clock
) -> None:
    contact = _contact(db_engine)
    with Session(db_engine) as db, db.begin():
        person = db.exec(select(Person)).one()
        person.opted_out_at = FIXED_NOW
        db.add(person)
    _queue(db_engine, contact, "reminder", kind="reminder")
    _queue(db_engine, contact, "you are unsubscribed")
    sender = FakeSender()
    asyncio.run(_dispatcher(db_engine, sender, clock).dispatch_once())
    assert [e.text for e in sender.sent] == ["you are unsubscribed"]
    reminder = _rows(db_engine)[0]
    assert (reminder.status, reminder.error) == ("skipped", "opted out")


def test_a_claim_whose_dispatcher_died_is_taken_again_after_the_lease(
    db_engine: Engine, clock: Clock
) -> None:
    contact = _contact(db_engine)
    _queue(db_engine, contact, "hello")
    with Session(db_engine) as db, db.begin():
        claimed = outbox.claim(db, clock(), timedelta(seconds=60), ["sms"])
    assert len(claimed) == 1  # ...and then the dispatcher process is killed
    sender = FakeSender()
    dispatcher = _dispatcher(db_engine, sender, clock)
    assert asyncio.run(dispatcher.dispatch_once()) == 0  # still leased
    clock.advance(seconds=61)
    assert asyncio.run(dispatcher.dispatch_once()) == 1
    (row,) = _rows(db_engine)
    assert (row.status, row.attempts) == ("sent", 2)


def test_channels_without_a_sender_wait(db_engine: Engine, clock: Clock) -> None:
    contact = _contact(db_engine, "555", channel="telegram")
    _queue(db_engine, contact, "hello", channel="telegram")
    assert asyncio.run(_dispatcher(db_engine, FakeSender(), clock).dispatch_once()) == 0
    assert _rows(db_engine)[0].status == "queued"


def test_a_sender_that_raises_counts_as_a_transient_failure(
    db_engine: Engine, clock: Clock
) -> None:
    class Exploding(FakeSender):
        async def send(self, envelope):  # type: ignore[no-untyped-def]
            raise ConnectionResetError

    contact = _contact(db_engine)
    _queue(db_engine, contact, "hello")
    asyncio.run(_dispatcher(db_engine, Exploding(), clock).dispatch_once())
    (row,) = _rows(db_engine)
    assert (row.status, row.error) == ("queued", "ConnectionResetError")


def test_two_dispatchers_never_claim_the_same_row(postgres_engine: Engine, clock: Clock) -> None:
    """PostgreSQL's FOR UPDATE SKIP LOCKED: concurrent claims split the outbox between them."""
    contact = _contact(postgres_engine)
    ids = _queue(postgres_engine, contact, *[f"m{i}" for i in range(200)])

    def claim_some() -> list[int]:
        with Session(postgres_engine) as db, db.begin():
            claimed = outbox.claim(db, clock(), timedelta(seconds=60), ["sms"], limit=150)
            return [c.envelope.id for c in claimed]

    async def both() -> list[list[int]]:
        return list(
            await asyncio.gather(asyncio.to_thread(claim_some), asyncio.to_thread(claim_some))
        )

    first, second = asyncio.run(both())
    assert not set(first) & set(second)
    assert sorted(first + second) == ids
