"""The `bot` command: console phone, database, worker, catalogs, demo data."""

from __future__ import annotations

import asyncio
import sys
from datetime import timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from sqlmodel import Session

from bot.cli_base import DISPLAY, file_format, group, output_file, print_table, run, say
from bot.cli_schedule import load_file, schedule_app
from bot.cli_staff import broadcast, data_app, roles_app
from bot.config import get_settings

app = group("GPSNR smallholder assistant.")
db_app = group("Database schema.")
demo_app = group("Demo data.")
i18n_app = group("Translation catalogs.")
telegram_app = group("Telegram: webhook, command menus, polling.")
outbox_app = group("Outgoing messages.")
resolutions_app = group("The GA resolutions (Secretariat).")
reminders_app = group("Call reminders.")
export_app = group("Exports for the Secretariat.")
app.add_typer(db_app, name="db")
app.add_typer(demo_app, name="demo")
app.add_typer(i18n_app, name="i18n")
app.add_typer(telegram_app, name="telegram")
app.add_typer(outbox_app, name="outbox")
app.add_typer(schedule_app, name="schedule")
app.add_typer(resolutions_app, name="resolutions")
app.add_typer(reminders_app, name="reminders")
app.add_typer(export_app, name="export")
app.add_typer(roles_app, name="roles")
app.add_typer(data_app, name="data")
app.command("broadcast")(broadcast)

CHANNEL_CHOICES = ("sms", "whatsapp", "telegram")
err = Console(stderr=True)


@app.callback()
def root(
    debug: Annotated[
        bool, typer.Option("--debug", help="When a command fails, show the traceback too.")
    ] = False,
) -> None:
    """GPSNR smallholder assistant."""
    DISPLAY.traceback = debug


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
    pipeline = Pipeline(
        engine,
        flow_set(),
        max_input_chars=settings.max_input_chars,
        statement_deadline=settings.statement_deadline,
        prices=settings.sms_segment_price,
    )
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
        say(line)


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
    print_table(["status", "messages"], [[status, str(count)] for status, count in counts])
    if reasons:
        rows = [[status, reason or "-", str(count)] for status, reason, count in reasons]
        print_table(["status", "reason", "messages"], rows)


@resolutions_app.command("import")
def resolutions_import(
    path: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="YAML or CSV file.")],
) -> None:
    """Add or update resolutions from a file (idempotent on each resolution's id)."""
    load_file("resolutions", path)


@resolutions_app.command("list")
def resolutions_list() -> None:
    """The resolutions, in order."""
    from sqlmodel import col, select

    from bot.storage.db import make_engine
    from bot.storage.models import Resolution

    engine = make_engine(get_settings().database_url)
    with Session(engine) as db:
        rows = db.exec(select(Resolution).order_by(col(Resolution.position))).all()
    engine.dispose()
    table_rows = [[str(row.position), row.id, row.title.get("en", "")] for row in rows]
    print_table(["number", "id", "title"], table_rows)


@reminders_app.command("list")
def reminders_list(
    event: Annotated[str | None, typer.Option(help="Only this event's reminders.")] = None,
) -> None:
    """Planned reminders, and how many people each would reach now."""
    from bot.reminders.due import overview
    from bot.storage.db import make_engine

    settings = get_settings()
    engine = make_engine(settings.database_url)
    rows = overview(engine, settings, event)
    engine.dispose()
    table = [
        [
            row.planned.event.id,
            f"{row.planned.offset_minutes} min",
            row.planned.nominal.strftime("%Y-%m-%d %H:%M"),
            str(row.recipients),
        ]
        for row in rows
    ]
    print_table(["event", "before", "due (UTC)", "recipients now"], table)


@reminders_app.command("send-due")
def reminders_send_due(
    now: Annotated[
        str | None, typer.Option(help="The moment to act at (ISO, with a time zone); default now.")
    ] = None,
) -> None:
    """Queue every reminder due at NOW without waiting for the scheduler (safe to repeat)."""
    from datetime import UTC, datetime

    from bot.reminders.due import send_due
    from bot.storage.db import make_engine

    _logging("WARNING")
    try:
        moment = datetime.fromisoformat(now) if now else datetime.now(UTC)
    except ValueError:
        raise typer.BadParameter("a moment like 2027-08-05T11:00:00Z", param_hint="--now") from None
    if moment.tzinfo is None:
        raise typer.BadParameter("give a time zone, e.g. 2027-08-05T11:00:00Z", param_hint="now")
    settings = get_settings()
    engine = make_engine(settings.database_url)
    done = send_due(engine, settings, moment)
    engine.dispose()
    for due in done:
        fired = due.fired
        say(
            f"{due.planned.job_id}: {fired.created} queued, {fired.already_there} already queued, "
            f"{fired.too_late} too late"
        )
    if not done:
        say("nothing due")


@reminders_app.command("plan")
def reminders_plan(
    kind: Annotated[str, typer.Argument(help="national, international or ga")],
    minutes: Annotated[list[int], typer.Argument(help="Minutes before the call, e.g. 1440 60.")],
) -> None:
    """Set when reminders go out for a kind of call (the worker applies it within a minute)."""
    from bot.reminders.plans import set_offsets
    from bot.storage.db import make_engine

    if kind not in ("national", "international", "ga") or not all(0 < m <= 20160 for m in minutes):
        raise typer.BadParameter("a kind (national, international, ga) and 1 to 20160 minutes")
    engine = make_engine(get_settings().database_url)
    with Session(engine) as db, db.begin():
        set_offsets(db, kind, minutes)
    engine.dispose()
    planned = ", ".join(str(m) for m in sorted(set(minutes), reverse=True))
    say(f"{kind}: reminders {planned} minutes before")


@export_app.command("statements")
def export_statements(
    output: Annotated[
        Path,
        typer.Option(
            "-o",
            "--output",
            help="The file to write; its name gives the format: .xlsx, .csv, .json",
        ),
    ],
    fmt: Annotated[
        str | None, typer.Option("--format", help="xlsx, csv or json (default: from the name).")
    ] = None,
    country: Annotated[str | None, typer.Option(help="Only this country (e.g. TH).")] = None,
    since: Annotated[
        str | None, typer.Option(help="Only versions sent from this date (YYYY-MM-DD, UTC).")
    ] = None,
    all_versions: Annotated[
        bool, typer.Option("--all-versions", help="Every version, not only the latest.")
    ] = False,
    with_contacts: Annotated[
        bool, typer.Option("--with-contacts", help="Full phone numbers (default: masked).")
    ] = False,
) -> None:
    """Candidate statements: one row per candidate's latest version (or every version)."""
    from datetime import UTC, datetime

    from rich.progress import Progress

    from bot.export import FORMATS, Query, rows
    from bot.storage.audit import CLI, audit
    from bot.storage.db import make_engine

    chosen = file_format(output_file(output), fmt, tuple(FORMATS))
    start = None
    if since:
        try:
            start = datetime.fromisoformat(since)
        except ValueError:
            raise typer.BadParameter("a date like 2027-08-01", param_hint="--since") from None
        start = start if start.tzinfo else start.replace(tzinfo=UTC)
    query = Query(country, start, all_versions, with_contacts)
    engine = make_engine(get_settings().database_url)
    with Session(engine) as db, db.begin():
        records = rows(db, query)
        audit(
            db,
            CLI,
            "export",
            "statements",
            country=country,
            rows=len(records),
            with_contacts=with_contacts,
            file=output.name,
        )
    engine.dispose()
    with Progress(console=err, transient=True) as progress:
        task = progress.add_task("exporting", total=len(records))
        data = FORMATS[chosen](records, lambda: progress.advance(task))
    output.write_bytes(data)
    say(f"{len(records)} statements written to {output}")


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the database schema to the latest version."""
    from bot.storage.db import make_engine
    from bot.storage.migrate import upgrade

    _logging()
    engine = make_engine(get_settings().database_url)
    upgrade(engine)
    engine.dispose()
    say("database is up to date")


@db_app.command("revision")
def db_revision(message: Annotated[str, typer.Argument(help="What the migration does.")]) -> None:
    """Autogenerate a migration from the models (developers)."""
    from bot.storage.migrate import revision

    revision(get_settings().database_url, message)


@demo_app.command("load")
def demo_load() -> None:
    """Add the demo smallholders, schedule and resolutions (idempotent; migrates first)."""
    from bot.demo import SAMPLES, load
    from bot.storage.db import make_engine
    from bot.storage.migrate import upgrade

    engine = make_engine(get_settings().database_url)
    upgrade(engine)
    added = load(engine)
    engine.dispose()
    say(f"demo data: {added} people added")
    load_file("schedule", SAMPLES / "schedule.yaml")
    load_file("resolutions", SAMPLES / "resolutions.yaml")


@i18n_app.command("update")
def i18n_update() -> None:
    """Extract every message and merge it into the seven catalogs."""
    from bot.i18n.tools import update

    for path in update():
        say(f"updated {path}")


@i18n_app.command("reach")
def i18n_reach(
    language: Annotated[str | None, typer.Option(help="One language (default: all).")] = None,
    show: Annotated[bool, typer.Option(help="Print every message with its segments.")] = False,
) -> None:
    """SMS segments of the content flows per language: each message, and the whole tutorial."""
    from bot.i18n.catalogs import LANGUAGES
    from bot.reach import MAX_SEGMENTS_PER_MESSAGE, TUTORIAL_BUDGET, every_message, reach

    _logging("WARNING")
    failed = False
    for lang in [language] if language else list(LANGUAGES):
        result = reach(lang)
        ok = result.tutorial_segments <= TUTORIAL_BUDGET and not result.over_budget
        failed |= not ok
        say(
            f"{lang}: tutorial {result.tutorial_segments}/{TUTORIAL_BUDGET} segments, longest "
            f"message {result.longest.segments}/{MAX_SEGMENTS_PER_MESSAGE}"
            + ("" if ok else "  << over budget")
        )
        for message in result.over_budget:
            say(f"   {message.segments} segments: {message.text!r}")
        if show:
            for message in every_message(lang):
                say(f"   [{message.segments} {message.encoding}] {message.text!r}")
    if failed:
        raise typer.Exit(1)


@i18n_app.command("check")
def i18n_check() -> None:
    """Fail on untranslated, fuzzy or broken catalog entries."""
    from bot.i18n.tools import check

    problems = check()
    for problem in problems:
        say(str(problem))
    if problems:
        raise typer.Exit(1)
    say("catalogs complete")


def main() -> None:
    sys.exit(run(app))
