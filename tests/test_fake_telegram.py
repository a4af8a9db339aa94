"""The fake Telegram Bot API, driven by the real python-telegram-bot client over loopback."""

from __future__ import annotations

import asyncio
import io
import os
import time
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeChat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
)
from telegram.error import (
    BadRequest,
    Conflict,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TimedOut,
)

from tests.fakes.server import serve
from tests.fakes.telegram_api import FakeTelegram, UploadedFile
from tests.waiting import wait_until_async

os.environ.setdefault("PTB_TIMEDELTA", "1")  # RetryAfter.retry_after as timedelta, no warning


@pytest.fixture(scope="module")
def running_fake() -> Iterator[FakeTelegram]:
    with FakeTelegram().running() as fake:
        yield fake


@pytest.fixture
def fake(running_fake: FakeTelegram) -> FakeTelegram:
    running_fake.reset()
    return running_fake


@pytest.fixture
async def bot(fake: FakeTelegram) -> AsyncIterator[Bot]:
    async with Bot(fake.token, base_url=fake.base_url) as bot:
        yield bot


def _api(fake: FakeTelegram, method: str) -> str:
    return f"{fake.base_url}{fake.token}/{method}"


# ------------------------------------------------------------------ basics


async def test_get_me_on_initialize(fake: FakeTelegram, bot: Bot) -> None:
    assert bot.username == "GpsnrTestBot"
    me = await bot.get_me()
    assert me.is_bot
    assert me.id == int(fake.token.split(":")[0])
    assert [call.method for call in fake.calls] == ["getMe", "getMe"]


async def test_wrong_token_is_unauthorized(fake: FakeTelegram) -> None:
    with pytest.raises(InvalidToken):
        async with Bot("42:not-the-token", base_url=fake.base_url):
            pass
    response = httpx.post(f"{fake.base_url}42:not-the-token/getMe")
    assert response.status_code == 401
    assert response.json() == {"ok": False, "error_code": 401, "description": "Unauthorized"}


async def test_unknown_method_is_not_found(fake: FakeTelegram) -> None:
    response = httpx.post(_api(fake, "sendTelepathy"))
    assert response.status_code == 404
    assert response.json()["ok"] is False


def test_serve_runs_any_asgi_app() -> None:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        assert scope["type"] == "http"
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"pong"})

    with serve(app) as base_url:
        assert base_url.startswith("http://127.0.0.1:")
        assert httpx.get(f"{base_url}/ping").text == "pong"
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{base_url}/ping")


# ------------------------------------------------------------------ recording


async def test_send_message_records_decoded_reply_markup(fake: FakeTelegram, bot: Bot) -> None:
    keyboard = ReplyKeyboardMarkup(
        [[KeyboardButton("Yes"), KeyboardButton("No")]], resize_keyboard=True
    )
    first = await bot.send_message(chat_id=42, text="Ready?", reply_markup=keyboard)
    second = await bot.send_message(chat_id=42, text="42")

    assert fake.last_call("sendMessage").params == {"chat_id": 42, "text": "42"}
    assert fake.calls_to("sendMessage")[0].params == {
        "chat_id": 42,
        "text": "Ready?",
        "reply_markup": {
            "keyboard": [[{"text": "Yes"}, {"text": "No"}]],
            "resize_keyboard": True,
        },
    }
    assert (first.chat.id, first.chat.type, first.text) == (42, "private", "Ready?")
    assert second.message_id == first.message_id + 1
    assert fake.texts_to(42) == ["Ready?", "42"]


async def test_inline_keyboard_is_echoed_in_the_message(fake: FakeTelegram, bot: Bot) -> None:
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("Join", callback_data="join")]])
    message = await bot.send_message(chat_id=7, text="Join the GA?", reply_markup=markup)
    assert message.reply_markup == markup


async def test_calls_are_timestamped_in_order(fake: FakeTelegram, bot: Bot) -> None:
    before = time.monotonic()
    await bot.send_message(chat_id=1, text="a")
    await bot.send_message(chat_id=1, text="b")
    first, second = fake.calls_to("sendMessage")
    assert before <= first.at <= second.at <= time.monotonic()


async def test_send_document_uploads_the_file(fake: FakeTelegram, bot: Bot) -> None:
    message = await bot.send_document(
        chat_id=42, document=io.BytesIO(b"agenda"), filename="agenda.txt", caption="Agenda"
    )
    params = fake.last_call("sendDocument").params
    assert params["chat_id"] == 42
    assert params["caption"] == "Agenda"
    assert params["document"] == UploadedFile("agenda.txt", "text/plain", b"agenda")
    assert message.document is not None
    assert (message.document.file_name, message.document.file_size) == ("agenda.txt", 6)
    assert message.caption == "Agenda"


async def test_json_body_and_get_query_are_accepted(fake: FakeTelegram) -> None:
    sent = httpx.post(_api(fake, "sendMessage"), json={"chat_id": 5, "text": "json"})
    got = httpx.get(_api(fake, "sendMessage"), params={"chat_id": "6", "text": "query"})
    assert sent.json()["result"]["text"] == "json"
    assert got.json()["result"]["chat"]["id"] == 6
    assert [c.params["chat_id"] for c in fake.calls_to("sendMessage")] == [5, 6]


async def test_too_long_message_is_a_bad_request(fake: FakeTelegram, bot: Bot) -> None:
    with pytest.raises(BadRequest, match="too long"):
        await bot.send_message(chat_id=1, text="x" * 4097)
    await bot.send_message(chat_id=1, text="<b>" + "x" * 4096 + "</b>", parse_mode="HTML")
    assert [c.status for c in fake.calls_to("sendMessage")] == [400, 200]


# ------------------------------------------------------------------ faults


async def test_retry_after(fake: FakeTelegram, bot: Bot) -> None:
    fake.fail("sendMessage", "retry_after", seconds=3)
    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(chat_id=42, text="hi")
    assert caught.value.retry_after == timedelta(seconds=3)
    assert fake.too_many_requests == 1
    await bot.send_message(chat_id=42, text="hi")  # the queue is empty again
    assert [c.status for c in fake.calls_to("sendMessage")] == [429, 200]


@pytest.mark.parametrize(
    ("kind", "options", "error", "match"),
    [
        ("forbidden", {}, Forbidden, "bot was blocked by the user"),
        ("chat_not_found", {}, BadRequest, "chat not found"),
        ("bad_request", {"description": "Bad Request: can't parse entities"}, BadRequest, "parse"),
        ("server_error", {}, NetworkError, "Internal Server Error"),
        ("server_error", {"status": 502}, NetworkError, "Bad Gateway"),
    ],
)
async def test_error_faults_raise_the_ptb_exception(
    fake: FakeTelegram,
    bot: Bot,
    kind: Any,
    options: dict[str, Any],
    error: type[Exception],
    match: str,
) -> None:
    fake.fail("sendMessage", kind, **options)
    with pytest.raises(error, match=f"(?i){match}") as caught:
        await bot.send_message(chat_id=42, text="hi")
    if error is NetworkError:  # not one of its subclasses (BadRequest, TimedOut...)
        assert type(caught.value) is NetworkError
    assert fake.pending_faults() == []
    assert (await bot.send_message(chat_id=42, text="again")).text == "again"


async def test_slow_answer_times_out_then_recovers(fake: FakeTelegram, bot: Bot) -> None:
    fake.slow("sendMessage", 2.0)
    fake.slow("sendMessage", 0.2)
    started = time.monotonic()
    with pytest.raises(TimedOut):
        await bot.send_message(chat_id=42, text="hi", read_timeout=0.3)
    assert time.monotonic() - started < 1.0
    message = await bot.send_message(chat_id=42, text="late but fine")
    assert message.text == "late but fine"
    assert time.monotonic() - started >= 0.5


async def test_fault_restricted_to_one_chat(fake: FakeTelegram, bot: Bot) -> None:
    fake.fail("sendMessage", "retry_after", seconds=2, chat_id=42, times=2)
    await bot.send_message(chat_id=7, text="not throttled")
    for _ in range(2):
        with pytest.raises(RetryAfter):
            await bot.send_message(chat_id=42, text="throttled")
    await bot.send_message(chat_id=7, text="still fine")
    await bot.send_message(chat_id=42, text="fine again")
    statuses = [(c.params["chat_id"], c.status) for c in fake.calls_to("sendMessage")]
    assert statuses == [(7, 200), (42, 429), (42, 429), (7, 200), (42, 200)]


async def test_faults_are_per_method_fifo(fake: FakeTelegram, bot: Bot) -> None:
    fake.fail("sendMessage", "forbidden")
    fake.fail("sendMessage", "chat_not_found")
    await bot.get_me()  # other methods are unaffected
    with pytest.raises(Forbidden):
        await bot.send_message(chat_id=1, text="a")
    with pytest.raises(BadRequest):
        await bot.send_message(chat_id=1, text="b")
    await bot.send_message(chat_id=1, text="c")


def test_unknown_fault_kind_is_rejected(fake: FakeTelegram) -> None:
    with pytest.raises(ValueError, match="unknown fault"):
        fake.fail("sendMessage", "meteor")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="retry_after"):
        fake.fail("sendMessage", "retry_after", seconds=0)


# ------------------------------------------------------------------ updates and settings


async def test_get_updates_returns_queued_updates_and_honours_offset(
    fake: FakeTelegram, bot: Bot
) -> None:
    first = fake.queue_text(42, "hello", language_code="my")
    fake.queue_text(42, "1")
    third = fake.queue_update({"message": {**first["message"], "text": "raw update"}})

    updates = await bot.get_updates(timeout=5)
    assert [u.message.text for u in updates if u.message] == ["hello", "1", "raw update"]
    assert updates[0].message is not None
    assert updates[0].message.from_user is not None
    assert updates[0].message.from_user.language_code == "my"

    confirmed = await bot.get_updates(offset=third["update_id"])
    assert [u.update_id for u in confirmed] == [third["update_id"]]
    assert len(fake.pending_updates) == 1


async def test_get_updates_returns_promptly_when_empty(fake: FakeTelegram, bot: Bot) -> None:
    started = time.monotonic()
    assert await bot.get_updates(timeout=30) == ()
    assert time.monotonic() - started < 1.0
    assert fake.last_call("getUpdates").params == {"timeout": 30}


async def test_long_poll_delivers_an_update_queued_meanwhile(fake: FakeTelegram, bot: Bot) -> None:
    async def queue_later() -> None:
        # Meanwhile: once the long poll has arrived at the fake and is waiting.
        await wait_until_async(
            lambda: fake.calls_to("getUpdates"), message="the long poll at the fake"
        )
        fake.queue_text(9, "just in time")

    task = asyncio.create_task(queue_later())
    updates = await bot.get_updates(timeout=10)
    await task
    assert [u.message.text for u in updates if u.message] == ["just in time"]


async def test_webhook_lifecycle(fake: FakeTelegram, bot: Bot) -> None:
    assert await bot.set_webhook("https://example.test/hook", secret_token="s3cret")
    info = await bot.get_webhook_info()
    assert info.url == "https://example.test/hook"
    assert fake.webhook is not None
    assert fake.webhook["secret_token"] == "s3cret"
    with pytest.raises(Conflict):
        await bot.get_updates()
    assert await bot.delete_webhook()
    assert (await bot.get_webhook_info()).url == ""
    assert fake.webhook is None


async def test_commands_are_remembered_per_language_and_scope(fake: FakeTelegram, bot: Bot) -> None:
    await bot.set_my_commands([BotCommand("start", "Start")])
    await bot.set_my_commands([BotCommand("start", "စတင်ရန်")], language_code="my")
    await bot.set_my_commands([BotCommand("help", "Help")], scope=BotCommandScopeChat(42))

    assert [c.description for c in await bot.get_my_commands(language_code="my")] == ["စတင်ရန်"]
    assert [c.command for c in await bot.get_my_commands()] == ["start"]
    assert fake.commands(language_code="my") == [{"command": "start", "description": "စတင်ရန်"}]
    assert fake.commands(scope={"type": "chat", "chat_id": 42}) == [
        {"command": "help", "description": "Help"}
    ]
    assert fake.commands(language_code="ms") is None


async def test_wait_for_calls(fake: FakeTelegram, bot: Bot) -> None:
    task = asyncio.create_task(bot.send_message(chat_id=3, text="background"))
    calls = await fake.wait_for_calls("sendMessage", timeout=2)
    await task
    assert calls[0].params["text"] == "background"


# ------------------------------------------------------------------ rate limit mode


async def test_rate_limit_mode_counts_429s() -> None:
    with FakeTelegram(rate_limit_per_second=5).running() as fake:
        async with Bot(fake.token, base_url=fake.base_url) as bot:
            outcomes: list[str] = []
            for number in range(8):
                try:
                    await bot.send_message(chat_id=number, text="hi")
                    outcomes.append("ok")
                except RetryAfter as exc:
                    assert exc.retry_after == timedelta(seconds=1)
                    outcomes.append("429")
            await bot.get_me()  # other methods are not limited
    assert outcomes == ["ok"] * 5 + ["429"] * 3
    assert fake.too_many_requests == 3
    assert len(fake.sent_messages()) == 5
