"""Operator commands for people: roles, broadcasts from a file, a person's data rights."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.cli_base import file_format, group, output_file, print_table, say
from bot.config import get_settings

roles_app = group("Champion and Secretariat roles (operators).")
data_app = group("A person's data: show, export or erase it (operators).")

Who = Annotated[
    str, typer.Argument(help="Phone number (+66812345678) or Telegram id (tg:123456789).")
]


def _engine() -> Engine:
    from bot.storage.db import make_engine

    return make_engine(get_settings().database_url)


@roles_app.command("grant")
def roles_grant(
    who: Who,
    role: Annotated[str, typer.Argument(help="champion or secretariat.")],
    country: Annotated[str | None, typer.Option(help="The champion's country, e.g. TH.")] = None,
) -> None:
    """Give a role; someone who never wrote is registered, ready for their first message."""
    from bot.phones import PROJECT_COUNTRIES
    from bot.storage.audit import CLI
    from bot.storage.models import utcnow
    from bot.storage.roles import RoleError, grant

    if country and country.upper() not in PROJECT_COUNTRIES:
        raise typer.BadParameter(f"one of {', '.join(PROJECT_COUNTRIES)}", param_hint="--country")
    engine = _engine()
    try:
        with Session(engine) as db, db.begin():
            person = grant(db, who, role, country, utcnow(), CLI)
            person_id = person.id
    except RoleError as error:
        raise typer.BadParameter(str(error)) from None
    finally:
        engine.dispose()
    where = f" for {country.upper()}" if country else ""
    say(f"person {person_id} is now {role}{where}")


@roles_app.command("revoke")
def roles_revoke(who: Who) -> None:
    """Take a role away: the person is a smallholder again."""
    from bot.storage.audit import CLI
    from bot.storage.models import utcnow
    from bot.storage.roles import RoleError, revoke

    engine = _engine()
    try:
        with Session(engine) as db, db.begin():
            person = revoke(db, who, utcnow(), CLI)
            person_id = person.id
    except RoleError as error:
        raise typer.BadParameter(str(error)) from None
    finally:
        engine.dispose()
    say(f"person {person_id} is a smallholder again")


@roles_app.command("list")
def roles_list() -> None:
    """Everyone with a role, phones masked."""
    from bot.storage.roles import holders

    engine = _engine()
    with Session(engine) as db:
        found = holders(db)
    engine.dispose()
    rows = [
        [
            str(h.person_id),
            h.role,
            h.country or "all",
            h.phone,
            "yes" if h.telegram else "no",
            h.since.strftime("%Y-%m-%d %H:%M"),
        ]
        for h in found
    ]
    print_table(["person", "role", "country", "phone", "telegram", "since (UTC)"], rows)


def broadcast(
    text_file: Annotated[Path, typer.Option(help="The message, as a UTF-8 text file.")],
    country: Annotated[str | None, typer.Option(help="One country, e.g. TH.")] = None,
    all_countries: Annotated[bool, typer.Option("--all", help="Every country.")] = False,
    audience: Annotated[
        str, typer.Option(help="all, not-tutorial, or event:ID (those reminded of that call).")
    ] = "all",
    yes: Annotated[bool, typer.Option("--yes", help="Send without asking.")] = False,
) -> None:
    """Send one message to the smallholders of a country (or all): preview, confirm, queue."""
    from rich.console import Console
    from rich.progress import Progress

    from bot.broadcasts.audience import Audience, reach
    from bot.broadcasts.expand import create, expand
    from bot.broadcasts.views import preview
    from bot.i18n.formatting import Reader
    from bot.phones import PROJECT_COUNTRIES
    from bot.render import to_text
    from bot.storage.audit import CLI
    from bot.storage.models import Event, utcnow

    if all_countries and country:
        raise typer.BadParameter("give --country XX or --all, not both", param_hint="--country")
    if not all_countries and not country:
        raise typer.BadParameter(
            "missing: say who gets it, --country XX for one country or --all for every country"
        )
    if country and country.upper() not in PROJECT_COUNTRIES:
        raise typer.BadParameter(f"one of {', '.join(PROJECT_COUNTRIES)}", param_hint="--country")
    kind, _, event_id = audience.partition(":")
    kind = kind.replace("-", "_")  # not-tutorial; an event's id keeps its dashes
    if kind not in ("all", "not_tutorial", "event") or (kind == "event") != bool(event_id):
        raise typer.BadParameter("all, not-tutorial or event:ID", param_hint="--audience")
    text = text_file.read_text(encoding="utf-8").strip()
    if not text:
        raise typer.BadParameter("the file is empty", param_hint="--text-file")
    chosen = Audience(country.upper() if country else None, kind, event_id or None)
    settings = get_settings()
    engine = _engine()
    now = utcnow()
    with Session(engine) as db:
        if event_id and db.get(Event, event_id) is None:
            raise typer.BadParameter(
                f"no event {event_id!r} (`bot schedule list` shows them)", param_hint="--audience"
            )
        nobody = not reach(db, chosen)
        shown = preview(db, chosen, text, now, settings.sms_segment_price)
    say(to_text(shown, Reader(language="en")))
    if nobody:
        raise typer.Exit(1)
    if not yes and not typer.confirm("Send it now?"):
        say("cancelled: nothing was sent")
        raise typer.Exit(1)
    with Session(engine, expire_on_commit=False) as db, db.begin():
        row = create(db, chosen, text, CLI, now)
    assert row.id is not None
    with Progress(console=Console(stderr=True), transient=True) as progress:
        task = progress.add_task("queueing", total=None)
        created = expand(
            engine,
            row.id,
            now,
            lambda done, total: progress.update(task, completed=done, total=total),
        )
    engine.dispose()
    say(f"broadcast {row.id}: {created} messages queued; the worker sends them")


@data_app.command("show")
def data_show(who: Who) -> None:
    """What is stored about one person, as they would see it (in English)."""
    from bot.i18n.formatting import Reader
    from bot.render import to_text
    from bot.storage.privacy import summary
    from bot.storage.roles import RoleError, find_existing

    engine = _engine()
    with Session(engine) as db:
        try:
            person = find_existing(db, who)
        except RoleError as error:
            raise typer.BadParameter(str(error)) from None
        print(to_text(summary(db, person), Reader(language="en")))
    engine.dispose()


@data_app.command("export")
def data_export(
    who: Who,
    output: Annotated[
        Path, typer.Option("-o", "--output", help="The JSON file to write, e.g. person.json.")
    ],
) -> None:
    """For an access request: everything stored about one person, as a JSON file."""
    import json

    from bot.storage.access import everything
    from bot.storage.audit import CLI, audit
    from bot.storage.models import utcnow
    from bot.storage.roles import RoleError, find_existing

    file_format(output_file(output), None, ("json",))
    engine = _engine()
    now = utcnow()
    with Session(engine) as db, db.begin():
        try:
            person = find_existing(db, who)
        except RoleError as error:
            raise typer.BadParameter(str(error)) from None
        document = everything(db, person, now)
        audit(db, CLI, "access_export", f"person:{person.id}", now, file=output.name)
    engine.dispose()
    output.write_text(json.dumps(document, ensure_ascii=False, indent=2), encoding="utf-8")
    say(f"person {document['person']['id']}: everything stored written to {output}")


@data_app.command("delete")
def data_delete(
    who: Who, yes: Annotated[bool, typer.Option("--yes", help="Erase without asking.")] = False
) -> None:
    """Erase one person's data and messages (their statements are withdrawn)."""
    from bot.storage.audit import CLI
    from bot.storage.checkpoints import empty_log
    from bot.storage.models import utcnow
    from bot.storage.privacy import forget
    from bot.storage.roles import RoleError, find_existing

    if not yes and not typer.confirm(f"Erase everything about {who}? It cannot be undone."):
        raise typer.Exit(1)
    engine = _engine()
    with Session(engine) as db, db.begin():
        try:
            person = find_existing(db, who)
        except RoleError as error:
            raise typer.BadParameter(str(error)) from None
        forget(db, person, utcnow(), CLI)
        person_id = person.id
    empty_log(engine)  # the web process keeps the database open: its log would keep them
    engine.dispose()
    say(f"person {person_id}: data erased")
