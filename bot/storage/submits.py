"""What a confirmed `submit:` step does: queue a broadcast, mark someone helped, erase data.

The flows are gated by role already; every check is repeated here, because a flow file is
data and data can be wrong.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlmodel import Session

from bot.broadcasts.audience import audience_of
from bot.broadcasts.expand import create
from bot.engine.events import Refused, Submit
from bot.storage.audit import audit, person_actor
from bot.storage.followups import mark_helped
from bot.storage.models import Broadcast, Person
from bot.storage.privacy import forget

log = logging.getLogger(__name__)
STAFF = ("champion", "secretariat")


def apply_submit(
    db: Session, person: Person, event: Submit, now: datetime, contact_id: int | None
) -> None:
    actor = person_actor(person.id)
    if event.kind == "forget_me":
        forget(db, person, now, actor, keep_contact=contact_id)
        return
    if person.role not in STAFF:
        audit(db, actor, "refused", None, now, submit=event.kind)
        return
    if event.kind == "broadcast":
        queue_broadcast(db, person, event.answers, now)
    elif event.kind == "helped":
        target = event.item  # the listed person's id
        country = person.role_country if person.role == "champion" else None
        if not (target and target.isdigit()) or not mark_helped(
            db, person, int(target), now, country
        ):
            audit(db, actor, "refused", f"person:{target}", now, submit="helped")
    else:
        log.error("a flow submitted an unknown kind %r", event.kind)


def queue_broadcast(
    db: Session, person: Person, answers: dict[str, object], now: datetime
) -> Broadcast | None:
    """A pending broadcast; the worker expands it into one outbox row per recipient."""
    audience = audience_of(person.role, person.role_country, answers)
    text = str(answers.get("text") or "").strip()
    if audience is None or not text:
        audit(db, person_actor(person.id), "refused", None, now, submit="broadcast")
        return None
    return create(db, audience, text, person_actor(person.id), now, by=person.id)


def refused(db: Session, person: Person, event: Refused, now: datetime) -> None:
    audit(db, person_actor(person.id), "refused", None, now, keyword=event.keyword)
