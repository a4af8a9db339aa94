"""The web app's health check, for the platform router."""

from __future__ import annotations

from pathlib import Path

import httpx

from bot.web import create_app


async def _get(app: object, path: str) -> httpx.Response:
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://bot.test") as client:
        return await client.get(path)


async def test_healthz_answers_200_when_the_database_is_reachable(tmp_path: Path) -> None:
    response = await _get(create_app(f"sqlite:///{tmp_path / 'web.db'}"), "/healthz")
    assert response.status_code == 200
    assert response.json() == {"database": "ok"}


async def test_healthz_answers_503_when_it_is_not() -> None:
    app = create_app("postgresql://nobody@127.0.0.1:9/none?connect_timeout=1")
    response = await _get(app, "/healthz")
    assert response.status_code == 503
    assert response.json() == {"database": "unreachable"}
