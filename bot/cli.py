"""The `bot` command: console phone, database, worker, catalogs, demo data."""

from __future__ import annotations

import asyncio
import logging
import sys
from datetime import timedelta
from typing import Annotated

import typer
from rich.console import Console

from bot.config import get_settings

app = typer.Typer(help="GPSNR smallholder assistant.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
demo_app = typer.Typer(help="Demo data.", no_args_is_help=True)
i18n_app = typer.Typer(help="Translation catalogs.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(demo_app, name="demo")
app.add_typer(i18n_app, name="i18n")

CHANNEL_CHOICES = ("sms", "whatsapp", "telegram")
err = Console(stderr=True)


def _logging(level: str | None = None) -> None:
    logging.basicConfig(
        level=level or get_settings().log_level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


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
