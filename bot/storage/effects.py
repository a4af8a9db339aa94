"""What a turn changes besides the person's fields: reminders, help requests, completions,
statements, and what staff confirmed (broadcasts, help given) or a person asked (erasure)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from functools import partial
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, delete, select

from bot.engine.events import (
    Event,
    FlowEnded,
    Refused,
    RequestHelp,
    SetReminder,
    Submit,
    SubmitStatement,
)
from bot.i18n.formatting import Reader
from bot.render import to_text
from bot.storage.inserts import insert_rows
from bot.storage.models import Completion, HelpRequest, Person, ReminderChoice
from bot.storage.statements import submit
from bot.storage.submits import apply_submit, refused

Completed = Callable[[int, str, datetime], None]  # person id, flow id, when


def apply_effects(
    db: Session,
    person: Person,
    events: Iterable[Event],
    now: datetime,
    channel: str = "",
    deadline: datetime | None = None,
    contact_id: int | None = None,
    completed: Completed | None = None,
) -> None:
    """`completed` records a finished flow; by default at once (a batch of turns gathers
    them: bot/storage/pending.py)."""
    assert person.id is not None
    for event in events:
        if isinstance(event, Submit):
            apply_submit(db, person, event, now, contact_id)
        elif isinstance(event, Refused):
            refused(db, person, event, now)
        elif isinstance(event, SubmitStatement):
            submit_statement(db, person, event, now, channel, deadline)
        elif isinstance(event, SetReminder):
            set_reminder(db, person, event.scope, event.item, now)
        elif isinstance(event, RequestHelp):
            request_help(db, person.id, event.kind, now)
    completions(person.id, events, now, completed or partial(complete, db))


def completions(
    person_id: int, events: Iterable[Event], now: datetime, completed: Completed
) -> None:
    """Flows the turn finished (the one effect of a turn that only talks and sets fields)."""
    for event in events:
        if isinstance(event, FlowEnded) and event.completed:
            completed(person_id, event.flow, now)


def submit_statement(
    db: Session,
    person: Person,
    event: SubmitStatement,
    now: datetime,
    channel: str,
    deadline: datetime | None,
) -> None:
    assert person.id is not None
    if deadline is not None and now >= deadline:
        return  # the flow says so; this is the last line of defence
    language = person.language or "en"
    text = to_text(event.text, Reader(language=language))  # Unicode, even for Zawgyi writers
    submit(db, person.id, dict(event.answers), text, language, channel, now)


def set_reminder(
    db: Session, person: Person, scope: str, event_id: str | None, now: datetime
) -> None:
    assert person.id is not None
    if scope in ("all", "none"):
        person.reminders, person.updated_at = scope, now
        db.exec(delete(ReminderChoice).where(col(ReminderChoice.person_id) == person.id))
        return
    if event_id is None:
        return
    wanted = scope == "event"
    choice = db.get(ReminderChoice, (person.id, event_id))
    if choice is None:
        choice = ReminderChoice(person_id=person.id, event_id=event_id)
    choice.wanted, choice.updated_at = wanted, now
    db.add(choice)
    if wanted and person.reminders == "none":
        person.reminders, person.updated_at = "chosen", now  # one event yes, the rest still no


def request_help(db: Session, person_id: int, kind: str, now: datetime) -> None:
    """One open request per kind: asking twice does not make the champion call twice."""
    open_request = db.exec(
        select(HelpRequest).where(
            HelpRequest.person_id == person_id,
            HelpRequest.kind == kind,
            col(HelpRequest.handled_at).is_(None),
        )
    ).first()
    if open_request is None:
        db.add(HelpRequest(person_id=person_id, kind=kind, created_at=now))


def _last_completion(insert: Any) -> Any:
    """A flow finished again keeps its first time and moves its last."""
    return insert.on_conflict_do_update(
        index_elements=["person_id", "flow"], set_={"last_at": insert.excluded.last_at}
    )


COMPLETIONS: sa.Table = Completion.__table__  # type: ignore[attr-defined]


def completion_row(person_id: int, flow: str, now: datetime) -> dict[str, Any]:
    return {"person_id": person_id, "flow": flow, "first_at": now, "last_at": now}


def save_completions(connection: sa.Connection, rows: list[dict[str, Any]]) -> None:
    """First and last completion of flows in one statement: half of all turns end one."""
    insert_rows(connection, COMPLETIONS, rows, _last_completion)


def complete(db: Session, person_id: int, flow: str, now: datetime) -> None:
    save_completions(db.connection(), [completion_row(person_id, flow, now)])
