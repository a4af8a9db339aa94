"""Who gets an event's reminders: consenting, not stopped, in its country, wanting them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from bot.storage.models import Contact, Event, Person, ReminderChoice


@dataclass(frozen=True)
class Recipient:
    person_id: int
    contact_id: int
    channel: str
    language: str
    country: str | None
    timezone: str | None
    zawgyi: bool


# The columns `one_contact_each` reads, in its order.
RECIPIENT_COLUMNS = tuple(
    col(c)
    for c in (
        Person.id,
        Person.language,
        Person.country,
        Person.timezone,
        Person.zawgyi,
        Contact.id,
        Contact.channel,
        Contact.last_inbound_at,
    )
)


def recipients(db: Session, event: Event) -> list[Recipient]:
    """One reachable contact per person: the one they wrote from last."""
    choices = dict(
        db.exec(
            select(ReminderChoice.person_id, ReminderChoice.wanted).where(
                ReminderChoice.event_id == event.id
            )
        ).all()
    )
    person_id, *rest = RECIPIENT_COLUMNS
    query = (
        sa.select(person_id, col(Person.reminders), *rest)
        .join(Contact, col(Contact.person_id) == col(Person.id))
        .where(
            col(Person.consent_at).is_not(None),
            col(Person.opted_out_at).is_(None),
            col(Person.reminders) != "none",
            col(Person.forgotten_at).is_(None),
            col(Contact.unreachable_at).is_(None),
        )
    )
    if event.country is not None:
        query = query.where(col(Person.country) == event.country)
    wanted = []
    for row in db.connection().execute(query).all():
        person_id, pref, *rest = tuple(row)
        choice = choices.get(person_id)
        if choice is False or (pref == "chosen" and choice is not True):
            continue
        wanted.append((person_id, *rest))
    return one_contact_each(wanted)


def one_contact_each(rows: Iterable[tuple[Any, ...]]) -> list[Recipient]:
    """Rows of (person, language, country, zone, zawgyi, contact, channel, last inbound):
    each person once, at the contact they wrote from last."""
    best: dict[int, tuple[datetime | None, Recipient]] = {}
    for person_id, language, country, zone, zawgyi, contact_id, channel, last in rows:
        recipient = Recipient(
            person_id, contact_id, channel, language or "en", country, zone, zawgyi
        )
        if person_id not in best or _later(last, best[person_id][0]):
            best[person_id] = (last, recipient)
    return [recipient for _, recipient in best.values()]


def _later(candidate: datetime | None, current: datetime | None) -> bool:
    return candidate is not None and (current is None or candidate > current)
