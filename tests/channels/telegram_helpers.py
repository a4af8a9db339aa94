"""Recorded-style Telegram update bodies and settings pointing at the fake Bot API."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from bot.config import Settings
from tests.fakes.telegram_api import FakeTelegram

SECRET = "webhook-secret-for-tests"
PUBLIC = "https://bot.example.org"
_ids = itertools.count(1000)


def telegram_settings(fake: FakeTelegram, tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": f"sqlite:///{tmp_path / 'bot.db'}",
        "public_base_url": PUBLIC,
        "telegram_bot_token": SecretStr(fake.token),
        "telegram_webhook_secret": SecretStr(SECRET),
        "telegram_api_url": fake.url,
        "telegram_max_per_second": 500.0,
        "telegram_chat_interval_seconds": 0.0,
        **overrides,
    }
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def user(chat_id: int, language: str | None = "en") -> dict[str, Any]:
    found: dict[str, Any] = {"id": chat_id, "is_bot": False, "first_name": "Somchai"}
    if language:
        found["language_code"] = language
    return found


def message(
    chat_id: int, language: str | None = "en", chat_type: str = "private", **content: Any
) -> dict[str, Any]:
    chat: dict[str, Any] = {"id": chat_id, "type": chat_type}
    if chat_type == "private":
        chat["first_name"] = "Somchai"
    else:
        chat["title"] = "Rubber farmers"
    return {
        "message_id": next(_ids),
        "date": 1788998400,
        "chat": chat,
        "from": user(abs(chat_id), language),
        **content,
    }


def update(update_id: int | None = None, **body: Any) -> dict[str, Any]:
    return {"update_id": update_id if update_id is not None else next(_ids), **body}


def text_update(
    chat_id: int, text: str, language: str | None = "en", update_id: int | None = None
) -> dict[str, Any]:
    return update(update_id, message=message(chat_id, language, text=text))


PHOTO = [
    {"file_id": "AgAD-small", "file_unique_id": "s1", "width": 90, "height": 90},
    {"file_id": "AgAD-large", "file_unique_id": "s2", "width": 1280, "height": 960},
]
VOICE = {"file_id": "AwAD-voice", "file_unique_id": "v1", "duration": 4, "mime_type": "audio/ogg"}
STICKER = {
    "file_id": "CAAD-sticker",
    "file_unique_id": "k1",
    "type": "regular",
    "width": 512,
    "height": 512,
    "is_animated": False,
    "is_video": False,
}
LOCATION = {"latitude": 7.0086, "longitude": 100.4747}
