"""Reminder fan-out: one reminder firing for N subscribed people, on SQLite and PostgreSQL.

    .venv/bin/python bench/reminder_fanout.py [--people 100000] [--database sqlite|postgres|both]

Prints the time to queue every outbox row for one firing (recipients selected, texts written
once per group of readers, rows inserted with their unique keys), the time for a second firing
(which must queue nothing), and how many scheduler jobs the sample schedule needs (per event and
offset: it must not grow with the number of people).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from sqlmodel import Session

from bot.config import Settings
from bot.content_import import import_schedule
from bot.demo import SAMPLES
from bot.reminders.enqueue import fire
from bot.reminders.plans import planned
from bot.reminders.scheduler import build_scheduler, sync_jobs
from bot.storage.db import make_engine
from bot.storage.migrate import upgrade
from bot.storage.models import Contact, Person

POSTGRES = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
LANGUAGES = [
    ("TH", "th", "Asia/Bangkok"),
    ("ID", "id", "Asia/Jakarta"),
    ("VN", "vi", "Asia/Ho_Chi_Minh"),
    ("MM", "my", "Asia/Yangon"),
    ("BR", "pt_BR", "America/Sao_Paulo"),
    ("CI", "fr", "Africa/Abidjan"),
    ("GH", "en", "Africa/Accra"),
]
CHANNELS = ("sms", "whatsapp", "telegram")
GA = datetime(2027, 9, 23, 12, 0, tzinfo=UTC)


def people(engine: sa.Engine, count: int) -> None:
    """N consenting people across the seven countries and three channels, inserted in bulk."""
    now = datetime(2027, 1, 1, tzinfo=UTC)
    person_rows, contact_rows = [], []
    for i in range(count):
        country, language, zone = LANGUAGES[i % len(LANGUAGES)]
        person_rows.append(
            {
                "id": i + 1,
                "language": language,
                "country": country,
                "timezone": zone,
                "consent_at": now,
                "zawgyi": False,
                "role": "smallholder",
                "reminders": "all",
                "created_at": now,
                "updated_at": now,
            }
        )
        contact_rows.append(
            {
                "person_id": i + 1,
                "channel": CHANNELS[i % 3],
                "address": f"+1555{i:07d}",
                "created_at": now,
                "last_inbound_at": now,
            }
        )
    with engine.begin() as connection:
        for start in range(0, count, 5000):
            connection.execute(sa.insert(Person.__table__), person_rows[start : start + 5000])  # type: ignore[attr-defined]
            connection.execute(sa.insert(Contact.__table__), contact_rows[start : start + 5000])  # type: ignore[attr-defined]


def measure(name: str, url: str, count: int, schema: str | None = None) -> None:
    engine = make_engine(
        url, **({"connect_args": {"options": f"-csearch_path={schema}"}} if schema else {})
    )
    upgrade(engine)
    settings = Settings(_env_file=None, database_url=url)  # type: ignore[call-arg]
    with Session(engine) as db, db.begin():
        import_schedule(db, SAMPLES / "schedule.yaml")
    people(engine, count)
    with Session(engine, expire_on_commit=False) as db:
        ga_reminder = next(
            p for p in planned(db, [1440, 60]) if p.event.kind == "ga" and p.offset_minutes == 60
        )
    moment = GA - timedelta(hours=2)
    for label in ("first firing", "second firing"):
        started = time.perf_counter()
        with Session(engine, expire_on_commit=False) as db, db.begin():
            fired = fire(db, ga_reminder, moment, settings)
        took = time.perf_counter() - started
        print(
            f"{name}: {label}: {fired.created} rows queued for {fired.recipients} people "
            f"({fired.already_there} already there) in {took:.2f} s"
            + (f" = {fired.created / took:,.0f} rows/s" if fired.created else "")
        )
    jobs = count_jobs(engine, settings)
    print(f"{name}: scheduler jobs for the sample schedule: {jobs} (+1 sync job), {count} people")
    engine.dispose()


def count_jobs(engine: sa.Engine, settings: Settings) -> int:
    async def run() -> int:
        scheduler = build_scheduler(
            engine, settings, clock=lambda: datetime(2027, 7, 1, tzinfo=UTC)
        )
        scheduler.start(paused=True)
        sync_jobs()
        found = len([j for j in scheduler.get_jobs() if j.id.startswith("reminder:")])
        scheduler.shutdown(wait=False)
        return found

    return asyncio.run(run())


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--database", choices=["sqlite", "postgres", "both"], default="both")
    args = parser.parse_args()
    python = sys.version.split()[0]
    print(f"reminder fan-out, {args.people} people, Python {python}, {os.cpu_count()} cores")
    if args.database in ("sqlite", "both"):
        with tempfile.TemporaryDirectory() as folder:
            measure("SQLite (WAL)", f"sqlite:///{Path(folder) / 'bench.db'}", args.people)
    if args.database in ("postgres", "both"):
        schema = f"bench_{uuid.uuid4().hex[:8]}"
        admin = make_engine(POSTGRES)
        with admin.begin() as connection:
            connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        try:
            measure("PostgreSQL", POSTGRES, args.people, schema)
        finally:
            with admin.begin() as connection:
                connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()


if __name__ == "__main__":
    main()
