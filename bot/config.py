"""Settings, from the environment only (and an optional `.env` file for development)."""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Any

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.storage.db import normalise_url


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    database_url: str = Field(default="sqlite:///data/bot.db")
    # Longest inbound message we read; longer ones get a polite refusal with the limit.
    max_input_chars: int = Field(default=1600, ge=100)
    # Outbox dispatcher: a claimed row is retried after this lease if its sender vanished.
    dispatch_lease_seconds: int = Field(default=60, ge=5)
    dispatch_max_attempts: int = Field(default=4, ge=1)
    log_level: str = "INFO"

    # Reminders: minutes before a call (until the Secretariat sets them per kind of call),
    # hours when nobody is disturbed (the recipient's local time), and how late is still useful.
    reminder_offsets_minutes: list[int] = Field(default_factory=lambda: [1440, 60])
    quiet_hours_start: str = "21:00"
    quiet_hours_end: str = "07:00"
    reminder_grace_minutes: int = Field(default=30, ge=0)
    reminder_sync_seconds: int = Field(default=60, ge=5)
    # Candidate statements are accepted until this moment (ISO, with a time zone); unset: open.
    statement_deadline: datetime | None = None
    # What one SMS segment costs, in US$, by country, as JSON ({"TH": 0.03, "VN": 0.07}): the
    # broadcast preview shows an estimate when every SMS recipient's country has a price.
    sms_segment_price: dict[str, float] = Field(default_factory=dict)
    # How often the worker looks for confirmed broadcasts to queue.
    broadcast_poll_seconds: float = Field(default=5.0, gt=0)
    # The HTTPS address the providers call us at (webhooks are signed against this URL).
    public_base_url: str | None = None
    # Signs links to files we serve; defaults to the Twilio auth token when unset.
    secret_key: SecretStr | None = None

    # Telegram: off unless a token is set.
    telegram_bot_token: SecretStr | None = None
    telegram_webhook_secret: SecretStr | None = None
    telegram_api_url: str = "https://api.telegram.org"
    telegram_max_per_second: float = Field(default=30.0, gt=0)  # Bot API: ~30 messages/s
    telegram_chat_interval_seconds: float = Field(default=1.0, ge=0)  # ~1 message/s per chat

    # Twilio (WhatsApp and SMS): off unless the account SID and auth token are set.
    twilio_account_sid: str | None = None
    twilio_auth_token: SecretStr | None = None
    twilio_sms_from: str | None = None
    twilio_whatsapp_from: str | None = None
    twilio_messaging_service_sid: str | None = None
    twilio_api_url: str = "https://api.twilio.com"
    twilio_max_per_second: float = Field(default=10.0, gt=0)
    twilio_timeout_seconds: float = Field(default=10.0, gt=0)
    # Approved WhatsApp templates by message kind and language, as JSON:
    # {"reminder": {"en": "HX...", "th": "HX..."}, "broadcast": {...}}
    twilio_templates: dict[str, dict[str, str]] = Field(default_factory=dict)

    @field_validator("statement_deadline")
    @classmethod
    def _aware_deadline(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("STATEMENT_DEADLINE needs a time zone, e.g. 2027-09-10T23:59:00Z")
        return value

    @field_validator("database_url")
    @classmethod
    def _accept_heroku_urls(cls, value: str) -> str:
        return normalise_url(value)

    @field_validator("public_base_url", "telegram_api_url", "twilio_api_url")
    @classmethod
    def _no_trailing_slash(cls, value: Any) -> Any:
        return value.rstrip("/") if isinstance(value, str) else value

    @property
    def telegram_enabled(self) -> bool:
        return bool(self.telegram_bot_token and self.telegram_bot_token.get_secret_value())

    @property
    def twilio_enabled(self) -> bool:
        token = self.twilio_auth_token.get_secret_value() if self.twilio_auth_token else ""
        return bool(self.twilio_account_sid and token)

    def public_url(self, path: str) -> str:
        if not self.public_base_url:
            raise RuntimeError("PUBLIC_BASE_URL is not set")
        return f"{self.public_base_url}{path}"


@cache
def get_settings() -> Settings:
    return Settings()
