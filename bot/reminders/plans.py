"""Which reminders exist: for each event, the offsets its kind of call has."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, select

from bot.storage.models import Event, ReminderPlan, utcnow


@dataclass(frozen=True)
class Planned:
    event: Event
    offset_minutes: int

    @property
    def nominal(self) -> datetime:
        """When the reminder is due, before any quiet-hours shift."""
        return self.event.starts_at - timedelta(minutes=self.offset_minutes)

    @property
    def job_id(self) -> str:
        return f"reminder:{self.event.id}:{self.offset_minutes}"


def offsets_by_kind(db: Session, default: Sequence[int]) -> dict[str, list[int]]:
    plans = {plan.kind: list(plan.offsets) for plan in db.exec(select(ReminderPlan)).all()}
    return {kind: plans.get(kind, list(default)) for kind in ("national", "international", "ga")}


def planned(db: Session, default: Sequence[int], event_id: str | None = None) -> list[Planned]:
    offsets = offsets_by_kind(db, default)
    query = select(Event).order_by(Event.starts_at)  # type: ignore[arg-type]
    if event_id is not None:
        query = query.where(Event.id == event_id)
    return [
        Planned(event, minutes)
        for event in db.exec(query).all()
        for minutes in sorted(set(offsets.get(event.kind, default)), reverse=True)
    ]


def set_offsets(
    db: Session, kind: str, minutes: Sequence[int], now: datetime | None = None
) -> None:
    plan = db.get(ReminderPlan, kind) or ReminderPlan(kind=kind)
    plan.offsets, plan.updated_at = sorted(set(minutes), reverse=True), now or utcnow()
    db.add(plan)
