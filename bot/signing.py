"""Signed links to files we serve (a calendar entry for WhatsApp): unguessable, unforgeable,
and short-lived. Twilio fetches a file right after we send its message; a link that leaks
(forwarded, logged by a proxy) stops working after `LINK_LIFETIME`."""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime, timedelta

from bot.config import Settings

# Long enough for Twilio's retries and a slow handset download; a fresh link is signed at
# every send, so a retried message never carries an expired one.
LINK_LIFETIME = timedelta(days=7)


def signing_key(settings: Settings) -> bytes | None:
    secret = settings.secret_key or settings.twilio_auth_token
    return secret.get_secret_value().encode() if secret else None


def sign(key: bytes, value: str) -> str:
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()[:32]


def verify(key: bytes, value: str, signature: str) -> bool:
    return hmac.compare_digest(sign(key, value), signature)


def link_query(key: bytes, item: str, now: datetime) -> str:
    """The query string that opens `item` until `now + LINK_LIFETIME`."""
    expires = int((now + LINK_LIFETIME).timestamp())
    return f"expires={expires}&sig={sign(key, f'{item}.{expires}')}"


def link_valid(key: bytes, item: str, expires: str, signature: str, now: datetime) -> bool:
    if not expires.isdigit() or len(expires) > 12:  # Unix seconds, well past year 30000
        return False
    return verify(key, f"{item}.{expires}", signature) and now.timestamp() <= int(expires)
