"""Polling mode end to end: updates -> the same inbox the webhook uses -> immediate delivery."""

from __future__ import annotations

import asyncio
import logging
import signal
from datetime import timedelta
from typing import Any

from bot.channels.registry import ChannelSet
from bot.channels.telegram.inbound import Ignored, MalformedUpdate, parse_update
from bot.channels.telegram.polling import poll
from bot.config import Settings
from bot.dispatcher import Dispatcher
from bot.flowfiles import flow_set
from bot.inbox import Inbox
from bot.pipeline import Pipeline
from bot.storage.db import make_engine
from bot.storage.migrate import upgrade

log = logging.getLogger(__name__)


async def run_polling(settings: Settings) -> None:
    engine = make_engine(settings.database_url)
    upgrade(engine)
    channels = ChannelSet(settings)
    dispatcher = Dispatcher(
        engine,
        channels.senders,
        lease=timedelta(seconds=settings.dispatch_lease_seconds),
        max_attempts=settings.dispatch_max_attempts,
    )
    pipeline = Pipeline(
        engine,
        flow_set(),
        settings.max_input_chars,
        statement_deadline=settings.statement_deadline,
        prices=settings.sms_segment_price,
    )
    inbox = Inbox(pipeline, dispatcher)

    async def handle(data: dict[str, Any]) -> None:
        try:
            parsed = parse_update(data)
        except MalformedUpdate:
            log.warning("skipped an update we cannot read")
            return
        if isinstance(parsed, Ignored):
            return
        await inbox.deliver(await inbox.receive(parsed))

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    bot = await channels.telegram.ready()
    log.info("polling Telegram as @%s; Ctrl-C stops", bot.username)
    retries = asyncio.create_task(dispatcher.run(stop))  # resend what failed the first time
    try:
        await poll(bot, handle, stop)
    finally:
        stop.set()
        await retries
        inbox.close()
        await channels.close()
        engine.dispose()
