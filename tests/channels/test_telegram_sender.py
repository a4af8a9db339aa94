"""Sending with the real PTB client to the fake Bot API: pace, faults, parts, setup, polling."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.channels.registry import ChannelSet
from bot.channels.telegram.client import make_bot
from bot.channels.telegram.runner import run_polling
from bot.channels.telegram.setup import set_up
from bot.config import Settings
from bot.dispatcher import Dispatcher
from bot.render import Reply, split
from bot.storage.models import Contact, OutboundMessage, Person
from bot.storage.outbox import enqueue_reply
from tests.channels.telegram_helpers import PUBLIC, SECRET, telegram_settings
from tests.conftest import FIXED_NOW
from tests.fakes.telegram_api import FakeTelegram
from tests.storage.helpers import Clock


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeTelegram]:
    served = FakeTelegram()
    with served.running():
        yield served


@pytest.fixture(autouse=True)
def _clean(fake: FakeTelegram) -> None:
    fake.reset()


@pytest.fixture
def clock() -> Clock:
    return Clock(FIXED_NOW)


def _chat(engine: Engine, chat_id: int) -> int:
    with Session(engine) as db, db.begin():
        person = Person(language="en")
        db.add(person)
        db.flush()
        assert person.id is not None
        contact = Contact(person_id=person.id, channel="telegram", address=str(chat_id))
        db.add(contact)
        db.flush()
        assert contact.id is not None
        return contact.id


def _reply(engine: Engine, contact_id: int, reply: Reply) -> list[int]:
    with Session(engine) as db, db.begin():
        contact = db.get(Contact, contact_id)
        assert contact is not None
        return [r.id for r in enqueue_reply(db, contact, reply, None, FIXED_NOW) if r.id]


def _statuses(engine: Engine) -> list[tuple[str, str | None]]:
    with Session(engine) as db:
        rows = db.exec(select(OutboundMessage).order_by(OutboundMessage.id)).all()
        return [(r.status, r.error) for r in rows]


async def _dispatch(settings: Settings, engine: Engine, clock: Clock) -> None:
    channels = ChannelSet(settings, clock)
    try:
        await Dispatcher(engine, channels.senders, clock=clock, max_attempts=3).dispatch_once()
    finally:
        await channels.close()


async def test_a_long_answer_goes_as_several_messages_in_order_with_buttons_last(
    fake: FakeTelegram, tmp_path: Path, sqlite_engine: Engine, clock: Clock
) -> None:
    settings = telegram_settings(fake, tmp_path, database_url=str(sqlite_engine.url))
    contact = _chat(sqlite_engine, 501)
    text = "\n\n".join(f"Paragraph {i}: " + "word " * 150 for i in range(8))
    parts = split(text, 4096)
    assert len(parts) == 2
    _reply(sqlite_engine, contact, Reply(parts, buttons=("Yes", "No"), labels=("Yes", "No")))
    await _dispatch(settings, sqlite_engine, clock)
    calls = fake.calls_to("sendMessage")
    assert [c.params["text"] for c in calls] == list(parts)
    assert "reply_markup" not in calls[0].params
    assert [row[0]["text"] for row in calls[1].params["reply_markup"]["keyboard"]] == ["Yes", "No"]


async def test_an_answer_without_a_choice_takes_old_buttons_away(
    fake: FakeTelegram, tmp_path: Path, sqlite_engine: Engine, clock: Clock
) -> None:
    settings = telegram_settings(fake, tmp_path, database_url=str(sqlite_engine.url))
    _reply(sqlite_engine, _chat(sqlite_engine, 502), Reply(("Bye",)))
    await _dispatch(settings, sqlite_engine, clock)
    assert fake.last_call("sendMessage").params["reply_markup"] == {"remove_keyboard": True}


async def test_retry_after_delays_only_that_chat(
    fake: FakeTelegram, tmp_path: Path, sqlite_engine: Engine, clock: Clock
) -> None:
    settings = telegram_settings(fake, tmp_path, database_url=str(sqlite_engine.url))
    slow, other = _chat(sqlite_engine, 601), _chat(sqlite_engine, 602)
    fake.fail("sendMessage", "retry_after", seconds=7, chat_id=601)
    _reply(sqlite_engine, slow, Reply(("to the throttled chat",)))
    _reply(sqlite_engine, other, Reply(("to another chat",)))
    await _dispatch(settings, sqlite_engine, clock)
    assert fake.texts_to(602) == ["to another chat"]
    with Session(sqlite_engine) as db:
        throttled = db.exec(select(OutboundMessage).where(OutboundMessage.contact_id == slow)).one()
    assert throttled.status == "queued"
    assert throttled.next_attempt_at >= FIXED_NOW.replace(second=7)
    clock.advance(seconds=8)
    await _dispatch(settings, sqlite_engine, clock)
    assert fake.texts_to(601) == ["to the throttled chat"]


async def test_a_blocked_bot_marks_the_chat_unreachable_and_stops_sending(
    fake: FakeTelegram, tmp_path: Path, sqlite_engine: Engine, clock: Clock
) -> None:
    settings = telegram_settings(fake, tmp_path, database_url=str(sqlite_engine.url))
    contact = _chat(sqlite_engine, 701)
    fake.fail("sendMessage", "forbidden", chat_id=701)
    _reply(sqlite_engine, contact, Reply(("first",)))
    await _dispatch(settings, sqlite_engine, clock)
    _reply(sqlite_engine, contact, Reply(("second",)))
    await _dispatch(settings, sqlite_engine, clock)
    assert _statuses(sqlite_engine) == [
        ("failed", "telegram 403: Forbidden: bot was blocked by the user"),
        ("skipped", "unreachable: telegram 403: Forbidden: bot was blocked by the user"),
    ]
    assert len(fake.calls_to("sendMessage")) == 1


@pytest.mark.parametrize(
    ("kind", "status"),
    [("server_error", "queued"), ("chat_not_found", "failed"), ("bad_request", "failed")],
)
async def test_faults_map_to_outcomes(
    fake: FakeTelegram, tmp_path: Path, sqlite_engine: Engine, clock: Clock, kind: str, status: str
) -> None:
    settings = telegram_settings(fake, tmp_path, database_url=str(sqlite_engine.url))
    _reply(sqlite_engine, _chat(sqlite_engine, 801), Reply(("hi",)))
    fake.fail("sendMessage", kind)  # type: ignore[arg-type]
    await _dispatch(settings, sqlite_engine, clock)
    assert _statuses(sqlite_engine)[0][0] == status


async def test_the_pace_keeps_under_the_bot_api_limit(
    tmp_path: Path, sqlite_engine: Engine, clock: Clock
) -> None:
    limited = FakeTelegram(rate_limit_per_second=30)
    with limited.running():
        settings = telegram_settings(
            limited, tmp_path, database_url=str(sqlite_engine.url), telegram_max_per_second=30.0
        )
        for chat in range(40):
            _reply(sqlite_engine, _chat(sqlite_engine, 9000 + chat), Reply((f"hello {chat}",)))
        await _dispatch(settings, sqlite_engine, clock)
        assert len(limited.calls_to("sendMessage")) == 40
        assert limited.too_many_requests == 0


async def test_setup_registers_the_webhook_and_a_menu_in_every_language(
    fake: FakeTelegram, tmp_path: Path
) -> None:
    settings = telegram_settings(fake, tmp_path)
    async with make_bot(settings) as bot:
        done = await set_up(bot, settings)
    assert fake.webhook is not None
    assert fake.webhook["url"] == f"{PUBLIC}/telegram/webhook"
    assert fake.webhook["secret_token"] == SECRET
    assert set(fake.webhook["allowed_updates"]) == {"message", "edited_message"}
    thai = fake.commands(language_code="th")
    assert thai is not None and [c["command"] for c in thai] == [
        "start",
        "menu",
        "help",
        "language",
        "stop",
    ]
    assert thai[1]["description"] == "ดูเมนู"
    assert fake.commands(language_code="pt")[4]["description"] == "Parar todas as mensagens"  # type: ignore[index]
    assert fake.commands() is not None  # the default menu, in English
    assert len(done) == 8


async def test_polling_answers_like_the_webhook(
    fake: FakeTelegram, tmp_path: Path, sqlite_engine: Engine
) -> None:
    settings = telegram_settings(fake, tmp_path, database_url=str(sqlite_engine.url))
    fake.queue_text(303, "/start", language_code="vi")
    fake.queue_text(303, "/start", language_code="vi")
    task = asyncio.create_task(run_polling(settings))
    try:
        await fake.wait_for_calls("sendMessage", count=2, timeout=10)
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    texts = fake.texts_to(303)
    assert len(texts) == 2 and "GPSNR nhắn tin cho bạn" in texts[0]
    assert fake.calls_to("deleteWebhook")
