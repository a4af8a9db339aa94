"""The Bot API client, built once per process from the settings."""

from __future__ import annotations

import asyncio
import logging

from telegram import Bot
from telegram.error import InvalidToken, TelegramError
from telegram.request import HTTPXRequest

from bot.config import Settings

log = logging.getLogger(__name__)


def make_bot(settings: Settings) -> Bot:
    assert settings.telegram_bot_token is not None
    return Bot(
        settings.telegram_bot_token.get_secret_value(),
        base_url=f"{settings.telegram_api_url}/bot",
        base_file_url=f"{settings.telegram_api_url}/file/bot",
        request=HTTPXRequest(connection_pool_size=64, read_timeout=15, connect_timeout=10),
    )


class BotHandle:
    """Initialises the bot (getMe) on first use, so a Telegram outage never stops startup."""

    def __init__(self, bot: Bot) -> None:
        self.bot = bot
        self._lock = asyncio.Lock()
        self._ready = False

    async def ready(self) -> Bot:
        if not self._ready:
            async with self._lock:
                if not self._ready:
                    await self._initialize()
        return self.bot

    async def _initialize(self) -> None:
        try:
            await self.bot.initialize()
        except InvalidToken:
            # PTB's message quotes the token: never let it reach the logs.
            raise TelegramError("the Telegram bot token was rejected") from None
        self._ready = True

    async def close(self) -> None:
        if self._ready:
            await self.bot.shutdown()
            self._ready = False
