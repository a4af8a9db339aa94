"""Signed links to files we serve (a calendar entry for WhatsApp): unguessable, unforgeable."""

from __future__ import annotations

import hashlib
import hmac

from bot.config import Settings


def signing_key(settings: Settings) -> bytes | None:
    secret = settings.secret_key or settings.twilio_auth_token
    return secret.get_secret_value().encode() if secret else None


def sign(key: bytes, value: str) -> str:
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()[:32]


def verify(key: bytes, value: str, signature: str) -> bool:
    return hmac.compare_digest(sign(key, value), signature)
