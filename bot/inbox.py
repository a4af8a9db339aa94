"""What every channel's entry point does with a message: store and answer, then deliver.

The pipeline is synchronous; web handlers hand their messages to the group commit's writer
thread, which stores those of concurrent requests in one transaction. Delivering right after
the commit keeps answers quick; the worker's dispatcher is the safety net that retries
whatever this could not send.
"""

from __future__ import annotations

import logging

from bot.channels.base import InboundMessage
from bot.dispatcher import Dispatcher
from bot.groupcommit import GroupCommit
from bot.pipeline import Handled, Pipeline

log = logging.getLogger(__name__)


class Inbox:
    def __init__(self, pipeline: Pipeline, dispatcher: Dispatcher | None) -> None:
        self.pipeline = pipeline
        self.dispatcher = dispatcher
        self.commits = GroupCommit(pipeline)

    async def receive(self, inbound: InboundMessage, inline: bool = False) -> Handled:
        return await self.commits.handle(inbound, inline)

    def close(self) -> None:
        self.commits.close()

    async def deliver(self, handled: Handled) -> None:
        """Send the answer now (called after the provider got its HTTP response)."""
        if self.dispatcher is None or handled.contact_id is None or not handled.queued_ids:
            return
        try:
            await self.dispatcher.dispatch_once(contact_ids=[handled.contact_id])
        except Exception:
            log.exception("immediate delivery failed; the worker will retry")
