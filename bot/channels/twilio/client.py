"""The Twilio REST client, async, created inside the running event loop and closed on exit."""

from __future__ import annotations

import logging

import aiohttp
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client

from bot.config import Settings

_quiet = logging.getLogger("bot.twilio.http")  # Twilio's own client logs numbers and bodies
_quiet.setLevel(logging.WARNING)


class _AsyncHttpClient(AsyncTwilioHttpClient):
    """Twilio's aiohttp client, minus two problems of twilio 9.13 with aiohttp 3.14.

    The stock client passes `aiohttp.BasicAuth` as `auth=` (deprecated: a warning on every
    request) and never applies the timeout it was given, so a stuck request would hang the
    dispatcher. Credentials go in the header instead (Twilio's logger leaves it out).
    """

    async def request(
        self,
        method: str,
        url: str,
        params: dict[str, object] | None = None,
        data: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,
        allow_redirects: bool = False,
    ) -> Response:
        headers = dict(headers or {})
        if auth is not None:
            headers["Authorization"] = aiohttp.encode_basic_auth(*auth)
        return await super().request(
            method,
            url,
            params=params,
            data=data,
            headers=headers,
            auth=None,
            timeout=timeout if timeout is not None else self.timeout,
            allow_redirects=allow_redirects,
        )


class TwilioClient:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._http: _AsyncHttpClient | None = None
        self._client: Client | None = None

    def get(self) -> Client:
        if self._client is None:
            assert self.settings.twilio_auth_token is not None
            # aiohttp needs a running loop, so this happens on first use, not at import.
            self._http = _AsyncHttpClient(
                timeout=self.settings.twilio_timeout_seconds, logger=_quiet
            )
            self._client = Client(
                self.settings.twilio_account_sid,
                self.settings.twilio_auth_token.get_secret_value(),
                http_client=self._http,
            )
            self._client.api.base_url = self.settings.twilio_api_url
        return self._client

    async def close(self) -> None:
        if self._http is not None:
            await self._http.close()
        self._http = self._client = None
