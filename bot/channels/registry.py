"""The channels a deployment has credentials for: their senders and their web routes.

A channel without credentials is simply absent: no route (404), no sender, nothing else
affected. Senders are built once per process, so each keeps its own pace.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime

from sqlalchemy.engine import Engine
from starlette.routing import Route

from bot.channels.base import Sender
from bot.channels.ratelimit import RateLimiter
from bot.config import Settings
from bot.inbox import Inbox
from bot.storage.models import utcnow


class ChannelSet:
    def __init__(self, settings: Settings, clock: Callable[[], datetime] = utcnow) -> None:
        self.settings = settings
        self.clock = clock
        self.senders: dict[str, Sender] = {}
        self._closers: list[Callable[[], Awaitable[None]]] = []
        if settings.telegram_enabled:
            self._add_telegram()
        if settings.twilio_enabled:
            self._add_twilio()

    def _add_telegram(self) -> None:
        from bot.channels.telegram.client import BotHandle, make_bot
        from bot.channels.telegram.sender import TelegramSender

        self.telegram = BotHandle(make_bot(self.settings))
        limiter = RateLimiter(
            self.settings.telegram_max_per_second, self.settings.telegram_chat_interval_seconds
        )
        self.senders["telegram"] = TelegramSender(self.telegram, limiter)
        self._closers.append(self.telegram.close)

    def _add_twilio(self) -> None:
        from bot.channels.twilio.client import TwilioClient
        from bot.channels.twilio.sender import TwilioSender

        client = TwilioClient(self.settings)
        limiter = RateLimiter(self.settings.twilio_max_per_second)
        sender = TwilioSender(self.settings, client, limiter, self.clock)
        self.senders["sms"] = self.senders["whatsapp"] = sender
        self._closers.append(client.close)

    def routes(self, inbox: Inbox, engine: Engine) -> list[Route]:
        routes: list[Route] = []
        if self.settings.telegram_enabled:
            from bot.channels.telegram.routes import telegram_routes

            secret = self.settings.telegram_webhook_secret
            routes += telegram_routes(secret.get_secret_value() if secret else None, inbox)
        if self.settings.twilio_enabled:
            from bot.channels.twilio.routes import twilio_routes

            routes += twilio_routes(self.settings, inbox, engine, self.clock)
        return routes

    async def close(self) -> None:
        for close in self._closers:
            await close()
