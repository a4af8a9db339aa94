"""`bot reminders send-due` and `bot reminders list`: reminders as an operator sees them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.config import Settings
from bot.reminders.enqueue import Fired, fire
from bot.reminders.plans import Planned, planned
from bot.reminders.recipients import recipients
from bot.reminders.timing import QuietHours, job_lead


@dataclass(frozen=True)
class Due:
    planned: Planned
    fired: Fired


def send_due(engine: Engine, settings: Settings, now: datetime) -> list[Due]:
    """Fire every reminder whose job would have run by `now`, for a call not yet started."""
    lead = job_lead(QuietHours.parse(settings.quiet_hours_start, settings.quiet_hours_end))
    grace = timedelta(minutes=settings.reminder_grace_minutes)
    done = []
    with Session(engine, expire_on_commit=False) as db, db.begin():
        for item in planned(db, settings.reminder_offsets_minutes):
            # Quiet hours only ever move a reminder earlier: past its grace, it is over.
            if item.nominal - lead <= now <= item.nominal + grace and now < item.event.starts_at:
                done.append(Due(item, fire(db, item, now, settings)))
    return done


@dataclass(frozen=True)
class Row:
    planned: Planned
    recipients: int


def overview(engine: Engine, settings: Settings, event_id: str | None = None) -> list[Row]:
    with Session(engine, expire_on_commit=False) as db:
        items = planned(db, settings.reminder_offsets_minutes, event_id)
        events = {item.event.id: item.event for item in items}
        counts = {event_id: len(recipients(db, event)) for event_id, event in events.items()}
    return [Row(item, counts[item.event.id]) for item in items]
