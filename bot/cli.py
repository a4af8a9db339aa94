"""The `bot` command: console phone, database, worker, catalogs, demo data."""

from __future__ import annotations

import asyncio
import sys
from datetime import timedelta
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from bot.config import get_settings

app = typer.Typer(help="GPSNR smallholder assistant.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
demo_app = typer.Typer(help="Demo data.", no_args_is_help=True)
i18n_app = typer.Typer(help="Translation catalogs.", no_args_is_help=True)
telegram_app = typer.Typer(help="Telegram: webhook, command menus, polling.", no_args_is_help=True)
outbox_app = typer.Typer(help="Outgoing messages.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(demo_app, name="demo")
app.add_typer(i18n_app, name="i18n")
app.add_typer(telegram_app, name="telegram")
app.add_typer(outbox_app, name="outbox")

CHANNEL_CHOICES = ("sms", "whatsapp", "telegram")
err = Console(stderr=True)


def _logging(level: str | None = None) -> None:
    from bot.logs import configure_logging
    from bot.web import secrets_of

    settings = get_settings()
    configure_logging(level or settings.log_level, secrets_of(settings))


@app.command()
def chat(
    phone: Annotated[str, typer.Option(help="Your phone number, international form.")] = (
        "+66812345678"
    ),
    channel: Annotated[
        str, typer.Option(help="How replies are drawn: sms, whatsapp or telegram.")
    ] = "sms",
) -> None:
    """The console phone: talk to the bot as a smallholder. Reads lines when not a terminal."""
    from bot.channels.console import ConsolePhone, ConsoleSender, interactive_lines
    from bot.dispatcher import Dispatcher
    from bot.flowfiles import flow_set
    from bot.phones import parse_phone
    from bot.pipeline import Pipeline
    from bot.storage.db import make_engine
    from bot.storage.migrate import upgrade

    _logging("WARNING")
    if channel not in CHANNEL_CHOICES:
        raise typer.BadParameter(
            f"choose one of {', '.join(CHANNEL_CHOICES)}", param_hint="channel"
        )
    info = parse_phone(phone)
    if info is None:
        raise typer.BadParameter("not a valid international number, e.g. +66812345678")
    settings = get_settings()
    engine = make_engine(settings.database_url)
    upgrade(engine)
    pretty = sys.stdin.isatty() and sys.stdout.isatty()
    sender = ConsoleSender(channel, sys.stdout, pretty=pretty)
    dispatcher = Dispatcher(
        engine,
        {channel: sender},
        lease=timedelta(seconds=settings.dispatch_lease_seconds),
        max_attempts=settings.dispatch_max_attempts,
    )
    pipeline = Pipeline(engine, flow_set(), max_input_chars=settings.max_input_chars)
    phone_app = ConsolePhone(pipeline, dispatcher, channel, info.e164)
    if pretty:
        err.print(
            f"Console phone: {info.e164} on {channel}. Type a message and press Enter "
            "(::photo or ::voice sends media). Ctrl-D quits."
        )
        phone_app.run(interactive_lines())
    else:
        phone_app.run(sys.stdin)
    engine.dispose()


@app.command()
def worker() -> None:
    """Run the worker: the outbox dispatcher (and the scheduler, when reminders exist)."""
    from bot.worker import run_worker

    _logging()
    asyncio.run(run_worker(get_settings()))


@telegram_app.command("setup")
def telegram_setup() -> None:
    """Register the webhook (PUBLIC_BASE_URL + /telegram/webhook) and the command menus."""
    from bot.channels.telegram.client import make_bot
    from bot.channels.telegram.setup import set_up

    _logging()
    settings = get_settings()
    if not settings.telegram_enabled:
        raise typer.BadParameter("TELEGRAM_BOT_TOKEN is not set")

    async def run() -> list[str]:
        async with make_bot(settings) as bot:
            return await set_up(bot, settings)

    for line in asyncio.run(run()):
        err.print(line)


@telegram_app.command("poll")
def telegram_poll() -> None:
    """Development without a public URL: fetch updates from Telegram and answer them."""
    from bot.channels.telegram.runner import run_polling

    _logging()
    settings = get_settings()
    if not settings.telegram_enabled:
        raise typer.BadParameter("TELEGRAM_BOT_TOKEN is not set")
    asyncio.run(run_polling(settings))


@outbox_app.command("report")
def outbox_report() -> None:
    """How many messages are in each state, and why messages failed or are held."""
    from bot.storage.db import make_engine
    from bot.storage.report import outbox_report as build

    engine = make_engine(get_settings().database_url)
    counts, reasons = build(engine)
    engine.dispose()
    table = Table("status", "messages")
    for status, count in counts:
        table.add_row(status, str(count))
    Console().print(table)
    if reasons:
        why = Table("status", "reason", "messages")
        for status, reason, count in reasons:
            why.add_row(status, reason or "-", str(count))
        Console().print(why)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the database schema to the latest version."""
    from bot.storage.db import make_engine
    from bot.storage.migrate import upgrade

    _logging()
    engine = make_engine(get_settings().database_url)
    upgrade(engine)
    engine.dispose()
    err.print("database is up to date")


@db_app.command("revision")
def db_revision(message: Annotated[str, typer.Argument(help="What the migration does.")]) -> None:
    """Autogenerate a migration from the models (developers)."""
    from bot.storage.migrate import revision

    revision(get_settings().database_url, message)


@demo_app.command("load")
def demo_load() -> None:
    """Add the demo smallholders (idempotent)."""
    from bot.demo import load
    from bot.storage.db import make_engine

    engine = make_engine(get_settings().database_url)
    added = load(engine)
    engine.dispose()
    err.print(f"demo data: {added} people added")


@i18n_app.command("update")
def i18n_update() -> None:
    """Extract every message and merge it into the seven catalogs."""
    from bot.i18n.tools import update

    for path in update():
        err.print(f"updated {path}")


@i18n_app.command("check")
def i18n_check() -> None:
    """Fail on untranslated, fuzzy or broken catalog entries."""
    from bot.i18n.tools import check

    problems = check()
    for problem in problems:
        err.print(str(problem))
    if problems:
        raise typer.Exit(1)
    err.print("catalogs complete")


def main() -> None:
    app()
