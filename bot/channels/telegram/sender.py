"""Send outbox rows with the Bot API, paced, with Telegram's errors mapped to outcomes."""

from __future__ import annotations

import logging
from datetime import timedelta

from telegram import InputFile, KeyboardButton, ReplyKeyboardMarkup, ReplyKeyboardRemove
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)

from bot.channels.base import Envelope, SendResult
from bot.channels.ratelimit import RateLimiter
from bot.channels.telegram.client import BotHandle

log = logging.getLogger(__name__)

# Bad requests that mean the chat itself is gone, not that this message was wrong.
UNREACHABLE_HINTS = ("chat not found", "user is deactivated", "bot was kicked", "peer_id_invalid")


def keyboard(payload: dict[str, object]) -> ReplyKeyboardMarkup | ReplyKeyboardRemove | None:
    """Buttons for a choice, one per row (labels can be long); none: take old buttons away."""
    if "buttons" not in payload:
        return None  # not the last part of an answer
    labels = payload["buttons"]
    if not isinstance(labels, list) or not labels:
        return ReplyKeyboardRemove()
    rows = [[KeyboardButton(str(label))] for label in labels]
    return ReplyKeyboardMarkup(rows, resize_keyboard=True, one_time_keyboard=True)


class TelegramSender:
    def __init__(self, handle: BotHandle, limiter: RateLimiter) -> None:
        self.handle = handle
        self.limiter = limiter

    async def ready(self, envelope: Envelope) -> None:
        """The pace: overall, and per chat (the dispatcher waits here before `send`)."""
        await self.limiter.acquire(envelope.address)

    async def send(self, envelope: Envelope) -> SendResult:
        try:
            bot = await self.handle.ready()
            document = envelope.payload.get("document")
            if document:
                message = await bot.send_document(
                    chat_id=int(envelope.address),
                    document=InputFile(document["content"].encode(), filename=document["filename"]),
                    caption=envelope.text or None,
                )
            else:
                message = await bot.send_message(
                    chat_id=int(envelope.address),
                    text=envelope.text,
                    reply_markup=keyboard(envelope.payload),
                )
        except Exception as error:  # every Telegram answer becomes an outcome, never a crash
            return outcome_of(error)
        return SendResult("sent", provider_id=str(message.message_id))


def outcome_of(error: Exception) -> SendResult:
    if isinstance(error, RetryAfter):
        wait = error.retry_after
        seconds = wait.total_seconds() if isinstance(wait, timedelta) else float(wait)
        return SendResult(
            "retry", error=f"telegram 429: retry after {seconds:g}s", retry_after=seconds
        )
    if isinstance(error, Forbidden):
        return SendResult("unreachable", error=f"telegram 403: {error.message}")
    if isinstance(error, ChatMigrated):
        return SendResult("unreachable", error="telegram: chat migrated")
    if isinstance(error, BadRequest):
        if any(hint in error.message.lower() for hint in UNREACHABLE_HINTS):
            return SendResult("unreachable", error=f"telegram 400: {error.message}")
        return SendResult("failed", error=f"telegram 400: {error.message}")
    if isinstance(error, TimedOut | NetworkError):
        return SendResult("retry", error=f"telegram network: {type(error).__name__}")
    if isinstance(error, ValueError):
        return SendResult("failed", error="telegram: not a chat id")
    if isinstance(error, TelegramError):
        return SendResult("retry", error=f"telegram: {error.message}")
    log.exception("unexpected error sending to Telegram", exc_info=error)
    return SendResult("retry", error=type(error).__name__)
