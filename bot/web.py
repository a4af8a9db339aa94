"""The one ASGI web app (served by uvicorn, see Procfile). Channel routes are added per channel."""

from __future__ import annotations

import logging

import sqlalchemy as sa
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from bot.config import get_settings
from bot.storage.db import make_engine

log = logging.getLogger(__name__)


def create_app(database_url: str | None = None) -> Starlette:
    engine = make_engine(database_url or get_settings().database_url)

    def database_ok() -> bool:
        try:
            with engine.connect() as connection:
                connection.execute(sa.text("SELECT 1"))
            return True
        except sa.exc.SQLAlchemyError:
            log.warning("health check: database unreachable")
            return False

    async def healthz(_request: Request) -> JSONResponse:
        ok = await run_in_threadpool(database_ok)
        return JSONResponse({"database": "ok" if ok else "unreachable"}, 200 if ok else 503)

    app = Starlette(routes=[Route("/healthz", healthz)])
    app.state.engine = engine
    return app


app = create_app()
