"""`bot telegram setup`: register the webhook and the command menu in every language."""

from __future__ import annotations

from telegram import Bot, BotCommand

from bot.config import Settings
from bot.engine.messages import Msg, msg
from bot.i18n.catalogs import LANGUAGES, SOURCE_LANGUAGE
from bot.i18n.formatting import Reader
from bot.render import to_text

WEBHOOK_PATH = "/telegram/webhook"
ALLOWED_UPDATES = ("message", "edited_message")
# Telegram picks the menu by the app's language (an IETF tag like "pt"), else the default.
TELEGRAM_LANGUAGE = {
    "en": "en",
    "pt_BR": "pt",
    "fr": "fr",
    "id": "id",
    "my": "my",
    "th": "th",
    "vi": "vi",
}


def commands() -> list[tuple[str, Msg]]:
    return [
        ("start", msg("Start or start again")),
        ("menu", msg("Show the menu")),
        ("help", msg("Help")),
        ("language", msg("Change language")),
        ("stop", msg("Stop all messages")),
    ]


def commands_in(language: str) -> list[BotCommand]:
    reader = Reader(language=language)
    return [BotCommand(name, to_text(description, reader)) for name, description in commands()]


async def set_up(bot: Bot, settings: Settings) -> list[str]:
    """Point Telegram at our webhook and describe our commands; returns what was done."""
    done = []
    secret = settings.telegram_webhook_secret
    if not secret or not secret.get_secret_value():
        raise RuntimeError("TELEGRAM_WEBHOOK_SECRET must be set for webhook mode")
    url = settings.public_url(WEBHOOK_PATH)
    await bot.set_webhook(
        url=url, secret_token=secret.get_secret_value(), allowed_updates=list(ALLOWED_UPDATES)
    )
    done.append(f"webhook: {url}")
    await bot.set_my_commands(commands_in(SOURCE_LANGUAGE))  # for every other app language
    for language in LANGUAGES:
        await bot.set_my_commands(commands_in(language), language_code=TELEGRAM_LANGUAGE[language])
        done.append(f"commands: {TELEGRAM_LANGUAGE[language]}")
    return done
