"""GET /media/{id}: the file stored with an outgoing message, for providers that fetch files."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy.engine import Engine
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bot.channels.twilio.sender import MEDIA_PATH
from bot.signing import link_valid
from bot.storage.models import OutboundMessage

# Outbox ids are 64-bit integers: a larger number in the path names nothing.
MAX_ROW_ID = 2**63 - 1


def media_routes(engine: Engine, key: bytes | None, clock: Callable[[], datetime]) -> list[Route]:
    def load(message_id: int) -> dict[str, str] | None:
        with Session(engine) as db:
            row = db.get(OutboundMessage, message_id)
            document = row.payload.get("document") if row is not None else None
            return document if isinstance(document, dict) else None

    async def media(request: Request) -> Response:
        raw_id = request.path_params["message_id"]
        expires = request.query_params.get("expires", "")
        signature = request.query_params.get("sig", "")
        if key is None or not link_valid(key, str(raw_id), expires, signature, clock()):
            return Response(status_code=403)
        document = await run_in_threadpool(load, raw_id) if raw_id <= MAX_ROW_ID else None
        if document is None:
            return Response(status_code=404)
        disposition = f'attachment; filename="{document["filename"]}"'
        return Response(
            document["content"].encode(),
            media_type=document["mime"],
            headers={"Content-Disposition": disposition},
        )

    return [Route(f"{MEDIA_PATH}/{{message_id:int}}", media, methods=["GET", "HEAD"])]
