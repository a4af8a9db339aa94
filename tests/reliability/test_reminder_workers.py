"""Reminders with workers dying and doubling: each reminder queued exactly once per person.

Two workers start by mistake (one leads the scheduler, the other only dispatches); the one that
leads is killed with SIGKILL after the reminder was scheduled and before it fires; a third
starts. The job lives in the database, the lock moves on, and the firing queues one row per
person — then a fourth worker after the firing adds nothing.

Each step waits for what the next one needs (a log line, a stored job, rows), never for a
fixed time: start-up alone can take many seconds on a loaded machine. The call is added only
once both workers are up, so that start-up does not eat into the time before the firing.
"""

from __future__ import annotations

import re
import subprocess
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from sqlmodel import Session, select

from bot.storage.db import make_engine
from bot.storage.models import Contact, Event, OutboundMessage, Person
from tests.fakes.twilio_api import FakeTwilio
from tests.reliability.helpers import worker_process
from tests.waiting import wait_until

PEOPLE = 300
OFFSET = 2  # minutes before the call
FIRES_IN = 14.0  # seconds after the call is added: the job runs an hour ahead of its nominal time
JOB_ID = f"reminder:gh-national-1:{OFFSET}"
LEADS = "reminder scheduler started"
FOLLOWS = "this one only dispatches"
SYNCED = re.compile(r'Job "sync_jobs .*" executed successfully')  # APScheduler, at INFO
TAKEOVER = 120.0  # the first worker retries the lock every 30 s; start-up under load on top

SETTINGS = {
    "REMINDER_OFFSETS_MINUTES": f"[{OFFSET}]",
    "REMINDER_SYNC_SECONDS": "5",
    "QUIET_HOURS_START": "00:00",
    "QUIET_HOURS_END": "00:00",
    "LOG_LEVEL": "INFO",
}


def _people(database_url: str, now: datetime) -> None:
    engine = make_engine(database_url)
    with engine.begin() as connection:
        connection.execute(
            sa.insert(Person.__table__),  # type: ignore[attr-defined]
            [
                {
                    "id": i + 1,
                    "phone": f"+23324{i:07d}",
                    "language": "en",
                    "country": "GH",
                    "timezone": "Africa/Accra",
                    "consent_at": now,
                    "reminders": "all",
                }
                for i in range(PEOPLE)
            ],
        )
        connection.execute(
            sa.insert(Contact.__table__),  # type: ignore[attr-defined]
            [
                {"person_id": i + 1, "channel": "sms", "address": f"+23324{i:07d}"}
                for i in range(PEOPLE)
            ],
        )
    engine.dispose()


def _add_call(database_url: str, now: datetime) -> datetime:
    """The Ghana call, its reminder due FIRES_IN seconds from `now`; returns when it is due."""
    # The job runs `quiet hours + 1 h` ahead of the nominal moment (here: no quiet hours).
    starts = now + timedelta(hours=1, minutes=OFFSET, seconds=FIRES_IN)
    engine = make_engine(database_url)
    with Session(engine) as db, db.begin():
        db.add(
            Event(
                id="gh-national-1",
                kind="national",
                country="GH",
                starts_at=starts,
                title={"en": "Ghana national call"},
                join_url="https://meet.example.org/gh1",
            )
        )
    engine.dispose()
    return now + timedelta(seconds=FIRES_IN)


def _reminders(database_url: str) -> Counter[int]:
    engine = make_engine(database_url)
    with Session(engine) as db:
        found = db.exec(
            select(OutboundMessage.contact_id).where(OutboundMessage.kind == "reminder")
        ).all()
    engine.dispose()
    return Counter(found)


def _stored_jobs(database_url: str) -> list[str]:
    engine = make_engine(database_url)
    with engine.connect() as connection:
        found = connection.execute(sa.text("SELECT id FROM apscheduler_jobs")).scalars().all()
    engine.dispose()
    return list(found)


def _text(log: Path) -> str:
    return log.read_text() if log.exists() else ""


def _placed(log: Path) -> bool:
    """The worker has taken its place: it leads the scheduler, or says it only dispatches."""
    text = _text(log)
    return LEADS in text or FOLLOWS in text


def _settled(log: Path) -> bool:
    """The worker only dispatches, or it leads and has run a sync of its own."""
    text = _text(log)
    return FOLLOWS in text or (LEADS in text and SYNCED.search(text) is not None)


def _syncs(logs: list[Path]) -> int:
    """Syncs of the reminder jobs run so far, by any worker."""
    return sum(len(SYNCED.findall(_text(log))) for log in logs)


def _tails(logs: list[Path]) -> str:
    return "".join(f"\n--- {log.name}:\n{_text(log)[-1500:]}" for log in logs)


def test_each_reminder_is_queued_once_across_restarts_and_doubles(
    database_url: str, tmp_path: Path, figure: Callable[[str], None]
) -> None:
    _people(database_url, datetime.now(UTC))
    logs = [tmp_path / f"worker{i}.log" for i in range(4)]
    workers: list[subprocess.Popen[bytes]] = []
    with FakeTwilio() as fake:
        try:
            workers += [
                worker_process(database_url, fake, logs[0], **SETTINGS),
                worker_process(database_url, fake, logs[1], **SETTINGS),
            ]
            wait_until(
                lambda: all(_placed(log) for log in logs[:2]),
                message=lambda: f"both workers to lead or only dispatch{_tails(logs[:2])}",
            )
            leading = [i for i, log in enumerate(logs[:2]) if LEADS in _text(log)]
            assert len(leading) == 1, f"{len(leading)} of 2 workers lead{_tails(logs[:2])}"
            (leader,) = leading
            due = _add_call(database_url, datetime.now(UTC))
            wait_until(
                lambda: JOB_ID in _stored_jobs(database_url),
                interval=0.1,
                message=lambda: f"the leader to store {JOB_ID}{_tails(logs[:2])}",
            )
            # The scenario needs the kill before the firing. A sync comes every 5 s: only a
            # machine stalled for most of FIRES_IN gets here late, and this says so.
            assert datetime.now(UTC) < due, f"the job was stored after it was due ({due})"
            workers[leader].kill()
            workers[leader].wait()
            queued_before_firing = sum(_reminders(database_url).values())
            workers.append(worker_process(database_url, fake, logs[2], **SETTINGS))
            # One firing queues everyone in one transaction: the first rows seen are all of it.
            after_firing = wait_until(
                lambda: _reminders(database_url),
                timeout=TAKEOVER,
                interval=0.2,
                message=lambda: f"a surviving worker to fire the reminder{_tails(logs[:3])}",
            )
            syncs = _syncs(logs)
            workers.append(worker_process(database_url, fake, logs[3], **SETTINGS))
            # Then whatever the newest worker or the leader's later syncs would queue is in: a
            # sync may re-add the job, which runs at once and is over before the next sync.
            wait_until(
                lambda: _settled(logs[3]) and _syncs(logs) >= syncs + 2,
                message=lambda: f"the fourth worker to settle and two more syncs{_tails(logs)}",
            )
            final = _reminders(database_url)
        finally:
            for worker in workers:
                if worker.poll() is None:
                    worker.terminate()
            for worker in workers:
                worker.wait(timeout=30)
    leaders = sum(LEADS in _text(log) for log in logs)
    figure(
        f"reminders with workers killed and doubled: {len(final)} people, "
        f"{sum(final.values())} reminder rows ({queued_before_firing} before the firing); "
        f"{leaders} workers led the scheduler in turn"
    )
    assert queued_before_firing == 0
    assert len(after_firing) == PEOPLE and set(after_firing.values()) == {1}
    assert final == after_firing
    assert leaders >= 2  # the lock moved on after the kill
