"""GET /media/{id}: the file stored with an outgoing message, for providers that fetch files."""

from __future__ import annotations

from sqlalchemy.engine import Engine
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bot.channels.twilio.sender import MEDIA_PATH
from bot.signing import verify
from bot.storage.models import OutboundMessage


def media_routes(engine: Engine, key: bytes | None) -> list[Route]:
    def load(message_id: int) -> dict[str, str] | None:
        with Session(engine) as db:
            row = db.get(OutboundMessage, message_id)
            document = row.payload.get("document") if row is not None else None
            return document if isinstance(document, dict) else None

    async def media(request: Request) -> Response:
        raw_id = request.path_params["message_id"]
        signature = request.query_params.get("sig", "")
        if key is None or not verify(key, str(raw_id), signature):
            return Response(status_code=403)
        document = await run_in_threadpool(load, raw_id)
        if document is None:
            return Response(status_code=404)
        disposition = f'attachment; filename="{document["filename"]}"'
        return Response(
            document["content"].encode(),
            media_type=document["mime"],
            headers={"Content-Disposition": disposition},
        )

    return [Route(f"{MEDIA_PATH}/{{message_id:int}}", media, methods=["GET", "HEAD"])]
