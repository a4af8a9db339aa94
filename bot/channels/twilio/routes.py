"""POST /twilio/messages and /twilio/status: signed by Twilio, or refused with 403."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from sqlalchemy.engine import Engine
from sqlmodel import Session
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse

from bot.channels.base import MAX_WEBHOOK_BYTES
from bot.channels.twilio.inbound import MalformedForm, parse_form
from bot.channels.twilio.sender import STATUS_PATH
from bot.channels.twilio.status import report_from
from bot.config import Settings
from bot.inbox import Inbox
from bot.pipeline import Handled
from bot.storage.delivery import Report, apply_report
from bot.text import xml_text

log = logging.getLogger(__name__)
MESSAGES_PATH = "/twilio/messages"
SIGNATURE_HEADER = "X-Twilio-Signature"
TWIML = "application/xml"


def twilio_routes(
    settings: Settings, inbox: Inbox, engine: Engine, clock: Callable[[], datetime]
) -> list[Route]:
    assert settings.twilio_auth_token is not None
    validator = RequestValidator(settings.twilio_auth_token.get_secret_value())

    async def signed_form(request: Request) -> dict[str, str] | None:
        signature = request.headers.get(SIGNATURE_HEADER)
        if not signature:  # refused before a byte of the body is read
            log.warning("refused a Twilio request without a signature")
            return None
        form = _Fields((key, str(value)) for key, value in (await request.form()).items())
        url = _public_url(settings, request)
        if not validator.validate(url, form, signature):
            log.warning("refused a Twilio request with a bad or missing signature")
            return None
        return form

    async def messages(request: Request) -> Response:
        form = await signed_form(request)
        if form is None:
            return Response(status_code=403)
        try:
            inbound = parse_form(form)
        except MalformedForm:
            return Response(status_code=400)
        handled = await inbox.receive(inbound, inline=True)
        body = twiml(handled, settings)
        # Usually nothing is left to send: the answer went back in the TwiML.
        later = BackgroundTask(inbox.deliver, handled) if handled.queued_ids else None
        return Response(body, media_type=TWIML, background=later)

    async def status(request: Request) -> Response:
        form = await signed_form(request)
        if form is None:
            return Response(status_code=403)
        report = report_from(form)
        if report is not None:
            outbound_id = _int(request.query_params.get("outbound"))
            outcome = await run_in_threadpool(_apply, engine, report, clock(), outbound_id)
            log.info("status %s for message %s: %s", report.provider_status, outbound_id, outcome)
        return Response(status_code=204)

    return [
        Route(MESSAGES_PATH, messages, methods=["POST"], max_body_size=MAX_WEBHOOK_BYTES),
        Route(STATUS_PATH, status, methods=["POST"], max_body_size=MAX_WEBHOOK_BYTES),
    ]


class _Fields(dict[str, str]):
    """The form as RequestValidator reads it. It asks each field for `getall` (a MultiDict),
    then `getlist`, then indexes: a plain dict costs two exceptions per field, for each of
    the two signatures it computes, which was half the time of validating a Twilio form."""

    def getall(self, name: str) -> list[str]:
        return [self[name]]


def twiml(handled: Handled, settings: Settings) -> str:
    """The answer inline when it was short enough to be marked so; otherwise empty."""
    response = MessagingResponse()
    if handled.inline and handled.reply is not None:
        for outbound_id, text in zip(handled.outbound_ids, handled.reply.parts, strict=True):
            part = xml_text(text)
            callback = _status_url(settings, outbound_id)
            if callback:
                response.message(part, status_callback=callback)
            else:
                response.message(part)
    return str(response)


def _status_url(settings: Settings, outbound_id: int) -> str | None:
    if not settings.public_base_url:
        return None
    return f"{settings.public_url(STATUS_PATH)}?outbound={outbound_id}"


def _public_url(settings: Settings, request: Request) -> str:
    """The URL Twilio signed: ours as the world sees it, not as the router forwards it."""
    if not settings.public_base_url:
        return str(request.url)
    query = f"?{request.url.query}" if request.url.query else ""
    return f"{settings.public_url(request.url.path)}{query}"


def _apply(engine: Engine, report: Report, now: datetime, outbound_id: int | None) -> str:
    with Session(engine) as db, db.begin():
        return apply_report(db, report, now, outbound_id)


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None
