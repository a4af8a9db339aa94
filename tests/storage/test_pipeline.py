"""The pipeline on SQLite and PostgreSQL: one transaction per message, one answer, no repeats."""

from __future__ import annotations

import threading
from datetime import UTC

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.engine import texts
from bot.flowfiles import FlowSet
from bot.i18n.formatting import Reader
from bot.render import to_text
from bot.storage.models import Contact, Conversation, InboundMessage, OutboundMessage, Person
from bot.text import is_zawgyi
from tests.conftest import FIXED_NOW
from tests.storage.helpers import Clock, count, inbound, pipeline


@pytest.fixture
def clock() -> Clock:
    return Clock(FIXED_NOW)


def _person(engine: Engine, phone: str = "+66812345678") -> Person:
    with Session(engine) as db:
        person = db.exec(select(Person).where(Person.phone == phone)).one()
        db.expunge(person)
        return person


def _replies(engine: Engine) -> list[str]:
    with Session(engine) as db:
        return list(db.exec(select(OutboundMessage.text).order_by(OutboundMessage.id)).all())


def test_a_first_message_creates_the_person_from_the_phone_and_answers_once(
    db_engine: Engine, flows: FlowSet, clock: Clock
) -> None:
    handled = pipeline(db_engine, flows, clock).handle(inbound("สวัสดี"))
    assert not handled.duplicate and len(handled.outbound_ids) == 1
    person = _person(db_engine)
    assert (person.language, person.country, person.timezone) == ("th", "TH", "Asia/Bangkok")
    assert person.created_at.tzinfo is not None and person.created_at == FIXED_NOW
    assert "GPSNR" in _replies(db_engine)[0]
    assert count(db_engine, InboundMessage) == 1


def test_a_redelivered_message_is_stored_once_and_answered_once(
    db_engine: Engine, flows: FlowSet, clock: Clock
) -> None:
    bot = pipeline(db_engine, flows, clock)
    first = bot.handle(inbound("hello", key="SM1"))
    again = bot.handle(inbound("hello", key="SM1"))
    assert not first.duplicate and again.duplicate
    assert again.outbound_ids == ()
    assert count(db_engine, InboundMessage) == 1
    assert count(db_engine, OutboundMessage) == 1


def test_concurrent_redeliveries_are_answered_once(
    db_engine: Engine, flows: FlowSet, clock: Clock
) -> None:
    bot = pipeline(db_engine, flows, clock)
    results = []
    barrier = threading.Barrier(4)

    def deliver() -> None:
        barrier.wait()
        results.append(bot.handle(inbound("hello", key="SM-race")))

    threads = [threading.Thread(target=deliver) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(r.duplicate for r in results) == [False, True, True, True]
    assert count(db_engine, OutboundMessage) == 1
    assert count(db_engine, Person) == 1


def test_two_first_messages_at_once_make_one_person(
    db_engine: Engine, flows: FlowSet, clock: Clock
) -> None:
    bot = pipeline(db_engine, flows, clock)
    barrier = threading.Barrier(2)

    def deliver(key: str) -> None:
        barrier.wait()
        bot.handle(inbound("hi", key=key))

    threads = [threading.Thread(target=deliver, args=(k,)) for k in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert count(db_engine, Person) == 1
    assert count(db_engine, Contact) == 1
    assert count(db_engine, InboundMessage) == 2
    assert count(db_engine, OutboundMessage) == 2


def test_one_person_on_two_channels_shares_one_conversation(
    db_engine: Engine, flows: FlowSet, clock: Clock
) -> None:
    bot = pipeline(db_engine, flows, clock)
    bot.handle(inbound("hi", channel="sms"))
    bot.handle(inbound("1", channel="telegram", address="555001"))  # consents on Telegram
    assert count(db_engine, Person) == 1
    assert count(db_engine, Contact) == 2
    assert _person(db_engine).consent_at is not None
    with Session(db_engine) as db:
        conversation = db.exec(select(Conversation)).one()
    assert (conversation.flow, conversation.step) == ("place", "confirm")


def test_zawgyi_writers_get_zawgyi_until_they_write_unicode(
    db_engine: Engine, flows: FlowSet, clock: Clock
) -> None:
    bot = pipeline(db_engine, flows, clock)
    phone = "+959421234567"
    bot.handle(inbound("ေက်းဇူးတင္ပါတယ္", address=phone, phone=phone))
    assert _person(db_engine, phone).zawgyi
    assert is_zawgyi(_replies(db_engine)[-1])
    bot.handle(inbound("ကျေးဇူးတင်ပါတယ်", address=phone, phone=phone))
    assert not _person(db_engine, phone).zawgyi
    assert not is_zawgyi(_replies(db_engine)[-1])


def test_stop_opts_out_and_nothing_more_is_answered_until_start(
    db_engine: Engine, flows: FlowSet, clock: Clock
) -> None:
    bot = pipeline(db_engine, flows, clock)
    bot.handle(inbound("hi"))
    stopped = bot.handle(inbound("หยุด"))
    assert len(stopped.outbound_ids) == 1
    assert _person(db_engine).opted_out_at == FIXED_NOW
    clock.advance(minutes=5)
    silent = bot.handle(inbound("hello?"))
    assert silent.outbound_ids == () and not silent.duplicate
    assert count(db_engine, InboundMessage) == 3  # still stored
    back = bot.handle(inbound("START"))
    assert back.reply is not None and back.outbound_ids  # welcome back, and the menu
    assert _person(db_engine).opted_out_at is None


def test_a_tapped_button_label_counts_as_its_number(
    db_engine: Engine, flows: FlowSet, clock: Clock
) -> None:
    bot = pipeline(db_engine, flows, clock)
    telegram = {"channel": "telegram", "address": "555002", "phone": None}
    first = bot.handle(inbound("/start", **telegram))
    assert first.reply is not None and "English" in first.reply.buttons  # no phone: ask
    bot.handle(inbound("English", **telegram))
    agreed = bot.handle(inbound("Yes, I agree", **telegram))
    with Session(db_engine) as db:
        person = db.exec(select(Person)).one()
    assert person.language == "en" and person.consent_at is not None
    assert agreed.reply is not None
    assert agreed.reply.text == "Which country do you live in?"
    assert agreed.reply.buttons[:2] == ("Brazil", "Côte d’Ivoire")


def test_a_long_message_is_refused_and_kept(
    db_engine: Engine, flows: FlowSet, clock: Clock
) -> None:
    bot = pipeline(db_engine, flows, clock)
    bot.handle(inbound("hi", phone="+233241234567", address="+233241234567"))
    handled = bot.handle(inbound("x" * 10_000, phone="+233241234567", address="+233241234567"))
    assert (
        handled.reply is not None and "1600" in handled.reply.text and "10000" in handled.reply.text
    )
    with Session(db_engine) as db:
        conversation = db.exec(select(Conversation)).one()
    assert conversation.step == "consent"  # nothing lost: still at the same question


def test_media_is_acknowledged(db_engine: Engine, flows: FlowSet, clock: Clock) -> None:
    bot = pipeline(db_engine, flows, clock)
    phone = "+233241234567"
    handled = bot.handle(inbound("", address=phone, phone=phone, media_url="https://x/voice.ogg"))
    assert handled.reply is not None and "photos, voice or files" in handled.reply.text
    with Session(db_engine) as db:
        assert db.exec(select(InboundMessage.media_url)).one() == "https://x/voice.ogg"


def test_an_engine_failure_costs_one_apology_and_resets_the_conversation(
    db_engine: Engine, flows: FlowSet, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    bot = pipeline(db_engine, flows, clock)
    bot.handle(inbound("hi"))

    def broken(*_args: object) -> None:
        raise RuntimeError("flow bug")

    monkeypatch.setattr("bot.pipeline.resume", broken)
    handled = bot.handle(inbound("1"))
    assert handled.reply is not None
    assert handled.reply.text == to_text(texts.something_went_wrong(), Reader("th"))
    assert "Traceback" not in handled.reply.text and "flow bug" not in handled.reply.text
    with Session(db_engine) as db:
        assert db.exec(select(Conversation.flow)).one() is None


def test_datetimes_read_back_aware_and_in_utc(
    db_engine: Engine, flows: FlowSet, clock: Clock
) -> None:
    pipeline(db_engine, flows, clock).handle(inbound("hi"))
    with Session(db_engine) as db:
        row = db.exec(select(InboundMessage)).one()
    assert row.received_at.tzinfo is not None
    assert row.received_at.utcoffset() == UTC.utcoffset(None)
