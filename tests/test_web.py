"""The web app's health check, for the platform router; and no import-time side effects."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx

from bot.config import Settings
from bot.web import create_app


async def _get(app: object, path: str) -> httpx.Response:
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://bot.test") as client:
        return await client.get(path)


def _settings(url: str) -> Settings:
    return Settings(_env_file=None, database_url=url)  # type: ignore[call-arg]


async def test_healthz_answers_200_when_the_database_is_reachable(tmp_path: Path) -> None:
    response = await _get(create_app(_settings(f"sqlite:///{tmp_path / 'web.db'}")), "/healthz")
    assert response.status_code == 200
    assert response.json() == {"database": "ok"}


async def test_healthz_answers_503_when_it_is_not() -> None:
    app = create_app(_settings("postgresql://nobody@127.0.0.1:9/none?connect_timeout=1"))
    response = await _get(app, "/healthz")
    assert response.status_code == 503
    assert response.json() == {"database": "unreachable"}


async def test_without_channel_credentials_no_webhook_exists(tmp_path: Path) -> None:
    app = create_app(_settings(f"sqlite:///{tmp_path / 'web.db'}"))
    for path in ("/telegram/webhook", "/twilio/messages", "/twilio/status"):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bot.test") as client:
            assert (await client.post(path)).status_code == 404


def test_importing_the_app_reads_no_settings_and_opens_nothing(tmp_path: Path) -> None:
    code = "import bot.web, os; print(sorted(os.listdir('.')))"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"  # no data/ directory, no database file
