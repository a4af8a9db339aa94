"""Send outbox rows through Twilio's REST API (messages.create), paced."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import aiohttp
from twilio.base.exceptions import TwilioRestException

from bot.channels.base import Envelope, SendResult
from bot.channels.ratelimit import RateLimiter
from bot.channels.twilio.client import TwilioClient
from bot.channels.twilio.errors import result_for
from bot.channels.twilio.window import plan
from bot.config import Settings
from bot.signing import link_query, signing_key
from bot.storage.models import utcnow

log = logging.getLogger(__name__)
STATUS_PATH = "/twilio/status"
# How far back an uncertain message is looked for: its row's age, plus clock differences.
LOOKBACK = 20
LOOKBACK_MARGIN = timedelta(minutes=2)
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

    async def ready(self, envelope: Envelope) -> None:
        """The pace (the dispatcher waits here before `send`)."""
        await self.limiter.acquire()

    async def send(self, envelope: Envelope) -> SendResult:
        media = self._media_url(envelope)
        if envelope.payload.get("document") and media is None:
            return SendResult("failed", error="a file needs PUBLIC_BASE_URL and a signing key")
        route = plan(
            envelope, self.settings, self.clock(), self._status_callback(envelope.id), media
        )
        if route.route == "hold":
            return SendResult("held", error=route.reason)
        if envelope.uncertain:
            try:
                earlier = await self._earlier_copy(envelope, route.params)
            except (TwilioRestException, TimeoutError, aiohttp.ClientError) as error:
                # Not knowing whether it went out, we do not send it again yet.
                reason = f"twilio: cannot check an earlier attempt ({type(error).__name__})"
                return SendResult("retry", error=reason, ambiguous=True)
            if earlier is not None:
                log.info("message %s: an earlier attempt went out as %s", envelope.id, earlier)
                return SendResult("sent", provider_id=earlier)
        try:
            message = await self.client.get().messages.create_async(**route.params)
        except TwilioRestException as error:
            result = result_for(error.code, error.status, error.msg)
            # A 5xx may come after Twilio created the message: check before trying again.
            return replace(result, ambiguous=error.status >= 500)
        except aiohttp.ClientConnectorError as error:  # never reached Twilio
            return SendResult("retry", error=f"twilio network: {type(error).__name__}")
        except (TimeoutError, aiohttp.ClientError) as error:
            return SendResult(
                "retry", error=f"twilio network: {type(error).__name__}", ambiguous=True
            )
        if route.reason:
            log.info("message %s: %s", envelope.id, route.reason)
        return SendResult("sent", provider_id=message.sid)

    async def _earlier_copy(self, envelope: Envelope, params: dict[str, Any]) -> str | None:
        """The SID of this very message if an earlier attempt created it: the same text to the
        same address since the row was written (Twilio lists the newest first)."""
        since = (envelope.first_tried_at or self.clock()) - LOOKBACK_MARGIN
        text = envelope.text.strip()
        recent = await self.client.get().messages.list_async(to=params["to"], limit=LOOKBACK)
        for message in recent:
            created = message.date_created
            if created is not None and created < since:
                break
            body = (message.body or "").strip()
            # A template's body is the approved text around ours, so ours is inside it.
            if body == text or ("content_sid" in params and text and text in body):
                return str(message.sid)
        return None

    def _media_url(self, envelope: Envelope) -> str | None:
        """Twilio fetches attached files from us: a signed link to the stored document."""
        key = signing_key(self.settings)
        if not envelope.payload.get("document") or not self.settings.public_base_url or not key:
            return None
        path = f"{MEDIA_PATH}/{envelope.id}"
        return f"{self.settings.public_url(path)}?{link_query(key, str(envelope.id), self.clock())}"

    def _status_callback(self, outbound_id: int) -> str | None:
        if not self.settings.public_base_url:
            return None
        return f"{self.settings.public_url(STATUS_PATH)}?outbound={outbound_id}"
