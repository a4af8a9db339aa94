"""Our web path with storage left out, for bench/webhook_throughput.py --web-only.

    uvicorn web_only_app:app --app-dir bench --workers 1

The real `bot.web` app (routing, the form, the Twilio signature check, TwiML with a status
callback) with its inbox answering at once with a fixed, already stored answer: no group
commit, no engine, no database. What it costs above bench/baseline_app.py is our web side;
what the whole app costs above it is storage and the turns, and their sharing of the GIL.
"""

from __future__ import annotations

from starlette.types import Receive, Scope, Send

from bot.channels.base import InboundMessage
from bot.pipeline import Handled
from bot.render import Reply
from bot.web import production_app

ANSWER = Handled(
    duplicate=False,
    contact_id=1,
    inbound_id=1,
    outbound_ids=(1,),
    reply=Reply(("Welcome! Reply 1 to agree, 2 to read how we use your data.",)),
    inline=True,
)


async def _stored(_inbound: InboundMessage, inline: bool = False) -> Handled:
    return ANSWER


class _WebOnly:
    def __init__(self) -> None:
        self._app = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self._app is None:
            self._app = production_app()
            self._app.state.inbox.receive = _stored
        await self._app(scope, receive, send)


app = _WebOnly()
