"""The one reminder scheduler: APScheduler 3 with its jobs in our database.

Jobs are per event and offset (`reminder:<event>:<minutes>`), added with explicit ids and
`replace_existing`. A sync job, every minute, makes the jobs match the events table, so an
import or a removal from the CLI (another process, which must never touch the job store)
reschedules within a minute. Each reminder job runs ahead of its nominal time (by the length
of quiet hours plus an hour) and queues rows that wait in the outbox until their moment.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from apscheduler.jobstores.base import JobLookupError
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.config import Settings
from bot.reminders.enqueue import Fired, cancel_stale, fire
from bot.reminders.plans import Planned, planned
from bot.reminders.timing import QuietHours, job_lead
from bot.storage.models import utcnow

log = logging.getLogger(__name__)
JOB_TABLE = "apscheduler_jobs"
SYNC_JOB = "reminders:sync"


@dataclass
class Runtime:
    """What the pickled jobs need at run time (jobs may only name module-level functions)."""

    engine: Engine | None = None
    settings: Settings | None = None
    clock: Callable[[], datetime] = utcnow
    scheduler: AsyncIOScheduler | None = None
    fingerprint: frozenset[tuple[str, float]] = field(default_factory=frozenset)


RUNTIME = Runtime()


def fire_reminder(event_id: str, offset_minutes: int) -> Fired | None:
    """The reminder job: queue this offset's reminders for every recipient, once."""
    engine, settings = RUNTIME.engine, RUNTIME.settings
    assert engine is not None and settings is not None
    with Session(engine, expire_on_commit=False) as db, db.begin():
        found = [p for p in planned(db, settings.reminder_offsets_minutes, event_id)]
        target = next((p for p in found if p.offset_minutes == offset_minutes), None)
        if target is None:
            log.info("reminder job for %s/%s: no such reminder any more", event_id, offset_minutes)
            return None
        return fire(db, target, RUNTIME.clock(), settings)


def sync_jobs() -> None:
    """Make the scheduler's jobs match the events and plans in the database."""
    engine, settings, scheduler = RUNTIME.engine, RUNTIME.settings, RUNTIME.scheduler
    assert engine is not None and settings is not None and scheduler is not None
    now = RUNTIME.clock()
    lead = job_lead(QuietHours.parse(settings.quiet_hours_start, settings.quiet_hours_end))
    with Session(engine, expire_on_commit=False) as db, db.begin():
        wanted = {p.job_id: p for p in planned(db, settings.reminder_offsets_minutes)}
        fingerprint = frozenset(
            (p.event.id, p.event.starts_at.timestamp()) for p in wanted.values()
        )
        if fingerprint != RUNTIME.fingerprint:  # something moved or went: drop its queued rows
            cancel_stale(db, {p.event.id: p.event for p in wanted.values()}.values(), now)
            RUNTIME.fingerprint = fingerprint
    for job in scheduler.get_jobs():
        if job.id.startswith("reminder:") and job.id not in wanted:
            _remove(scheduler, job.id)
    for job_id, item in wanted.items():
        if item.event.starts_at <= now:
            _remove(scheduler, job_id)
            continue
        schedule(scheduler, item, max(item.nominal - lead, now), settings)


def schedule(
    scheduler: AsyncIOScheduler, item: Planned, run_at: datetime, settings: Settings
) -> None:
    existing = scheduler.get_job(item.job_id)
    if existing is not None and existing.next_run_time == run_at:
        return  # unchanged: leave the stored job alone
    scheduler.add_job(
        fire_reminder,
        trigger="date",
        run_date=run_at,
        args=(item.event.id, item.offset_minutes),
        id=item.job_id,
        replace_existing=True,
        # Late is still useful until the call starts; who is too late is decided per person.
        misfire_grace_time=max(int((item.event.starts_at - run_at).total_seconds()), 1),
        coalesce=True,
    )


def _remove(scheduler: AsyncIOScheduler, job_id: str) -> None:
    with contextlib.suppress(JobLookupError):
        scheduler.remove_job(job_id)


def build_scheduler(
    engine: Engine, settings: Settings, clock: Callable[[], datetime] = utcnow
) -> AsyncIOScheduler:
    """The scheduler, its job store on our database, and the minute-by-minute sync job."""
    scheduler = AsyncIOScheduler(
        jobstores={"default": SQLAlchemyJobStore(engine=engine, tablename=JOB_TABLE)},
        timezone="UTC",
    )
    RUNTIME.engine, RUNTIME.settings, RUNTIME.clock = engine, settings, clock
    RUNTIME.scheduler, RUNTIME.fingerprint = scheduler, frozenset()
    scheduler.add_job(
        sync_jobs,
        trigger="interval",
        seconds=settings.reminder_sync_seconds,
        id=SYNC_JOB,
        replace_existing=True,
        next_run_time=clock() + timedelta(seconds=1),
        coalesce=True,
        max_instances=1,
    )
    return scheduler
