"""`bot schedule ...`: the calls and the GA, from the files the Secretariat keeps."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.cli_base import file_format, group, output_file, print_table, say
from bot.config import get_settings
from bot.schedule_template import HELP

schedule_app = group("The calls and the General Assembly (Secretariat).")

# Click rewraps paragraphs; "\b" keeps the column list one line per column.
IMPORT_HELP = "\n\n".join(
    [
        "Add or update events from a YAML, CSV or XLSX file (idempotent on each event's id). "
        "A file with a problem is refused whole, each problem with its line.",
        "\b\nColumns (CSV and XLSX; YAML uses the same names):\n"
        + "\n".join(f"  {column}: {meaning}" for column, meaning in HELP.items()),
        "`bot schedule template -o schedule.csv` writes every column and an example of each "
        "kind of call. Files separated by semicolons (Excel with French or Portuguese "
        "settings) are read too.",
    ]
)


def _engine() -> Engine:
    from bot.storage.db import make_engine

    return make_engine(get_settings().database_url)


def load_file(kind: str, path: Path) -> None:
    """Import the schedule or the resolutions; every problem on its own unwrapped line."""
    from bot.content_import import InvalidFile, import_resolutions, import_schedule

    importer = import_schedule if kind == "schedule" else import_resolutions
    engine = _engine()
    try:
        with Session(engine) as db, db.begin():
            outcome = importer(db, path)
    except InvalidFile as error:
        for problem in error.problems:  # one line each, never wrapped: editors jump to them
            say(f"{path.name}: {problem}")
        say(f"{len(error.problems)} problem(s); nothing was imported")
        raise typer.Exit(1) from None
    finally:
        engine.dispose()
    for note in outcome.notes:
        say(f"{path.name}: {note}")
    say(
        f"{len(outcome.created)} added, {len(outcome.updated)} updated, "
        f"{len(outcome.unchanged)} unchanged"
    )


@schedule_app.command("import", help=IMPORT_HELP)
def schedule_import(
    path: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, help="A .yaml, .csv or .xlsx file.")
    ],
) -> None:
    load_file("schedule", path)


@schedule_app.command("template")
def schedule_template(
    output: Annotated[
        Path, typer.Option("-o", "--output", help="The file to write: .csv or .xlsx.")
    ],
) -> None:
    """Write a schedule to fill in: every column, one example row per kind of call."""
    from bot.schedule_template import FORMATS

    chosen = file_format(output_file(output), None, tuple(FORMATS))
    output.write_bytes(FORMATS[chosen]())
    say(f"template written to {output}; fill it in, then: bot schedule import {output.name}")


@schedule_app.command("list")
def schedule_list(
    country: Annotated[
        str | None, typer.Option(help="Only this country's calls (e.g. TH).")
    ] = None,
) -> None:
    """The events, soonest first, with their times in UTC."""
    from sqlmodel import col, or_, select

    from bot.storage.models import Event

    engine = _engine()
    with Session(engine) as db:
        query = select(Event).order_by(col(Event.starts_at))
        if country:
            mine = or_(col(Event.country) == country.upper(), col(Event.country).is_(None))
            query = query.where(mine)
        events = db.exec(query).all()
    engine.dispose()
    rows = [
        [
            event.id,
            event.kind,
            event.country or "all",
            event.starts_at.strftime("%Y-%m-%d %H:%M"),
            str(event.duration_minutes),
            event.title.get("en", ""),
        ]
        for event in events
    ]
    print_table(["id", "kind", "country", "starts (UTC)", "minutes", "title"], rows)


@schedule_app.command("remove")
def schedule_remove(
    event_id: Annotated[str, typer.Argument(help="The event's id.")],
    yes: Annotated[bool, typer.Option("--yes", help="Remove without asking.")] = False,
) -> None:
    """Remove an event: nobody is reminded of it any more (their choices for it go too)."""
    from sqlmodel import col, delete

    from bot.reminders.recipients import recipients
    from bot.storage.models import Event, ReminderChoice

    engine = _engine()
    with Session(engine) as db:
        event = db.get(Event, event_id)
        if event is None:
            say(f"no event {event_id!r} (`bot schedule list` shows them)")
            raise typer.Exit(1)
        people = len(recipients(db, event))
        starts = event.starts_at.strftime("%Y-%m-%d %H:%M")
    say(f"{event_id}: {event.title.get('en', '')}, {starts} UTC")
    say(f"{people} people get reminders for it; they will get none.")
    if not yes and not typer.confirm(f"Remove {event_id}?"):
        say("cancelled: nothing was removed")
        raise typer.Exit(1)
    with Session(engine) as db, db.begin():
        db.exec(delete(ReminderChoice).where(col(ReminderChoice.event_id) == event_id))
        db.exec(delete(Event).where(col(Event.id) == event_id))
    engine.dispose()
    say(f"removed {event_id}; {people} people had reminders for it")
