"""Telegram updates -> InboundMessage, with PTB doing the parsing."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from telegram import Chat, Message, Update
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


# Telegram's ids have at most 52 significant bits; anything larger is not from Telegram (and
# would not fit the columns that keep it).
MAX_ID = 2**53


def parse_update(data: Any) -> InboundMessage | Ignored:
    if not isinstance(data, dict) or not _is_id(data.get("update_id"), positive=True):
        raise MalformedUpdate("not an update")
    try:
        update = Update.de_json(data, None)
    except (KeyError, TypeError, ValueError, AttributeError, RecursionError) as error:
        raise MalformedUpdate(type(error).__name__) from None
    message = update.message or update.edited_message
    if message is None:
        return Ignored("not a message")
    if not isinstance(message.chat, Chat) or not _is_id(message.chat.id):
        raise MalformedUpdate("a message without a chat we can answer")
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
        text=_text(message.text) or _text(message.caption) or "",
        media_url=f"telegram:{media}:{_file_id(message, media)}" if media else None,
        display_name=_text(user.first_name) if user else None,
        language_hint=_text(user.language_code) if user else None,
        edited=edited,
    )


def _is_id(value: Any, positive: bool = False) -> bool:
    if not isinstance(value, int) or isinstance(value, bool):
        return False
    return (0 if positive else -MAX_ID) <= value < MAX_ID


def _text(value: Any) -> str | None:
    """PTB keeps what the JSON held: a field that should be text and is not, is refused."""
    if value is None or isinstance(value, str):
        return value
    raise MalformedUpdate("a text field that is not text")


def _file_id(message: Message, kind: str) -> str:
    """Telegram keeps files behind ids; the id is what a later download would need."""
    value = getattr(message, kind)
    if isinstance(value, tuple | list):  # photo: several sizes, largest last
        value = value[-1] if value else None
    return str(getattr(value, "file_id", "") or "")
