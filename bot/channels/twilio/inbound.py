"""Twilio's inbound form -> InboundMessage. SMS and WhatsApp share the same fields."""

from __future__ import annotations

from collections.abc import Mapping

from bot.channels.base import InboundMessage
from bot.phones import parse_phone

WHATSAPP_PREFIX = "whatsapp:"


class MalformedForm(ValueError):
    pass


def parse_form(form: Mapping[str, str]) -> InboundMessage:
    sid = form.get("MessageSid") or form.get("SmsMessageSid") or form.get("SmsSid")
    sender = (form.get("From") or "").strip()
    if not sid or not sender:
        raise MalformedForm("MessageSid and From are required")
    channel, address = split_address(sender)
    # A WhatsApp sender may be an id that is not a phone number: then no country is guessed.
    phone = parse_phone(address)
    media = _media_count(form.get("NumMedia"))
    return InboundMessage(
        channel=channel,
        address=address,
        dedupe_key=sid,
        text=form.get("Body") or "",
        phone=phone.e164 if phone else None,
        media_url=form.get("MediaUrl0") if media else None,
        display_name=form.get("ProfileName") or None,
    )


def split_address(value: str) -> tuple[str, str]:
    """`whatsapp:+66...` is WhatsApp; a bare number is SMS."""
    if value.lower().startswith(WHATSAPP_PREFIX):
        return "whatsapp", value[len(WHATSAPP_PREFIX) :]
    return "sms", value


def channel_address(channel: str, address: str) -> str:
    return f"{WHATSAPP_PREFIX}{address}" if channel == "whatsapp" else address


def _media_count(value: str | None) -> int:
    try:
        return max(int(value or 0), 0)
    except ValueError:
        return 0
