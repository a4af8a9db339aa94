"""`bot telegram poll`: development without a public URL; updates take the webhook's path."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from telegram import Bot
from telegram.error import NetworkError, RetryAfter

from bot.channels.telegram.setup import ALLOWED_UPDATES

log = logging.getLogger(__name__)


async def poll(
    bot: Bot,
    handle: Callable[[dict[str, Any]], Awaitable[None]],
    stop: asyncio.Event,
    timeout: int = 25,
) -> None:
    await bot.delete_webhook()  # Telegram refuses getUpdates while a webhook is set
    offset: int | None = None
    while not stop.is_set():
        try:
            updates = await bot.get_updates(
                offset=offset, timeout=timeout, allowed_updates=list(ALLOWED_UPDATES)
            )
        except RetryAfter as error:
            await asyncio.sleep(_seconds(error))
            continue
        except NetworkError:
            log.warning("getUpdates failed; trying again in 3 s")
            await asyncio.sleep(3)
            continue
        for update in updates:
            await handle(update.to_dict())
            offset = update.update_id + 1


def _seconds(error: RetryAfter) -> float:
    wait = error.retry_after
    return wait if isinstance(wait, int | float) else wait.total_seconds()
