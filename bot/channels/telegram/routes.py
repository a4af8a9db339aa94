"""POST /telegram/webhook: check the secret, parse, store and answer."""

from __future__ import annotations

import hmac
import json
import logging

from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.channels.base import MAX_WEBHOOK_BYTES
from bot.channels.telegram.inbound import Ignored, MalformedUpdate, parse_update
from bot.channels.telegram.setup import WEBHOOK_PATH
from bot.inbox import Inbox

log = logging.getLogger(__name__)
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


def telegram_routes(secret: str | None, inbox: Inbox) -> list[Route]:
    expected = (secret or "").encode()

    async def webhook(request: Request) -> Response:
        given = request.headers.get(SECRET_HEADER, "").encode()
        if not expected or not hmac.compare_digest(given, expected):
            return Response(status_code=403)
        try:
            parsed = parse_update(json.loads(await request.body()))
        except (ValueError, RecursionError, MalformedUpdate) as error:  # JSONDecodeError too
            log.warning("telegram update refused: %s", type(error).__name__)
            return Response(status_code=400)
        if isinstance(parsed, Ignored):
            log.info("telegram update ignored: %s", parsed.reason)
            return JSONResponse({"ok": True})
        handled = await inbox.receive(parsed)
        return JSONResponse({"ok": True}, background=BackgroundTask(inbox.deliver, handled))

    return [Route(WEBHOOK_PATH, webhook, methods=["POST"], max_body_size=MAX_WEBHOOK_BYTES)]
