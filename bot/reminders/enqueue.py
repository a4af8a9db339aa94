"""Firing a reminder: one outbox row per recipient, in one pass, each at its own moment.

Every row has a unique key (event, its start, offset, person): firing twice (a restart, a
misfire, two workers) inserts nothing new. Rows wait in the outbox until their delivery time.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, func, select

from bot.config import Settings
from bot.i18n.formatting import Reader
from bot.reminders.messages import Written, reminder_message
from bot.reminders.plans import Planned
from bot.reminders.recipients import Recipient, recipients
from bot.reminders.timing import QuietHours, delivery_time
from bot.storage.models import Event, OutboundMessage

log = logging.getLogger(__name__)
REMINDER_PRIORITY = 5  # after replies, before broadcasts
CHUNK = 2000
PAGE = 50


@dataclass(frozen=True)
class Fired:
    recipients: int
    created: int
    already_there: int
    too_late: int


def reminder_key(planned: Planned, person_id: int) -> str:
    starts = int(planned.event.starts_at.timestamp())
    return f"reminder:{planned.event.id}:{starts}:{planned.offset_minutes}:{person_id}"


def fire(db: Session, planned: Planned, now: datetime, settings: Settings) -> Fired:
    event = planned.event
    if now >= event.starts_at:
        log.warning("reminder %s skipped: the call has started", planned.job_id)
        return Fired(0, 0, 0, 0)
    quiet = QuietHours.parse(settings.quiet_hours_start, settings.quiet_hours_end)
    grace = timedelta(minutes=settings.reminder_grace_minutes)
    people = recipients(db, event)
    written: dict[tuple[Any, ...], Written] = {}
    rows, passed = [], []
    for person in people:
        deliver = delivery_time(planned.nominal, person.timezone, quiet)
        if deliver < now - grace:
            passed.append(person)  # its moment passed (downtime, or a quiet-hours shift)
            continue
        text = _written(written, event, person)
        rows.append(_row(planned, person, text, max(deliver, now), now))
    created = insert_new(db, rows)
    # An earlier firing may have queued someone whose moment has passed since: not skipped.
    late = len(passed) - _queued(db, [reminder_key(planned, p.person_id) for p in passed])
    if late:
        log.warning("reminder %s: %s people skipped, too late for them", planned.job_id, late)
    log.info("reminder %s: %s queued for %s people", planned.job_id, created, len(people))
    return Fired(len(people), created, len(people) - late - created, late)


def _queued(db: Session, keys: list[str]) -> int:
    """How many of these reminder rows are already in the outbox."""
    found = 0
    for start in range(0, len(keys), CHUNK):
        chunk = keys[start : start + CHUNK]
        found += db.exec(
            select(func.count())
            .select_from(OutboundMessage)
            .where(col(OutboundMessage.dedupe_key).in_(chunk))
        ).one()
    return found


def _written(cache: dict[tuple[Any, ...], Written], event: Event, person: Recipient) -> Written:
    key = (person.channel, person.language, person.country, person.timezone, person.zawgyi)
    if key not in cache:
        reader = Reader(person.language, person.country, person.timezone, person.zawgyi)
        cache[key] = reminder_message(event, reader, person.channel)
    return cache[key]


def _row(
    planned: Planned, person: Recipient, written: Written, deliver: datetime, now: datetime
) -> dict[str, Any]:
    return {
        "contact_id": person.contact_id,
        "channel": person.channel,
        "kind": "reminder",
        "priority": REMINDER_PRIORITY,
        "text": written.text,
        "payload": {
            "event_id": planned.event.id,
            "offset": planned.offset_minutes,
            "expires_at": planned.event.starts_at.isoformat(),
            "template_variables": written.template_variables,
        },
        "dedupe_key": reminder_key(planned, person.person_id),
        "status": "queued",
        "attempts": 0,
        "next_attempt_at": deliver,
        "created_at": now,
        "updated_at": now,
    }


def insert_new(db: Session, rows: list[dict[str, Any]]) -> int:
    """Insert the rows whose dedupe key is new; returns how many were inserted.

    One statement compiled once, executed with many parameter sets (SQLAlchemy batches them
    into multi-row INSERTs): compiling a statement per batch of rows costs more than the insert.
    """
    if not rows:
        return 0
    table = OutboundMessage.__table__  # type: ignore[attr-defined]
    dialect = db.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    new_only = insert(table).on_conflict_do_nothing(index_elements=["dedupe_key"])
    # psycopg parses each distinct SQL text; pages this small repeat one cached text.
    statement = new_only.returning(table.c.id).execution_options(insertmanyvalues_page_size=PAGE)
    connection = db.connection()
    created = 0
    for start in range(0, len(rows), CHUNK):
        created += len(connection.execute(statement, rows[start : start + CHUNK]).all())
    return created


def cancel_stale(db: Session, events: Iterable[Event], now: datetime) -> int:
    """Queued reminders for a call that moved or was removed must never go out."""
    current = {e.id: int(e.starts_at.timestamp()) for e in events}
    stale = []
    pending = select(OutboundMessage).where(
        OutboundMessage.kind == "reminder", OutboundMessage.status == "queued"
    )
    for row in db.exec(pending).all():
        _, event_id, starts, *_ = (row.dedupe_key or "").split(":")
        if current.get(event_id) != int(starts or 0):
            row.status, row.updated_at = "skipped", now
            row.error = "the call moved" if event_id in current else "the call was removed"
            stale.append(row)
    db.add_all(stale)
    return len(stale)
