"""Web app fixtures for channel tests: the real app, over httpx's ASGI transport."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass

import httpx
import pytest
from sqlalchemy.engine import Engine
from starlette.applications import Starlette

from bot.config import Settings
from bot.storage.db import make_engine
from bot.storage.migrate import upgrade
from bot.web import create_app
from tests.conftest import FIXED_NOW
from tests.storage.helpers import Clock

INTERNAL = "http://internal:8000"  # how the app is reached behind the TLS router


@dataclass
class WebApp:
    app: Starlette
    client: httpx.AsyncClient
    engine: Engine
    clock: Clock


@pytest.fixture
def clock() -> Clock:
    return Clock(FIXED_NOW)


@pytest.fixture
def web(clock: Clock) -> Callable[[Settings], AbstractAsyncContextManager[WebApp]]:
    """Build the app for some settings: `async with web(settings) as app: ...`."""

    @contextlib.asynccontextmanager
    async def build(settings: Settings) -> AsyncIterator[WebApp]:
        engine = make_engine(settings.database_url)
        upgrade(engine)
        app = create_app(settings, clock=clock)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=INTERNAL) as client:
            try:
                yield WebApp(app, client, engine, clock)
            finally:
                await app.state.channels.close()
                app.state.engine.dispose()
                engine.dispose()

    return build
