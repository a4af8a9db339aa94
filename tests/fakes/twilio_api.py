"""A fake Twilio REST API (the Messages resource) that the real twilio SDK can talk to.

    with FakeTwilio() as fake:
        client = Client(fake.account_sid, fake.auth_token)
        client.api.base_url = fake.url   # the SDK then calls {fake.url}/2010-04-01/...
        client.messages.create(to="+6591234567", from_="+15005550006", body="hi")
        assert fake.created[0].form["Body"] == "hi"

It answers like Twilio: HTTP Basic auth with the account SID and auth token, form-encoded
creates, message resources with RFC 2822 dates, list pages in Twilio's paging shape, and the
legacy error body ``{"code", "message", "more_info", "status"}`` that the SDK turns into a
``TwilioRestException`` with ``.status`` and ``.code``.

Faults are scripted FIFO and consumed one per create call (the first one whose ``to`` matches);
with none pending a create succeeds. uvicorn serves the app in another thread, so every piece of
state is guarded by one lock.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import operator
import re
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, date, datetime
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any, Self
from urllib.parse import urlencode

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.fakes.server import serve

DEFAULT_ACCOUNT_SID = "AC" + "f00d" * 8
DEFAULT_AUTH_TOKEN = "fake-twilio-auth-token"
API_VERSION = "2010-04-01"
MAX_BODY_LENGTH = 1600
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 1000
POLL_SECONDS = 0.02

# Twilio error code -> (HTTP status, message). ``{to}`` and ``{path}`` are filled in.
ERRORS: dict[int, tuple[int, str]] = {
    20003: (401, "Authenticate"),
    20404: (404, "The requested resource {path} was not found"),
    20429: (429, "Too Many Requests"),
    20500: (500, "An internal server error has occurred"),
    20503: (503, "Service Unavailable"),
    21211: (400, "The 'To' number {to} is not a valid phone number."),
    21602: (400, "Message body is required."),
    21603: (400, "A 'From' phone number is required."),
    21604: (400, "A 'To' phone number is required."),
    21608: (
        400,
        "The number {to} is unverified. Trial accounts cannot send messages to unverified "
        "numbers; verify {to} at twilio.com/user/account/phone-numbers/verified, or purchase "
        "a Twilio number to send messages to unverified numbers.",
    ),
    21610: (400, "Attempt to send to unsubscribed recipient"),
    21614: (400, "'To' number is not a valid mobile number"),
    21617: (400, "The concatenated message body exceeds the 1600 character limit."),
    21655: (400, "The ContentSid is Invalid."),
    21656: (400, "The ContentVariables Parameter is invalid."),
    21910: (400, "Invalid 'From' and 'To' pair. 'From' and 'To' should be of the same channel."),
    63016: (
        400,
        "Failed to send freeform message because you are outside the allowed window. "
        "If you are using WhatsApp, please use a Message Template.",
    ),
    63018: (400, "Rate limit exceeded for Channel"),
}
SERVER_ERROR_CODES = {500: 20500, 503: 20503}

_PHONE = re.compile(r"^(?:whatsapp:)?\+[1-9]\d{6,14}$")
_CONTENT_SID = re.compile(r"^HX[0-9a-f]{32}$")
_GSM7_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM7_EXTENDED = set("^{}\\[~]|€\f")

_DATE_FILTERS = (("DateSent", operator.eq), ("DateSent<", operator.le), ("DateSent>", operator.ge))

Form = dict[str, list[str]]


@dataclass(frozen=True)
class Fault:
    """One scripted answer to a create call.

    ``status=None`` means "answer normally" (useful with ``delay``). With ``create=True`` the
    message is created and recorded as Twilio would have sent it, yet the answer is the error.
    """

    status: int | None = None
    code: int | None = None
    message: str | None = None
    to: str | None = None  # only a create to this number consumes the fault
    delay: float = 0.0  # seconds to wait before answering
    create: bool = False


@dataclass(frozen=True)
class CreateRecord:
    """One ``POST .../Messages.json`` as the fake received it."""

    form: dict[str, str]  # first value of every field
    form_lists: dict[str, list[str]]  # every value (MediaUrl may repeat)
    sid: str | None  # the message sid if a message was created, else None
    at: float  # time.monotonic() when the request arrived
    http_status: int  # what the fake answered
    error_code: int | None  # the Twilio error code answered, if any

    @property
    def to(self) -> str | None:
        return self.form.get("To")


class FakeTwilio:
    """A Starlette app (``.app``) faking Twilio's Messages API; ``with`` serves it on ``.url``."""

    def __init__(
        self,
        account_sid: str = DEFAULT_ACCOUNT_SID,
        auth_token: str = DEFAULT_AUTH_TOKEN,
        *,
        rate_limit_per_second: int | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.rate_limit_per_second = rate_limit_per_second
        self.clock: Callable[[], datetime] = clock or (lambda: datetime.now(UTC))
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._records: list[CreateRecord] = []
        self._messages: dict[str, dict[str, Any]] = {}  # insertion order = creation order
        self._faults: deque[Fault] = deque()
        self._window: deque[float] = deque()  # monotonic times of creates within the last 1 s
        self._count_429 = 0
        self._stack: ExitStack | None = None
        self._url: str | None = None
        self.app = self._build_app()

    # -- serving ---------------------------------------------------------------------------

    def __enter__(self) -> Self:
        stack = ExitStack()
        self._closing.clear()
        self._url = stack.enter_context(serve(self.app))
        self._stack = stack
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._closing.set()  # cut short any scripted delay still running
        stack, self._stack, self._url = self._stack, None, None
        if stack is not None:
            stack.close()

    @property
    def url(self) -> str:
        """Base URL while served, e.g. ``http://127.0.0.1:54321`` (set ``client.api.base_url``)."""
        if self._url is None:
            raise RuntimeError("FakeTwilio is not being served: use `with FakeTwilio() as fake`")
        return self._url

    @property
    def messages_path(self) -> str:
        return f"/{API_VERSION}/Accounts/{self.account_sid}/Messages.json"

    # -- inspection ------------------------------------------------------------------------

    @property
    def requests(self) -> list[CreateRecord]:
        """Every create request, in arrival order (including rejected ones)."""
        with self._lock:
            return list(self._records)

    @property
    def created(self) -> list[CreateRecord]:
        """Create requests that created a message (even if the answer was an error)."""
        return [record for record in self.requests if record.sid is not None]

    @property
    def messages(self) -> list[dict[str, Any]]:
        """The message resources the fake holds, oldest first (copies)."""
        with self._lock:
            return [dict(message) for message in self._messages.values()]

    def message(self, sid: str) -> dict[str, Any]:
        with self._lock:
            return dict(self._messages[sid])

    @property
    def count_429(self) -> int:
        """How many creates were answered 429 (scripted or by the rate limit)."""
        with self._lock:
            return self._count_429

    @property
    def pending_faults(self) -> list[Fault]:
        with self._lock:
            return list(self._faults)

    def reset(self) -> None:
        """Forget records, messages, pending faults and the 429 count."""
        with self._lock:
            self._records.clear()
            self._messages.clear()
            self._faults.clear()
            self._window.clear()
            self._count_429 = 0

    def set_status(
        self,
        sid: str,
        status: str,
        *,
        error_code: int | None = None,
        error_message: str | None = None,
    ) -> None:
        """Move a message on (e.g. "delivered", "failed"), as a later fetch or list shows it."""
        now = _rfc2822(self.clock())
        with self._lock:
            message = self._messages[sid]
            message.update(status=status, error_code=error_code, error_message=error_message)
            message["date_updated"] = now
            if status in {"sent", "delivered", "read"} and message["date_sent"] is None:
                message["date_sent"] = now

    # -- fault scripting -------------------------------------------------------------------

    def inject(self, fault: Fault, times: int = 1) -> None:
        with self._lock:
            self._faults.extend([fault] * times)

    def inject_rate_limit(self, *, to: str | None = None, times: int = 1) -> None:
        """429 with code 20429 "Too Many Requests"."""
        self.inject(Fault(status=429, code=20429, to=to), times)

    def inject_server_error(
        self, status: int = 500, *, to: str | None = None, times: int = 1
    ) -> None:
        """500 (code 20500) or 503 (code 20503)."""
        self.inject(Fault(status=status, code=SERVER_ERROR_CODES.get(status, 20500), to=to), times)

    def inject_api_error(
        self,
        code: int,
        *,
        status: int | None = None,
        message: str | None = None,
        to: str | None = None,
        times: int = 1,
    ) -> None:
        """A Twilio API error, e.g. 21610, 21211, 63016, 63018, 21608 (status 400 by default)."""
        status = status if status is not None else ERRORS.get(code, (400, ""))[0]
        self.inject(Fault(status=status, code=code, message=message, to=to), times)

    def inject_delay(
        self, seconds: float, *, created: bool = True, to: str | None = None, times: int = 1
    ) -> None:
        """Answer only after ``seconds``; the message is still created unless ``created=False``
        (then the late answer is a 500), even when the client gave up waiting meanwhile."""
        fault = Fault(delay=seconds, to=to)
        if not created:
            fault = Fault(status=500, code=20500, delay=seconds, to=to)
        self.inject(fault, times)

    def inject_accepted_then_error(
        self, status: int = 500, *, to: str | None = None, times: int = 1
    ) -> None:
        """The ambiguous case: the message is created and recorded, but the answer is an error."""
        code = SERVER_ERROR_CODES.get(status, 20500)
        self.inject(Fault(status=status, code=code, to=to, create=True), times)

    def _take_fault(self, to: str | None) -> Fault | None:
        with self._lock:
            for index, fault in enumerate(self._faults):
                if fault.to is None or fault.to == to:
                    del self._faults[index]
                    return fault
        return None

    # -- the ASGI app ----------------------------------------------------------------------

    def _build_app(self) -> Starlette:
        base = "/2010-04-01/Accounts/{account_sid}"
        routes = [
            Route(f"{base}/Messages.json", self._create_endpoint, methods=["POST"]),
            Route(f"{base}/Messages.json", self._list_endpoint, methods=["GET"]),
            Route(f"{base}/Messages/{{sid}}.json", self._fetch_endpoint, methods=["GET"]),
        ]
        handlers = {404: _not_found_handler, 405: _not_allowed_handler}
        return Starlette(routes=routes, exception_handlers=handlers)

    def _deny(self, request: Request) -> JSONResponse | None:
        """401 without the right Basic credentials, 404 for another account's path."""
        if _basic_credentials(request) != (self.account_sid, self.auth_token):
            response = _error(20003)
            response.headers["WWW-Authenticate"] = 'Basic realm="Twilio API"'
            return response
        if request.path_params["account_sid"] != self.account_sid:
            return _error(20404, path=request.url.path)
        return None

    async def _create_endpoint(self, request: Request) -> JSONResponse:
        arrived = time.monotonic()
        form = await _read_form(request)
        denied = self._deny(request)
        if denied is not None:
            return self._answer(form, arrived, denied)
        fault = self._take_fault(_first(form, "To"))
        if fault is not None and fault.delay > 0:
            await self._pause(fault.delay, request)
        if fault is not None and fault.status is not None and not fault.create:
            return self._answer(form, arrived, _fault_response(fault, form))
        if self._throttled():
            return self._answer(form, arrived, _error(20429))
        invalid = _validate(form)
        if invalid is not None:
            return self._answer(form, arrived, invalid)
        message = self._store(form)
        response = JSONResponse(message, status_code=201, headers=_request_id())
        if fault is not None and fault.status is not None:
            response = _fault_response(fault, form)
        return self._answer(form, arrived, response, sid=message["sid"])

    async def _list_endpoint(self, request: Request) -> JSONResponse:
        denied = self._deny(request)
        if denied is not None:
            return denied
        try:
            matches = _filter_messages(self.messages, request.query_params)
            page, size = _page_params(request.query_params)
        except ValueError as error:
            return _error(20001, message=f"Invalid parameter: {error}")
        return JSONResponse(_page_payload(request, matches, page, size), headers=_request_id())

    async def _fetch_endpoint(self, request: Request) -> JSONResponse:
        denied = self._deny(request)
        if denied is not None:
            return denied
        with self._lock:
            message = self._messages.get(request.path_params["sid"])
            message = dict(message) if message is not None else None
        if message is None:
            return _error(20404, path=request.url.path)
        return JSONResponse(message, headers=_request_id())

    async def _pause(self, seconds: float, request: Request) -> None:
        """Sleep, but stop early if the client hung up or the fake is shutting down."""
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            if self._closing.is_set() or await request.is_disconnected():
                return
            await asyncio.sleep(min(left, POLL_SECONDS))

    def _throttled(self) -> bool:
        """Rate-limit mode: reserve a slot in the sliding 1 s window, or say no."""
        if self.rate_limit_per_second is None:
            return False
        now = time.monotonic()
        with self._lock:
            while self._window and self._window[0] <= now - 1.0:
                self._window.popleft()
            if len(self._window) >= self.rate_limit_per_second:
                return True
            self._window.append(now)
            return False

    def _store(self, form: Form) -> dict[str, Any]:
        message = _message_resource(self.account_sid, form, self.clock())
        with self._lock:
            self._messages[message["sid"]] = message
        return dict(message)

    def _answer(
        self, form: Form, arrived: float, response: JSONResponse, sid: str | None = None
    ) -> JSONResponse:
        code = json.loads(bytes(response.body))["code"] if response.status_code >= 400 else None
        record = CreateRecord(
            form={key: values[0] for key, values in form.items()},
            form_lists={key: list(values) for key, values in form.items()},
            sid=sid,
            at=arrived,
            http_status=response.status_code,
            error_code=code,
        )
        with self._lock:
            self._records.append(record)
            if response.status_code == 429:
                self._count_429 += 1
        return response


# -- requests and responses ------------------------------------------------------------------


async def _read_form(request: Request) -> Form:
    form: Form = {}
    async with request.form() as data:
        for key, value in data.multi_items():
            form.setdefault(key, []).append(
                value if isinstance(value, str) else str(value.filename)
            )
    return form


def _first(form: Form, key: str) -> str | None:
    values = form.get(key)
    return values[0] if values else None


def _basic_credentials(request: Request) -> tuple[str, str] | None:
    scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user, sep, password = base64.b64decode(encoded, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return (user, password) if sep else None


def _request_id() -> dict[str, str]:
    return {"Twilio-Request-Id": "RQ" + secrets.token_hex(16)}


def _error(
    code: int,
    *,
    status: int | None = None,
    message: str | None = None,
    to: str | None = None,
    path: str = "",
) -> JSONResponse:
    """Twilio's legacy error body, which the SDK maps onto TwilioRestException."""
    known_status, template = ERRORS.get(code, (400, "Error {code}"))
    text = message or template.format(to=to or "", path=path, code=code)
    body = {
        "code": code,
        "message": text,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status or known_status,
    }
    return JSONResponse(body, status_code=status or known_status, headers=_request_id())


def _fault_response(fault: Fault, form: Form) -> JSONResponse:
    status = fault.status or 500
    code = fault.code or SERVER_ERROR_CODES.get(status, 20500)
    return _error(code, status=status, message=fault.message, to=_first(form, "To"))


async def _not_found_handler(request: Request, exc: Exception) -> JSONResponse:
    return _error(20404, path=request.url.path)


async def _not_allowed_handler(request: Request, exc: Exception) -> JSONResponse:
    status = exc.status_code if isinstance(exc, HTTPException) else 405
    return _error(20004, status=status, message="Method not allowed")


# -- validation and the message resource -----------------------------------------------------


def _validate(form: Form) -> JSONResponse | None:
    """The synchronous checks Twilio makes on a create, in roughly Twilio's order."""
    to, sender = _first(form, "To"), _first(form, "From")
    if not to:
        return _error(21604)
    if not _PHONE.match(to):
        return _error(21211, to=to)
    if not sender and not _first(form, "MessagingServiceSid"):
        return _error(21603)
    if sender and sender.startswith("whatsapp:") != to.startswith("whatsapp:"):
        return _error(21910)
    return _validate_content(form)


def _validate_content(form: Form) -> JSONResponse | None:
    body, content_sid = _first(form, "Body"), _first(form, "ContentSid")
    if not body and not content_sid and not form.get("MediaUrl"):
        return _error(21602)
    if body and len(body) > MAX_BODY_LENGTH:
        return _error(21617)
    if content_sid is not None and not _CONTENT_SID.match(content_sid):
        return _error(21655)
    variables = _first(form, "ContentVariables")
    if variables is not None and not _is_json_object(variables):
        return _error(21656)
    return None


def _is_json_object(text: str) -> bool:
    try:
        return isinstance(json.loads(text), dict)
    except ValueError:
        return False


def _message_resource(account_sid: str, form: Form, now: datetime) -> dict[str, Any]:
    sid = "SM" + secrets.token_hex(16)
    to, body = _first(form, "To") or "", _first(form, "Body") or ""
    service = _first(form, "MessagingServiceSid")
    uri = f"/{API_VERSION}/Accounts/{account_sid}/Messages/{sid}"
    return {
        "account_sid": account_sid,
        "api_version": API_VERSION,
        "body": body,
        "date_created": _rfc2822(now),
        "date_sent": None,
        "date_updated": _rfc2822(now),
        "direction": "outbound-api",
        "error_code": None,
        "error_message": None,
        "from": _first(form, "From"),
        "messaging_service_sid": service,
        "num_media": str(len(form.get("MediaUrl", []))),
        "num_segments": str(_segments(body, whatsapp=to.startswith("whatsapp:"))),
        "price": None,
        "price_unit": "USD",
        "sid": sid,
        "status": _initial_status(form),
        "subresource_uris": {"media": f"{uri}/Media.json", "feedback": f"{uri}/Feedback.json"},
        "to": to,
        "uri": f"{uri}.json",
    }


def _initial_status(form: Form) -> str:
    if _first(form, "ScheduleType") == "fixed":
        return "scheduled"
    return "accepted" if _first(form, "MessagingServiceSid") else "queued"


def _rfc2822(moment: datetime) -> str:
    """Twilio's date format: ``Thu, 10 Sep 2026 03:00:00 +0000``."""
    return format_datetime(moment.astimezone(UTC).replace(microsecond=0))


def _segments(body: str, *, whatsapp: bool) -> int:
    """SMS segments: GSM-7 (160/153 septets) or UCS-2 (70/67 code units); WhatsApp is one."""
    if whatsapp:
        return 1
    if all(char in _GSM7_BASIC or char in _GSM7_EXTENDED for char in body):
        units = sum(2 if char in _GSM7_EXTENDED else 1 for char in body)
        single, multi = 160, 153
    else:
        units = len(body.encode("utf-16-le")) // 2
        single, multi = 70, 67
    return 1 if units <= single else -(-units // multi)


# -- listing -----------------------------------------------------------------------------------


def _filter_messages(messages: list[dict[str, Any]], query: Any) -> list[dict[str, Any]]:
    """Apply To, From and DateSent / DateSent< / DateSent> (inclusive); newest first."""
    found = [m for m in reversed(messages) if _matches(m, "to", query.get("To"))]
    found = [m for m in found if _matches(m, "from", query.get("From"))]
    for key, keep in _DATE_FILTERS:
        if query.get(key):
            bound = _parse_filter_date(query[key])
            found = [m for m in found if keep(_sent_moment(m, bound), bound)]
    return found


def _matches(message: dict[str, Any], field: str, wanted: str | None) -> bool:
    return wanted is None or message[field] == wanted


def _parse_filter_date(value: str) -> date | datetime:
    """``YYYY-MM-DD`` compares dates; the SDK's ``YYYY-MM-DDTHH:MM:SSZ`` compares instants."""
    if len(value) == 10:
        return date.fromisoformat(value)
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _sent_moment(message: dict[str, Any], like: date | datetime) -> date | datetime:
    """date_sent, or date_created while the message has not been sent yet."""
    moment = parsedate_to_datetime(message["date_sent"] or message["date_created"])
    return moment if isinstance(like, datetime) else moment.date()


def _page_params(query: Any) -> tuple[int, int]:
    page = int(query.get("Page", 0))
    size = int(query.get("PageSize", DEFAULT_PAGE_SIZE))
    if page < 0 or not 1 <= size <= MAX_PAGE_SIZE:
        raise ValueError("Page or PageSize out of range")
    return page, size


def _page_payload(
    request: Request, matches: list[dict[str, Any]], page: int, size: int
) -> dict[str, Any]:
    start = page * size
    records = matches[start : start + size]
    has_next = start + size < len(matches)
    return {
        "messages": records,
        "page": page,
        "page_size": size,
        "start": start,
        "end": start + max(len(records) - 1, 0),
        "uri": _page_uri(request, page, size),
        "first_page_uri": _page_uri(request, 0, size),
        "next_page_uri": _page_uri(request, page + 1, size) if has_next else None,
        "previous_page_uri": _page_uri(request, page - 1, size) if page > 0 else None,
    }


def _page_uri(request: Request, page: int, size: int) -> str:
    """A path relative to the API host, as Twilio gives it (the SDK prefixes its base_url)."""
    query = [(k, v) for k, v in request.query_params.multi_items() if k not in {"Page", "PageSize"}]
    query += [("PageSize", str(size)), ("Page", str(page))]
    return f"{request.url.path}?{urlencode(query)}"
