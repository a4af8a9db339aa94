"""Who a broadcast reaches: opted-in smallholders of a country (or all), narrowed by audience.

A champion's broadcasts are always for their own country: the caller passes it, never what
the flow gathered.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from bot.reminders.recipients import (
    RECIPIENT_COLUMNS,
    Recipient,
    one_contact_each,
    recipients,
)
from bot.storage.models import Completion, Contact, Event, Person

AUDIENCES = ("all", "not_tutorial", "event")


@dataclass(frozen=True)
class Audience:
    country: str | None  # None: every country
    kind: str  # all, not_tutorial, event
    event_id: str | None = None


def audience_of(
    role: str, role_country: str | None, answers: Mapping[str, object]
) -> Audience | None:
    """The audience a flow gathered, with a champion's country forced to their own; None for
    anyone who may not broadcast."""
    kind = str(answers.get("audience") or "all")
    event = answers.get("event")
    event_id = str(event.get("id")) if isinstance(event, dict) else None
    if role == "champion" and role_country:
        country: str | None = role_country
    elif role == "secretariat":
        chosen = str(answers.get("country") or "all")
        country = None if chosen == "all" else chosen
    else:
        return None
    return Audience(country, kind if kind in AUDIENCES else "all", event_id)


def reach(db: Session, audience: Audience) -> list[Recipient]:
    if audience.kind == "event":
        event = db.get(Event, audience.event_id or "")
        if event is None:
            return []
        smallholders = set(_smallholder_ids(db, audience.country))
        return [r for r in recipients(db, event) if r.person_id in smallholders]
    query = _base(audience.country)
    if audience.kind == "not_tutorial":
        finished = select(Completion.person_id).where(Completion.flow == "tutorial")
        query = query.where(col(Person.id).not_in(finished))
    return one_contact_each(tuple(row) for row in db.connection().execute(query).all())


def _base(country: str | None) -> Any:  # a Core select of the recipient columns
    query = (
        sa.select(*RECIPIENT_COLUMNS)
        .join(Contact, col(Contact.person_id) == col(Person.id))
        .where(*_opted_in(), col(Contact.unreachable_at).is_(None))
    )
    return query.where(col(Person.country) == country) if country else query


def _opted_in() -> tuple[sa.ColumnElement[bool], ...]:
    return (
        col(Person.role) == "smallholder",
        col(Person.consent_at).is_not(None),
        col(Person.opted_out_at).is_(None),
        col(Person.forgotten_at).is_(None),
    )


def _smallholder_ids(db: Session, country: str | None) -> list[int]:
    query = select(Person.id).where(*_opted_in())
    if country:
        query = query.where(Person.country == country)
    return [i for i in db.exec(query).all() if i is not None]
