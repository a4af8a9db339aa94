"""How to send one outbox row through Twilio: free text, an approved template, SMS, or not now.

WhatsApp accepts free text only within 24 hours of the person's last message. Outside it a
message (in practice one we start: a reminder, a broadcast) must be an approved template,
configured per message kind and language; without one we fall back to SMS when the person has
a phone number, and otherwise hold the message and report it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from bot.channels.base import Envelope
from bot.channels.twilio.inbound import channel_address
from bot.config import Settings

WINDOW = timedelta(hours=24)
# Leave room for the time a message waits in Twilio's queue before WhatsApp sees it.
WINDOW_MARGIN = timedelta(minutes=10)


@dataclass(frozen=True)
class Plan:
    route: str  # text, template, sms_fallback, hold
    params: dict[str, Any] = field(default_factory=dict)  # for messages.create
    reason: str | None = None


def in_window(last_inbound_at: datetime | None, now: datetime) -> bool:
    return last_inbound_at is not None and now - last_inbound_at < WINDOW - WINDOW_MARGIN


def plan(
    envelope: Envelope,
    settings: Settings,
    now: datetime,
    status_callback: str | None,
    media_url: str | None = None,
) -> Plan:
    extra: dict[str, Any] = {"status_callback": status_callback} if status_callback else {}
    if media_url:
        extra["media_url"] = [media_url]
    if envelope.channel == "sms":
        return Plan(
            "text",
            {**_sms_sender(settings), "to": envelope.address, "body": envelope.text, **extra},
        )
    forced = envelope.payload.get("route") == "outside_window"  # WhatsApp said 63016
    if not forced and in_window(envelope.last_inbound_at, now):
        return Plan("text", _whatsapp(settings, envelope, body=envelope.text, **extra))
    template = settings.twilio_templates.get(envelope.kind, {}).get(envelope.language or "en")
    if template:
        variables = envelope.payload.get("template_variables") or {"1": envelope.text}
        return Plan(
            "template",
            _whatsapp(
                settings,
                envelope,
                content_sid=template,
                content_variables=json.dumps(variables),
                **extra,
            ),
        )
    if envelope.phone and _sms_sender(settings):
        return Plan(
            "sms_fallback",
            {**_sms_sender(settings), "to": envelope.phone, "body": envelope.text, **extra},
            "outside the WhatsApp window, no template: sent by SMS",
        )
    return Plan("hold", reason="outside the WhatsApp 24-hour window and no template or SMS to use")


def _whatsapp(settings: Settings, envelope: Envelope, **params: Any) -> dict[str, Any]:
    sender = settings.twilio_whatsapp_from or ""
    sender = sender if sender.startswith("whatsapp:") or not sender else f"whatsapp:{sender}"
    base = {"from_": sender} if sender else _service(settings)
    return {**base, "to": channel_address("whatsapp", envelope.address), **params}


def _sms_sender(settings: Settings) -> dict[str, str]:
    if settings.twilio_sms_from:
        return {"from_": settings.twilio_sms_from}
    return _service(settings)


def _service(settings: Settings) -> dict[str, str]:
    sid = settings.twilio_messaging_service_sid
    return {"messaging_service_sid": sid} if sid else {}
