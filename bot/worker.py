"""The worker process: the outbox dispatcher and, on one worker only, the reminder scheduler."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Mapping
from datetime import timedelta

from sqlalchemy.engine import Engine

from bot.broadcasts.expand import expand_pending
from bot.channels.base import Sender
from bot.channels.registry import ChannelSet
from bot.config import Settings
from bot.dispatcher import Dispatcher
from bot.reminders.leader import SchedulerLock
from bot.reminders.scheduler import build_scheduler
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
    leading = asyncio.create_task(lead_scheduler(engine, settings, stop))
    expanding = asyncio.create_task(expand_broadcasts(engine, settings, stop))
    try:
        await dispatcher.run(stop)
    finally:
        stop.set()
        await leading
        await expanding
        await channels.close()
        engine.dispose()
        log.info("worker stopped")


async def expand_broadcasts(engine: Engine, settings: Settings, stop: asyncio.Event) -> None:
    """Queue confirmed broadcasts. Every worker may do it: the rows' unique keys make a second
    expander, or one restarted halfway, add only what is missing."""
    while not stop.is_set():
        try:
            queued = await asyncio.to_thread(expand_pending, engine)
            if queued:
                log.info("queued %s broadcast messages", queued)
        except Exception:
            log.exception("expanding broadcasts failed; trying again")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=settings.broadcast_poll_seconds)


async def lead_scheduler(
    engine: Engine, settings: Settings, stop: asyncio.Event, retry_seconds: float = 30.0
) -> None:
    """Run the reminder scheduler while holding the one lock; otherwise wait to take over."""
    lock = SchedulerLock(engine)
    while not stop.is_set() and not await asyncio.to_thread(lock.acquire):
        log.warning("another worker runs the reminder scheduler; this one only dispatches")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=retry_seconds)
    if stop.is_set():
        return
    scheduler = build_scheduler(engine, settings)
    scheduler.start()
    log.info("reminder scheduler started")
    try:
        await stop.wait()
    finally:
        scheduler.shutdown(wait=False)
        lock.release()
