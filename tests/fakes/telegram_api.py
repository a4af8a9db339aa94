"""A fake Telegram Bot API server for tests, driven by the real python-telegram-bot client.

    fake = FakeTelegram()
    fake.fail("sendMessage", "retry_after", seconds=3, chat_id=42)
    with fake.running():
        async with Bot(fake.token, base_url=fake.base_url) as bot:  # f"{fake.url}/bot"
            await bot.send_message(chat_id=42, text="hi")  # raises telegram.error.RetryAfter
    assert fake.calls_to("sendMessage")[0].params == {"chat_id": 42, "text": "hi"}

PTB posts ``{base_url}{token}/{method}`` with form-encoded (or, when uploading, multipart)
bodies whose non-string values are JSON-encoded strings; they are decoded back here, except for
parameters that are always plain strings (``text``, ``caption``...), so ``text="42"`` stays a
string. Every answered call is recorded as a :class:`Call`. Faults are scripted per method in a
FIFO queue (one consumed per matching call); with an empty queue the call succeeds.
"""

from __future__ import annotations

import asyncio
import html
import json
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any, Literal

from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.fakes.server import serve

DEFAULT_TOKEN = "123456789:TEST-fake-token-for-the-test-suite"
BOT_USERNAME = "GpsnrTestBot"
MAX_MESSAGE_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024

FaultKind = Literal[
    "retry_after", "forbidden", "chat_not_found", "bad_request", "server_error", "slow"
]
FAULT_KINDS: tuple[FaultKind, ...] = (
    "retry_after",
    "forbidden",
    "chat_not_found",
    "bad_request",
    "server_error",
    "slow",
)
_FAULT_DEFAULTS: dict[FaultKind, tuple[int, str]] = {
    "forbidden": (403, "Forbidden: bot was blocked by the user"),
    "chat_not_found": (400, "Bad Request: chat not found"),
    "bad_request": (400, "Bad Request: invalid request"),
}

# Parameters PTB always sends as raw strings: never JSON-decode them ("42" must stay "42").
_STRING_PARAMS = frozenset(
    {
        "text",
        "caption",
        "parse_mode",
        "url",
        "secret_token",
        "ip_address",
        "language_code",
        "callback_query_id",
        "inline_message_id",
        "business_connection_id",
        "message_effect_id",
        "action",
        "document",
        "thumbnail",
        "file_id",
    }
)

JSONDict = dict[str, Any]


@dataclass(frozen=True)
class UploadedFile:
    """A file part of a multipart request (e.g. the ``document`` of sendDocument)."""

    filename: str | None
    content_type: str | None
    data: bytes


@dataclass(frozen=True)
class Call:
    """One API call as the fake received it; ``status`` is the HTTP status it answered."""

    method: str
    params: JSONDict
    at: float  # time.monotonic() on arrival
    status: int = 200


@dataclass(frozen=True)
class Fault:
    """A scripted failure; ``chat_id`` restricts it to calls for that chat."""

    kind: FaultKind
    seconds: float = 1.0
    description: str | None = None
    status: int | None = None
    chat_id: int | str | None = None

    def matches(self, params: JSONDict) -> bool:
        return self.chat_id is None or str(params.get("chat_id")) == str(self.chat_id)


@dataclass(frozen=True)
class _Reply:
    status: int
    body: JSONDict
    delay: float = 0.0

    @property
    def is_empty_poll(self) -> bool:
        return self.status == 200 and self.body.get("result") == []


class ApiError(Exception):
    """Raised by a method handler to answer ``{"ok": false, ...}``."""

    def __init__(self, status: int, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.description = description


@dataclass
class _State:
    calls: list[Call] = field(default_factory=list)
    faults: dict[str, list[Fault]] = field(default_factory=dict)
    updates: list[JSONDict] = field(default_factory=list)
    commands: dict[tuple[str, str], list[JSONDict]] = field(default_factory=dict)
    webhook: JSONDict | None = None
    sent: list[JSONDict] = field(default_factory=list)
    accepted_at: deque[float] = field(default_factory=deque)
    too_many_requests: int = 0
    next_message_id: int = 1
    next_update_id: int = 1
    next_file_id: int = 1


class FakeTelegram:
    """The Bot API subset our bot uses, with call recording and fault injection."""

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        *,
        rate_limit_per_second: int | None = None,
        rate_limited_methods: Iterable[str] = ("sendMessage",),
        bot_username: str = BOT_USERNAME,
        max_poll_seconds: float = 0.2,
    ) -> None:
        self.token = token
        self.rate_limit_per_second = rate_limit_per_second
        self.rate_limited_methods = frozenset(rate_limited_methods)
        self.max_poll_seconds = max_poll_seconds
        self.bot_user: JSONDict = {
            "id": _bot_id(token),
            "is_bot": True,
            "first_name": "GPSNR Test Bot",
            "username": bot_username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }
        self._url: str | None = None
        self._lock = threading.Lock()
        self._state = _State()
        self._handlers: dict[str, Callable[[JSONDict], Any]] = {
            "getMe": lambda _params: self.bot_user,
            "sendMessage": self._send_message,
            "sendDocument": self._send_document,
            "editMessageText": self._edit_message_text,
            "answerCallbackQuery": _true,
            "sendChatAction": _true,
            "deleteMessage": _true,
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._webhook_info,
            "setMyCommands": self._set_my_commands,
            "getMyCommands": self._get_my_commands,
            "deleteMyCommands": self._delete_my_commands,
            "getUpdates": self._get_updates,
            "close": _true,
            "logOut": _true,
        }
        self.app = Starlette(
            routes=[Route("/bot{token}/{method}", self._endpoint, methods=["GET", "POST"])]
        )

    # ----------------------------------------------------------------- serving

    @contextmanager
    def running(self) -> Iterator[FakeTelegram]:
        """Serve the fake on a free loopback port for the duration of the block."""
        with serve(self.app) as url:
            self._url = url
            try:
                yield self
            finally:
                self._url = None

    @property
    def url(self) -> str:
        """The server root, e.g. ``http://127.0.0.1:54321`` (only inside ``running()``)."""
        if self._url is None:
            raise RuntimeError("FakeTelegram is not running; use `with fake.running():`")
        return self._url

    @property
    def base_url(self) -> str:
        """What to pass as ``telegram.Bot(token, base_url=...)``."""
        return f"{self.url}/bot"

    # ----------------------------------------------------------------- inspection

    @property
    def calls(self) -> list[Call]:
        with self._lock:
            return list(self._state.calls)

    def calls_to(self, method: str) -> list[Call]:
        return [call for call in self.calls if call.method == method]

    def last_call(self, method: str) -> Call:
        calls = self.calls_to(method)
        if not calls:
            raise AssertionError(f"no call to {method}; calls: {[c.method for c in self.calls]}")
        return calls[-1]

    def sent_messages(self, chat_id: int | str | None = None) -> list[JSONDict]:
        """Messages successfully sent (sendMessage and sendDocument), oldest first."""
        with self._lock:
            sent = list(self._state.sent)
        if chat_id is None:
            return sent
        return [m for m in sent if str(m["chat"]["id"]) == str(chat_id)]

    def texts_to(self, chat_id: int | str) -> list[str]:
        return [m["text"] for m in self.sent_messages(chat_id) if "text" in m]

    async def wait_for_calls(self, method: str, count: int = 1, timeout: float = 5.0) -> list[Call]:
        """Wait (without blocking the event loop) until ``count`` calls to ``method`` arrived."""
        deadline = time.monotonic() + timeout
        while len(calls := self.calls_to(method)) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"{len(calls)} call(s) to {method} after {timeout} s")
            await asyncio.sleep(0.01)
        return calls

    @property
    def too_many_requests(self) -> int:
        """How many 429 answers were given (rate limit mode and scripted ``retry_after``)."""
        with self._lock:
            return self._state.too_many_requests

    @property
    def webhook(self) -> JSONDict | None:
        """The parameters of the last setWebhook still in force, or None."""
        with self._lock:
            return None if self._state.webhook is None else dict(self._state.webhook)

    def commands(
        self, *, language_code: str = "", scope: JSONDict | None = None
    ) -> list[JSONDict] | None:
        """The commands set for that scope/language (None if never set)."""
        with self._lock:
            return self._state.commands.get(_commands_key(scope, language_code))

    def reset(self) -> None:
        """Forget calls, faults, updates, webhook, commands and counters."""
        with self._lock:
            self._state = _State()

    # ----------------------------------------------------------------- scripting

    def queue_update(self, update: JSONDict) -> JSONDict:
        """Queue an update for getUpdates; an ``update_id`` is assigned if missing."""
        with self._lock:
            state = self._state
            update = {"update_id": state.next_update_id, **update}
            state.next_update_id = max(state.next_update_id, update["update_id"]) + 1
            state.updates.append(update)
            return update

    def queue_text(
        self,
        chat_id: int,
        text: str,
        *,
        first_name: str = "Test",
        language_code: str | None = None,
    ) -> JSONDict:
        """Queue a private text message from user ``chat_id``."""
        user: JSONDict = {"id": chat_id, "is_bot": False, "first_name": first_name}
        if language_code is not None:
            user["language_code"] = language_code
        with self._lock:
            message_id = self._take_message_id()
        message = {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private", "first_name": first_name},
            "from": user,
            "text": text,
        }
        return self.queue_update({"message": message})

    @property
    def pending_updates(self) -> list[JSONDict]:
        with self._lock:
            return list(self._state.updates)

    def fail(
        self,
        method: str,
        kind: FaultKind,
        *,
        seconds: float = 1.0,
        description: str | None = None,
        status: int | None = None,
        chat_id: int | str | None = None,
        times: int = 1,
    ) -> None:
        """Make the next ``times`` calls to ``method`` (for ``chat_id``, if given) fail.

        ``retry_after``: 429 with ``retry_after=int(seconds)`` (>= 1, PTB ignores 0);
        ``forbidden``: 403 bot blocked; ``chat_not_found``: 400; ``bad_request``: 400 with
        ``description``; ``server_error``: ``status`` 500 (default) or e.g. 502;
        ``slow``: answer normally after sleeping ``seconds``.
        """
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; expected one of {FAULT_KINDS}")
        if kind == "retry_after" and int(seconds) < 1:
            raise ValueError("retry_after needs seconds >= 1 (PTB ignores retry_after=0)")
        fault = Fault(kind, seconds, description, status, chat_id)
        with self._lock:
            self._state.faults.setdefault(method, []).extend([fault] * times)

    def slow(
        self, method: str, seconds: float, *, chat_id: int | str | None = None, times: int = 1
    ) -> None:
        self.fail(method, "slow", seconds=seconds, chat_id=chat_id, times=times)

    def pending_faults(self, method: str | None = None) -> list[Fault]:
        with self._lock:
            queues = self._state.faults
            if method is not None:
                return list(queues.get(method, []))
            return [fault for queue in queues.values() for fault in queue]

    def clear_faults(self) -> None:
        with self._lock:
            self._state.faults.clear()

    # ----------------------------------------------------------------- HTTP

    async def _endpoint(self, request: Request) -> JSONResponse:
        arrived = time.monotonic()
        if request.path_params["token"] != self.token:
            return _json(_error(401, "Unauthorized"))
        method: str = request.path_params["method"]
        try:
            params = await _read_params(request)
        except ValueError as exc:
            return _json(_error(400, f"Bad Request: {exc}"))
        with self._lock:
            reply = self._answer(method, params, arrived)
        if reply.delay:
            await _sleep_unless_disconnected(request, reply.delay)
        if method == "getUpdates":
            reply = await self._long_poll(params, reply, arrived)
        return _json(reply)

    async def _long_poll(self, params: JSONDict, reply: _Reply, arrived: float) -> _Reply:
        wait = min(_number(params.get("timeout"), 0.0), self.max_poll_seconds)
        while reply.is_empty_poll and time.monotonic() < arrived + wait:
            await asyncio.sleep(0.01)
            with self._lock:
                reply = self._dispatch("getUpdates", params)
        return reply

    def _answer(self, method: str, params: JSONDict, arrived: float) -> _Reply:
        """Decide the reply and record the call; runs under the lock."""
        fault = self._take_fault(method, params)
        reply = _fault_reply(fault) if fault else None
        if reply is None and self._over_rate_limit(method, arrived):
            reply = _retry_after(1)
        if reply is None:
            reply = self._dispatch(method, params)
            if fault is not None:  # a "slow" fault: succeed, but late
                reply = _Reply(reply.status, reply.body, delay=fault.seconds)
        if reply.status == 429:
            self._state.too_many_requests += 1
        self._state.calls.append(Call(method, params, arrived, reply.status))
        return reply

    def _take_fault(self, method: str, params: JSONDict) -> Fault | None:
        queue = self._state.faults.get(method, [])
        for index, fault in enumerate(queue):
            if fault.matches(params):
                return queue.pop(index)
        return None

    def _over_rate_limit(self, method: str, now: float) -> bool:
        limit = self.rate_limit_per_second
        if limit is None or method not in self.rate_limited_methods:
            return False
        window = self._state.accepted_at
        while window and now - window[0] >= 1.0:
            window.popleft()
        if len(window) >= limit:
            return True
        window.append(now)
        return False

    def _dispatch(self, method: str, params: JSONDict) -> _Reply:
        handler = self._handlers.get(method)
        if handler is None:
            return _error(404, "Not Found")
        try:
            return _Reply(200, {"ok": True, "result": handler(params)})
        except ApiError as exc:
            return _error(exc.status, exc.description)

    # ----------------------------------------------------------------- methods

    def _take_message_id(self) -> int:
        message_id = self._state.next_message_id
        self._state.next_message_id += 1
        return message_id

    def _message(self, chat_id: int | str, content: JSONDict) -> JSONDict:
        return {
            "message_id": self._take_message_id(),
            "date": int(time.time()),
            "chat": _chat(chat_id),
            "from": self.bot_user,
            **content,
        }

    def _send_message(self, params: JSONDict) -> JSONDict:
        chat_id = _require_chat_id(params)
        text = params.get("text")
        if not isinstance(text, str) or not text.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        if _visible_length(text, params.get("parse_mode")) > MAX_MESSAGE_LENGTH:
            raise ApiError(400, "Bad Request: message is too long")
        message = self._message(chat_id, {"text": text, **_inline_markup(params)})
        self._state.sent.append(message)
        return message

    def _send_document(self, params: JSONDict) -> JSONDict:
        chat_id = _require_chat_id(params)
        document = params.get("document")
        if document is None:
            raise ApiError(400, "Bad Request: there is no document in the request")
        caption = params.get("caption")
        if caption and _visible_length(caption, params.get("parse_mode")) > MAX_CAPTION_LENGTH:
            raise ApiError(400, "Bad Request: message caption is too long")
        content: JSONDict = {"document": self._document(document), **_inline_markup(params)}
        if caption:
            content["caption"] = caption
        message = self._message(chat_id, content)
        self._state.sent.append(message)
        return message

    def _document(self, document: UploadedFile | str) -> JSONDict:
        if not isinstance(document, UploadedFile):  # a file_id or URL
            return {"file_id": str(document), "file_unique_id": f"u-{document}"}
        number = self._state.next_file_id
        self._state.next_file_id += 1
        result: JSONDict = {
            "file_id": f"BQACAgFake{number}",
            "file_unique_id": f"AgADFake{number}",
            "file_size": len(document.data),
        }
        if document.filename:
            result["file_name"] = document.filename
        if document.content_type:
            result["mime_type"] = document.content_type
        return result

    def _edit_message_text(self, params: JSONDict) -> JSONDict:
        chat_id = _require_chat_id(params)
        text = params.get("text")
        if not isinstance(text, str) or not text.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        message = {
            "message_id": int(params.get("message_id", 0)),
            "date": int(time.time()),
            "edit_date": int(time.time()),
            "chat": _chat(chat_id),
            "from": self.bot_user,
            "text": text,
            **_inline_markup(params),
        }
        return message

    def _set_webhook(self, params: JSONDict) -> bool:
        url = params.get("url") or ""
        self._state.webhook = dict(params) if url else None
        if params.get("drop_pending_updates"):
            self._state.updates.clear()
        return True

    def _delete_webhook(self, params: JSONDict) -> bool:
        self._state.webhook = None
        if params.get("drop_pending_updates"):
            self._state.updates.clear()
        return True

    def _webhook_info(self, _params: JSONDict) -> JSONDict:
        webhook = self._state.webhook or {}
        info: JSONDict = {
            "url": webhook.get("url", ""),
            "has_custom_certificate": False,
            "pending_update_count": len(self._state.updates),
        }
        for key in ("max_connections", "allowed_updates", "ip_address"):
            if key in webhook:
                info[key] = webhook[key]
        return info

    def _set_my_commands(self, params: JSONDict) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list) or not all(_is_command(c) for c in commands):
            raise ApiError(400, "Bad Request: can't parse commands JSON object")
        key = _commands_key(params.get("scope"), params.get("language_code") or "")
        self._state.commands[key] = commands
        return True

    def _get_my_commands(self, params: JSONDict) -> list[JSONDict]:
        key = _commands_key(params.get("scope"), params.get("language_code") or "")
        return list(self._state.commands.get(key, []))

    def _delete_my_commands(self, params: JSONDict) -> bool:
        key = _commands_key(params.get("scope"), params.get("language_code") or "")
        self._state.commands.pop(key, None)
        return True

    def _get_updates(self, params: JSONDict) -> list[JSONDict]:
        if self._state.webhook is not None:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        offset = params.get("offset")
        updates = self._state.updates
        if isinstance(offset, int) and offset < 0:
            updates = updates[offset:]
        elif isinstance(offset, int):
            updates = [u for u in updates if u["update_id"] >= offset]
        self._state.updates = updates  # earlier updates are confirmed and forgotten
        limit = int(_number(params.get("limit"), 100))
        return [dict(u) for u in updates[: max(1, min(limit, 100))]]


# --------------------------------------------------------------------- helpers


def _true(_params: JSONDict) -> bool:
    return True


def _bot_id(token: str) -> int:
    head = token.split(":", 1)[0]
    return int(head) if head.isdigit() else 1000


def _chat(chat_id: int | str) -> JSONDict:
    if isinstance(chat_id, str) and chat_id.startswith("@"):
        return {"id": -1000000000001, "type": "channel", "username": chat_id[1:]}
    if isinstance(chat_id, int) and chat_id < 0:
        return {"id": chat_id, "type": "supergroup", "title": "Test group"}
    return {"id": chat_id, "type": "private", "first_name": "Test"}


def _require_chat_id(params: JSONDict) -> int | str:
    chat_id = params.get("chat_id")
    if chat_id is None or chat_id == "":
        raise ApiError(400, "Bad Request: chat_id is empty")
    if not isinstance(chat_id, int | str):
        raise ApiError(400, "Bad Request: chat not found")
    return chat_id


def _inline_markup(params: JSONDict) -> JSONDict:
    """Telegram echoes reply_markup in the Message only for inline keyboards."""
    markup = params.get("reply_markup")
    if isinstance(markup, dict) and "inline_keyboard" in markup:
        return {"reply_markup": markup}
    return {}


def _visible_length(text: str, parse_mode: Any) -> int:
    if isinstance(parse_mode, str) and parse_mode.upper() == "HTML":
        text = html.unescape(re.sub(r"<[^>]*>", "", text))
    return len(text)


def _is_command(command: Any) -> bool:
    return (
        isinstance(command, dict)
        and isinstance(command.get("command"), str)
        and isinstance(command.get("description"), str)
    )


def _commands_key(scope: Any, language_code: str) -> tuple[str, str]:
    scope = scope if isinstance(scope, dict) else {"type": "default"}
    return json.dumps(scope, sort_keys=True), language_code


def _number(value: Any, default: float) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return default


def _error(status: int, description: str, parameters: JSONDict | None = None) -> _Reply:
    body: JSONDict = {"ok": False, "error_code": status, "description": description}
    if parameters:
        body["parameters"] = parameters
    return _Reply(status, body)


def _retry_after(seconds: int) -> _Reply:
    return _error(429, f"Too Many Requests: retry after {seconds}", {"retry_after": seconds})


def _fault_reply(fault: Fault) -> _Reply | None:
    """The error a fault answers with; None for ``slow`` (answer normally, later)."""
    if fault.kind == "slow":
        return None
    if fault.kind == "retry_after":
        return _retry_after(int(fault.seconds))
    if fault.kind == "server_error":
        status = fault.status or 500
        return _error(status, fault.description or HTTPStatus(status).phrase)
    status, description = _FAULT_DEFAULTS[fault.kind]
    return _error(fault.status or status, fault.description or description)


def _json(reply: _Reply) -> JSONResponse:
    return JSONResponse(reply.body, status_code=reply.status)


def _decode(name: str, value: str) -> Any:
    if name in _STRING_PARAMS:
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


async def _form_value(name: str, value: str | UploadFile) -> Any:
    if isinstance(value, str):
        return _decode(name, value)
    data = await value.read()
    return UploadedFile(value.filename, value.content_type, data)


async def _read_params(request: Request) -> JSONDict:
    """Query string plus the form, multipart or JSON body, decoded as PTB encoded it."""
    params: JSONDict = {k: _decode(k, v) for k, v in request.query_params.items()}
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("application/json"):
        body = await request.body()
        decoded = json.loads(body) if body.strip() else {}
        if not isinstance(decoded, dict):
            raise ValueError("the JSON body must be an object")
        params.update(decoded)
    elif content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        async with request.form() as form:
            for key, value in form.multi_items():
                params[key] = await _form_value(key, value)
    return params


async def _sleep_unless_disconnected(request: Request, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        await asyncio.sleep(min(left, 0.05))
        if await request.is_disconnected():
            return
