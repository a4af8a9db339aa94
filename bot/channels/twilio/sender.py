"""Send outbox rows through Twilio's REST API (messages.create), paced."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

import aiohttp
from twilio.base.exceptions import TwilioRestException

from bot.channels.base import Envelope, SendResult
from bot.channels.ratelimit import RateLimiter
from bot.channels.twilio.client import TwilioClient
from bot.channels.twilio.errors import result_for
from bot.channels.twilio.window import plan
from bot.config import Settings
from bot.signing import sign, signing_key
from bot.storage.models import utcnow

log = logging.getLogger(__name__)
STATUS_PATH = "/twilio/status"
MEDIA_PATH = "/media"


class TwilioSender:
    def __init__(
        self,
        settings: Settings,
        client: TwilioClient,
        limiter: RateLimiter,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.settings = settings
        self.client = client
        self.limiter = limiter
        self.clock = clock

    async def send(self, envelope: Envelope) -> SendResult:
        media = self._media_url(envelope)
        if envelope.payload.get("document") and media is None:
            return SendResult("failed", error="a file needs PUBLIC_BASE_URL and a signing key")
        route = plan(
            envelope, self.settings, self.clock(), self._status_callback(envelope.id), media
        )
        if route.route == "hold":
            return SendResult("held", error=route.reason)
        await self.limiter.acquire()
        try:
            message = await self.client.get().messages.create_async(**route.params)
        except TwilioRestException as error:
            return result_for(error.code, error.status, error.msg)
        except (TimeoutError, aiohttp.ClientError) as error:
            return SendResult("retry", error=f"twilio network: {type(error).__name__}")
        if route.reason:
            log.info("message %s: %s", envelope.id, route.reason)
        return SendResult("sent", provider_id=message.sid)

    def _media_url(self, envelope: Envelope) -> str | None:
        """Twilio fetches attached files from us: a signed link to the stored document."""
        key = signing_key(self.settings)
        if not envelope.payload.get("document") or not self.settings.public_base_url or not key:
            return None
        path = f"{MEDIA_PATH}/{envelope.id}"
        return f"{self.settings.public_url(path)}?sig={sign(key, str(envelope.id))}"

    def _status_callback(self, outbound_id: int) -> str | None:
        if not self.settings.public_base_url:
            return None
        return f"{self.settings.public_url(STATUS_PATH)}?outbound={outbound_id}"
