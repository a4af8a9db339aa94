"""Reminders with workers dying and doubling: each reminder queued exactly once per person.

Two workers start by mistake (one leads the scheduler, the other only dispatches); the one that
leads is killed with SIGKILL after the reminder was scheduled and before it fires; a third
starts. The job lives in the database, the lock moves on, and the firing queues one row per
person — then a fourth worker after the firing adds nothing.
"""

from __future__ import annotations

import subprocess
import time
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

PEOPLE = 300
OFFSET = 2  # minutes before the call
FIRES_IN = 14.0  # seconds from now: the job runs an hour ahead of its nominal time

SETTINGS = {
    "REMINDER_OFFSETS_MINUTES": f"[{OFFSET}]",
    "REMINDER_SYNC_SECONDS": "5",
    "QUIET_HOURS_START": "00:00",
    "QUIET_HOURS_END": "00:00",
    "LOG_LEVEL": "INFO",
}


def _setup(database_url: str, now: datetime) -> None:
    engine = make_engine(database_url)
    # The job runs `quiet hours + 1 h` ahead of the nominal moment (here: no quiet hours).
    starts = now + timedelta(hours=1, minutes=OFFSET, seconds=FIRES_IN)
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


def _reminders(database_url: str) -> Counter[int]:
    engine = make_engine(database_url)
    with Session(engine) as db:
        found = db.exec(
            select(OutboundMessage.contact_id).where(OutboundMessage.kind == "reminder")
        ).all()
    engine.dispose()
    return Counter(found)


def _leader(logs: list[Path]) -> int:
    for index, log in enumerate(logs):
        if log.exists() and "reminder scheduler started" in log.read_text():
            return index
    raise AssertionError("no worker leads the scheduler")


def test_each_reminder_is_queued_once_across_restarts_and_doubles(
    database_url: str, tmp_path: Path, figure: Callable[[str], None]
) -> None:
    started = datetime.now(UTC)
    _setup(database_url, started)
    logs = [tmp_path / f"worker{i}.log" for i in range(4)]
    workers: list[subprocess.Popen[bytes]] = []
    with FakeTwilio() as fake:
        try:
            workers += [
                worker_process(database_url, fake, logs[0], **SETTINGS),
                worker_process(database_url, fake, logs[1], **SETTINGS),
            ]
            time.sleep(5)  # both up; the leader has synced the job into the store
            leader = _leader(logs[:2])
            workers[leader].kill()
            workers[leader].wait()
            queued_before_firing = sum(_reminders(database_url).values())
            workers.append(worker_process(database_url, fake, logs[2], **SETTINGS))
            while (datetime.now(UTC) - started).total_seconds() < FIRES_IN + 6:
                time.sleep(0.5)
            after_firing = _reminders(database_url)
            workers.append(worker_process(database_url, fake, logs[3], **SETTINGS))
            time.sleep(7)  # the newest worker runs a sync of its own, if it leads
            final = _reminders(database_url)
        finally:
            for worker in workers:
                if worker.poll() is None:
                    worker.terminate()
            for worker in workers:
                worker.wait(timeout=30)
    leaders = sum("reminder scheduler started" in log.read_text() for log in logs if log.exists())
    figure(
        f"reminders with workers killed and doubled: {len(final)} people, "
        f"{sum(final.values())} reminder rows ({queued_before_firing} before the firing); "
        f"{leaders} workers led the scheduler in turn"
    )
    assert queued_before_firing == 0
    assert len(after_firing) == PEOPLE and set(after_firing.values()) == {1}
    assert final == after_firing
    assert leaders >= 2  # the lock moved on after the kill
