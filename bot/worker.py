"""The worker process: the outbox dispatcher (and, later, the one scheduler)."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Mapping
from datetime import timedelta

from bot.channels.base import Sender
from bot.channels.registry import ChannelSet
from bot.config import Settings
from bot.dispatcher import Dispatcher
from bot.storage.db import make_engine

log = logging.getLogger(__name__)


async def run_worker(
    settings: Settings,
    senders: Mapping[str, Sender] | None = None,
    stop: asyncio.Event | None = None,
) -> None:
    engine = make_engine(settings.database_url)
    channels = ChannelSet(settings)
    senders = channels.senders if senders is None else senders
    if not senders:
        log.warning("no channel is configured: queued messages wait until one is")
    dispatcher = Dispatcher(
        engine,
        senders,
        lease=timedelta(seconds=settings.dispatch_lease_seconds),
        max_attempts=settings.dispatch_max_attempts,
    )
    if stop is None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
    log.info("worker started: dispatching for %s", ", ".join(sorted(senders)) or "no channel")
    try:
        await dispatcher.run(stop)
    finally:
        await channels.close()
        engine.dispose()
        log.info("worker stopped")
