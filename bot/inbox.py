"""What every channel's entry point does with a message: store and answer, then deliver.

The pipeline is synchronous (one database transaction); web handlers run it in a worker
thread. Delivering right after the commit keeps answers quick; the worker's dispatcher is the
safety net that retries whatever this could not send.
"""

from __future__ import annotations

import logging

from starlette.concurrency import run_in_threadpool

from bot.channels.base import InboundMessage
from bot.dispatcher import Dispatcher
from bot.pipeline import Handled, Pipeline

log = logging.getLogger(__name__)


class Inbox:
    def __init__(self, pipeline: Pipeline, dispatcher: Dispatcher | None) -> None:
        self.pipeline = pipeline
        self.dispatcher = dispatcher

    async def receive(self, inbound: InboundMessage, inline: bool = False) -> Handled:
        return await run_in_threadpool(self.pipeline.handle, inbound, inline)

    async def deliver(self, handled: Handled) -> None:
        """Send the answer now (called after the provider got its HTTP response)."""
        if self.dispatcher is None or handled.contact_id is None or not handled.queued_ids:
            return
        try:
            await self.dispatcher.dispatch_once(contact_ids=[handled.contact_id])
        except Exception:
            log.exception("immediate delivery failed; the worker will retry")
