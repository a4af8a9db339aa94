"""The web app with both channels on, against fake Telegram and Twilio servers."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr
from sqlalchemy.engine import Engine
from starlette.applications import Starlette

from bot.config import Settings
from bot.storage.db import make_engine
from bot.web import create_app
from tests.channels.telegram_helpers import SECRET
from tests.channels.twilio_helpers import OUR_SMS_NUMBER, OUR_WHATSAPP_NUMBER, PUBLIC
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.twilio_api import FakeTwilio

INTERNAL = "http://internal:8000"


def both_channels(
    database_url: str, telegram: FakeTelegram, twilio: FakeTwilio, **overrides: Any
) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "public_base_url": PUBLIC,
        "telegram_bot_token": SecretStr(telegram.token),
        "telegram_webhook_secret": SecretStr(SECRET),
        "telegram_api_url": telegram.url,
        "telegram_max_per_second": 1000.0,
        "telegram_chat_interval_seconds": 0.0,
        "twilio_account_sid": twilio.account_sid,
        "twilio_auth_token": SecretStr(twilio.auth_token),
        "twilio_api_url": twilio.url,
        "twilio_sms_from": OUR_SMS_NUMBER,
        "twilio_whatsapp_from": OUR_WHATSAPP_NUMBER,
        "twilio_max_per_second": 1000.0,
        "twilio_timeout_seconds": 2.0,
        **overrides,
    }
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@dataclass
class App:
    app: Starlette
    client: httpx.AsyncClient
    engine: Engine


@contextlib.asynccontextmanager
async def running(settings: Settings) -> AsyncIterator[App]:
    app = create_app(settings)
    engine = make_engine(settings.database_url)
    # raise_app_exceptions=False: a failing request answers 500, as uvicorn would.
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url=INTERNAL, timeout=30) as client:
        try:
            yield App(app, client, engine)
        finally:
            await app.state.channels.close()
            app.state.engine.dispose()
            engine.dispose()


def worker_process(
    database_url: str, twilio: FakeTwilio, log: Path, **settings: str
) -> subprocess.Popen[bytes]:
    """`bot worker` as its own process, sending SMS to the fake Twilio; `settings` are more
    environment variables. It runs in the log's folder: no .env there, the environment
    alone configures it."""
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "PUBLIC_BASE_URL": PUBLIC,
        "TWILIO_ACCOUNT_SID": twilio.account_sid,
        "TWILIO_AUTH_TOKEN": twilio.auth_token,
        "TWILIO_API_URL": twilio.url,
        "TWILIO_SMS_FROM": OUR_SMS_NUMBER,
        **settings,
    }
    env.pop("TELEGRAM_BOT_TOKEN", None)
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "bot", "worker"], cwd=log.parent, env=env, stdout=out, stderr=out
        )
