"""Settings, from the environment only (and an optional `.env` file for development)."""

from __future__ import annotations

from functools import cache

from pydantic import Field, field_validator
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

    @field_validator("database_url")
    @classmethod
    def _accept_heroku_urls(cls, value: str) -> str:
        return normalise_url(value)


@cache
def get_settings() -> Settings:
    return Settings()
