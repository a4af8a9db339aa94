"""Telegram updates -> InboundMessage, with PTB doing the parsing."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from telegram import Message, Update
from telegram.constants import ChatType

from bot.channels.base import InboundMessage

CHANNEL = "telegram"
# What a private chat can send besides text; each is acknowledged, not read.
MEDIA_KINDS = (
    "photo",
    "voice",
    "audio",
    "video",
    "video_note",
    "animation",
    "document",
    "sticker",
    "location",
    "venue",
    "contact",
    "poll",
)


class MalformedUpdate(ValueError):
    """The body is not a Telegram update we can read: answered 400, never 500."""


@dataclass(frozen=True)
class Ignored:
    """An update we must not answer (a group, a channel post, a button we never sent)."""

    reason: str


def parse_update(data: Any) -> InboundMessage | Ignored:
    if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
        raise MalformedUpdate("not an update")
    try:
        update = Update.de_json(data, None)
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise MalformedUpdate(str(error)) from None
    message = update.message or update.edited_message
    if message is None:
        return Ignored("not a message")
    if message.chat.type != ChatType.PRIVATE:
        return Ignored(f"{message.chat.type} chat")
    return _inbound(update.update_id, message, edited=update.edited_message is not None)


def _inbound(update_id: int, message: Message, edited: bool) -> InboundMessage:
    user = message.from_user
    media = next((kind for kind in MEDIA_KINDS if getattr(message, kind, None)), None)
    return InboundMessage(
        channel=CHANNEL,
        address=str(message.chat.id),
        dedupe_key=f"update-{update_id}",
        text=message.text or message.caption or "",
        media_url=f"telegram:{media}:{_file_id(message, media)}" if media else None,
        display_name=user.first_name if user else None,
        language_hint=user.language_code if user else None,
        edited=edited,
    )


def _file_id(message: Message, kind: str) -> str:
    """Telegram keeps files behind ids; the id is what a later download would need."""
    value = getattr(message, kind)
    if isinstance(value, tuple | list):  # photo: several sizes, largest last
        value = value[-1] if value else None
    return str(getattr(value, "file_id", "") or "")
