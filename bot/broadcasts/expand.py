"""Turning a broadcast into outbox rows: one per recipient, resumable, never twice.

Each row's key is (broadcast, person): if the worker dies midway, the next run inserts only
the rows still missing. Rows are committed in chunks, so progress survives a crash.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, func, select

from bot.broadcasts.audience import Audience, reach
from bot.reminders.enqueue import insert_new
from bot.reminders.recipients import Recipient
from bot.storage.audit import audit
from bot.storage.models import Broadcast, OutboundMessage, utcnow
from bot.storage.outbox import BULK_PRIORITY

log = logging.getLogger(__name__)
CHUNK = 5000
# The same text to the same person this many times within LOOP_WINDOW is a loop, not news.
LOOP_LIMIT = 3
LOOP_WINDOW = timedelta(minutes=10)


def create(
    db: Session, audience: Audience, text: str, actor: str, now: datetime, by: int | None = None
) -> Broadcast:
    """A confirmed broadcast, pending until a worker (or the CLI) expands it; audited."""
    broadcast = Broadcast(
        created_by=by,
        country=audience.country,
        audience=audience.kind,
        event_id=audience.event_id,
        text=text,
        created_at=now,
    )
    db.add(broadcast)
    db.flush()
    audit(
        db,
        actor,
        "broadcast",
        f"broadcast:{broadcast.id}",
        now,
        country=audience.country,
        audience=audience.kind,
        event=audience.event_id,
    )
    return broadcast


def audience(broadcast: Broadcast) -> Audience:
    return Audience(broadcast.country, broadcast.audience, broadcast.event_id)


def expand(
    engine: Engine,
    broadcast_id: int,
    now: datetime | None = None,
    progress: Callable[[int, int], None] = lambda done, total: None,
) -> int:
    """Queue the broadcast for everyone it reaches; returns how many rows were new."""
    now = now or utcnow()
    with Session(engine, expire_on_commit=False) as db:
        broadcast = db.get(Broadcast, broadcast_id)
        if broadcast is None or broadcast.status == "queued":
            return 0
        people = reach(db, audience(broadcast))
        looping = _looping(db, broadcast.text, now)
    people = [p for p in people if p.contact_id not in looping]
    created = 0
    for start in range(0, len(people), CHUNK):
        rows = [_row(broadcast, p, now) for p in people[start : start + CHUNK]]
        with Session(engine) as db, db.begin():
            created += insert_new(db, rows)
        progress(min(start + CHUNK, len(people)), len(people))
    with Session(engine) as db, db.begin():
        done = db.get(Broadcast, broadcast_id)
        assert done is not None
        done.status, done.recipients, done.expanded_at = "queued", len(people), now
        db.add(done)
    if looping:
        log.warning(
            "broadcast %s: %s contacts skipped by the loop guard", broadcast_id, len(looping)
        )
    return created


def expand_pending(engine: Engine, now: datetime | None = None) -> int:
    with Session(engine) as db:
        pending = db.exec(select(Broadcast.id).where(Broadcast.status == "pending")).all()
    return sum(expand(engine, broadcast_id, now) for broadcast_id in pending if broadcast_id)


def _row(broadcast: Broadcast, person: Recipient, now: datetime) -> dict[str, Any]:
    return {
        "contact_id": person.contact_id,
        "channel": person.channel,
        "kind": "broadcast",
        "priority": BULK_PRIORITY,
        "text": broadcast.text,
        "payload": {"template_variables": {"1": broadcast.text}},
        "broadcast_id": broadcast.id,
        "dedupe_key": f"broadcast:{broadcast.id}:{person.person_id}",
        "status": "queued",
        "attempts": 0,
        "next_attempt_at": now,
        "created_at": now,
        "updated_at": now,
    }


def _looping(db: Session, text: str, now: datetime) -> set[int]:
    """Contacts that already got this exact text LOOP_LIMIT times in the last minutes."""
    recent = db.exec(
        select(OutboundMessage.contact_id)
        .where(OutboundMessage.text == text, col(OutboundMessage.created_at) >= now - LOOP_WINDOW)
        .group_by(col(OutboundMessage.contact_id))
        .having(func.count() >= LOOP_LIMIT)
    ).all()
    return set(recent)
