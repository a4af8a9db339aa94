"""Views the flows ask for (`show:` steps), written from the database into plain texts."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

from sqlmodel import Session

from bot.broadcasts.audience import audience_of
from bot.broadcasts.views import preview, report
from bot.engine.events import Event, SendText, Show
from bot.engine.messages import Msg, msg
from bot.storage.models import Person
from bot.storage.privacy import summary


def resolve_views(
    db: Session,
    person: Person,
    events: Iterable[Event],
    now: datetime,
    prices: Mapping[str, float],
) -> tuple[Event, ...]:
    """Each Show becomes the text it stands for, in its place among the turn's events."""
    return tuple(
        SendText(_view(db, person, e, now, prices)) if isinstance(e, Show) else e for e in events
    )


def _view(
    db: Session, person: Person, show: Show, now: datetime, prices: Mapping[str, float]
) -> Msg:
    if show.kind == "my_data":
        return summary(db, person)
    if show.kind == "broadcast_preview":
        audience = audience_of(person.role, person.role_country, show.answers)
        if audience is None:
            return msg("Nobody matches this audience: nothing would be sent.")
        return preview(db, audience, str(show.answers.get("text") or ""), now, prices)
    if show.kind == "delivery_report":
        # The Secretariat oversees every broadcast; a champion sees their own.
        return report(db, None if person.role == "secretariat" else person.id)
    raise ValueError(f"unknown view {show.kind!r}")
