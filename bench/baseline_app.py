"""The floor for bench/webhook_throughput.py: a Twilio SMS webhook that does nothing.

    uvicorn baseline_app:app --app-dir bench --workers 1

It reads the same form as ours (Starlette's `request.form()`, python-multipart) and answers a
fixed TwiML reply: no signature check, no database, no engine. Whatever our app costs above
this is ours.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

TWIML = "<Response><Message>OK</Message></Response>"


async def messages(request: Request) -> Response:
    await request.form()
    return Response(TWIML, media_type="application/xml")


async def healthz(_request: Request) -> JSONResponse:
    return JSONResponse({"ok": True})


app = Starlette(
    routes=[
        Route("/twilio/messages", messages, methods=["POST"]),
        Route("/healthz", healthz),
    ]
)
