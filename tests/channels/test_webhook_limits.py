"""Webhook bodies are not read for strangers, and never beyond a few tens of KB for anyone.

httpx's ASGI transport hands the app the request body only as the app asks for it, so
counting the chunks a body generator gave shows how much of a body the app read.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlmodel import Session, select

from bot.channels.base import MAX_WEBHOOK_BYTES
from bot.storage.models import InboundMessage
from tests.channels.telegram_helpers import SECRET, telegram_settings
from tests.channels.twilio_helpers import twilio_settings
from tests.fakes.telegram_api import FakeTelegram

CHUNK = 1024 * 1024
FORM = "application/x-www-form-urlencoded"


class Body:
    """100 form fields of 1 MB each, handed out one at a time, counting what was taken."""

    def __init__(self, chunks: int = 100) -> None:
        self.chunks = chunks
        self.taken = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for i in range(self.chunks):
            self.taken += 1
            yield f"Field{i}=".encode() + b"x" * CHUNK + b"&"


@pytest.fixture(scope="module")
def telegram() -> Iterator[FakeTelegram]:
    fake = FakeTelegram()
    with fake.running():
        yield fake


def _stored(engine) -> int:  # type: ignore[no-untyped-def]
    with Session(engine) as db:
        return len(db.exec(select(InboundMessage)).all())


@pytest.mark.parametrize("path", ["/twilio/messages", "/twilio/status"])
async def test_a_twilio_request_without_a_signature_is_refused_unread(
    web, tmp_path: Path, path: str
) -> None:
    body = Body()
    async with web(twilio_settings(tmp_path)) as app:
        response = await app.client.post(path, content=body, headers={"Content-Type": FORM})
        assert response.status_code == 403
        assert body.taken == 0
        assert _stored(app.engine) == 0


@pytest.mark.parametrize("path", ["/twilio/messages", "/twilio/status"])
async def test_a_signed_looking_body_over_the_cap_gets_413_after_reading_at_most_the_cap(
    web, tmp_path: Path, path: str
) -> None:
    body = Body()
    headers = {"Content-Type": FORM, "X-Twilio-Signature": "c2lnbmF0dXJl"}
    async with web(twilio_settings(tmp_path)) as app:
        response = await app.client.post(path, content=body, headers=headers)
        assert response.status_code == 413
        assert body.taken * CHUNK <= MAX_WEBHOOK_BYTES + CHUNK  # stopped at the first chunk over
        assert _stored(app.engine) == 0


async def test_a_declared_length_over_the_cap_is_refused_before_reading(
    web, tmp_path: Path
) -> None:
    body = b"Body=" + b"x" * (MAX_WEBHOOK_BYTES + 1)
    headers = {"Content-Type": FORM, "X-Twilio-Signature": "c2lnbmF0dXJl"}
    async with web(twilio_settings(tmp_path)) as app:
        response = await app.client.post("/twilio/messages", content=body, headers=headers)
        assert response.status_code == 413


async def test_telegram_without_the_secret_is_refused_unread(
    web, tmp_path: Path, telegram: FakeTelegram
) -> None:
    body = Body()
    async with web(telegram_settings(telegram, tmp_path)) as app:
        response = await app.client.post("/telegram/webhook", content=body)
        assert response.status_code == 403
        assert body.taken == 0


async def test_telegram_with_the_secret_but_a_huge_body_gets_413(
    web, tmp_path: Path, telegram: FakeTelegram
) -> None:
    body = Body()
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET, "Content-Type": "application/json"}
    async with web(telegram_settings(telegram, tmp_path)) as app:
        response = await app.client.post("/telegram/webhook", content=body, headers=headers)
        assert response.status_code == 413
        assert body.taken * CHUNK <= MAX_WEBHOOK_BYTES + CHUNK
        assert _stored(app.engine) == 0
