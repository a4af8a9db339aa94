"""Signed Twilio requests against the web app, the way Twilio sends them."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr
from twilio.request_validator import RequestValidator

from bot.config import Settings

ACCOUNT_SID = "AC" + "1" * 32
AUTH_TOKEN = "twilio-test-auth-token"
PUBLIC = "https://bot.example.org"
OUR_SMS_NUMBER = "+15005550006"
OUR_WHATSAPP_NUMBER = "+14155238886"
_sids = itertools.count(1)


def twilio_settings(tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": f"sqlite:///{tmp_path / 'bot.db'}",
        "public_base_url": PUBLIC,
        "twilio_account_sid": ACCOUNT_SID,
        "twilio_auth_token": SecretStr(AUTH_TOKEN),
        "twilio_sms_from": OUR_SMS_NUMBER,
        "twilio_whatsapp_from": OUR_WHATSAPP_NUMBER,
        **overrides,
    }
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def sign(url: str, form: dict[str, str], token: str = AUTH_TOKEN) -> str:
    return str(RequestValidator(token).compute_signature(url, form))


def message_form(sender: str, body: str, sid: str | None = None, **extra: str) -> dict[str, str]:
    to = f"whatsapp:{OUR_WHATSAPP_NUMBER}" if sender.startswith("whatsapp:") else OUR_SMS_NUMBER
    return {
        "MessageSid": sid or f"SM{next(_sids):032x}",
        "AccountSid": ACCOUNT_SID,
        "From": sender,
        "To": to,
        "Body": body,
        "NumMedia": "0",
        **extra,
    }


async def post_signed(
    client: httpx.AsyncClient,
    path: str,
    form: dict[str, str],
    *,
    signed_url: str | None = None,
    signature: str | None = None,
) -> httpx.Response:
    """POST like Twilio: the signature covers the public URL and every form field."""
    url = signed_url or f"{PUBLIC}{path}"
    headers = {} if signature == "" else {"X-Twilio-Signature": signature or sign(url, form)}
    return await client.post(path, data=form, headers=headers)
