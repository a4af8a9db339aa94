"""`bot worker` sends what the outbox holds through the configured channels, then stops cleanly."""

from __future__ import annotations

import asyncio
import logging
import re
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.storage.models import Contact, OutboundMessage, Person
from bot.worker import run_worker
from tests.channels.test_twilio_sender import settings_for
from tests.fakes.twilio_api import FakeTwilio
from tests.waiting import wait_until_async


async def test_the_worker_drains_the_outbox_until_told_to_stop(
    tmp_path: Path, sqlite_engine: Engine
) -> None:
    with Session(sqlite_engine) as db, db.begin():
        person = Person(phone="+233241234567", language="en")
        db.add(person)
        db.flush()
        contact = Contact(person_id=person.id, channel="sms", address="+233241234567")  # type: ignore[arg-type]
        db.add(contact)
        db.flush()
        db.add(OutboundMessage(contact_id=contact.id, channel="sms", text="Your call is tomorrow"))  # type: ignore[arg-type]
    with FakeTwilio() as fake:
        stop = asyncio.Event()
        worker = asyncio.create_task(
            run_worker(settings_for(fake, tmp_path, database_url=str(sqlite_engine.url)), stop=stop)
        )
        await wait_until_async(lambda: fake.created, message="the fake Twilio to get the SMS")
        stop.set()
        await asyncio.wait_for(worker, timeout=10)
        assert [r.form["Body"] for r in fake.created] == ["Your call is tomorrow"]
    with Session(sqlite_engine) as db:
        assert db.exec(select(OutboundMessage.status)).one() == "sent"


async def test_two_workers_one_scheduler(
    tmp_path: Path, sqlite_engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    """The first worker leads the reminder scheduler (its jobs are stored); the second waits."""
    from bot.config import Settings
    from bot.reminders.leader import SchedulerLock
    from bot.worker import lead_scheduler

    caplog.set_level(logging.INFO)  # the workers' and APScheduler's lines are what we wait for

    def logged(pattern: str) -> bool:
        return any(re.search(pattern, record.getMessage()) for record in caplog.records)

    settings = Settings(
        _env_file=None, database_url=str(sqlite_engine.url), reminder_sync_seconds=5
    )  # type: ignore[call-arg]
    stop = asyncio.Event()
    first = asyncio.create_task(lead_scheduler(sqlite_engine, settings, stop, retry_seconds=0.1))
    await wait_until_async(
        lambda: logged("reminder scheduler started"), message="the first worker to lead"
    )
    assert not SchedulerLock(sqlite_engine).acquire()  # held by the first worker
    second = asyncio.create_task(lead_scheduler(sqlite_engine, settings, stop, retry_seconds=0.1))
    await wait_until_async(
        lambda: logged("this one only dispatches") and logged('^Job "sync_jobs .* successfully'),
        message="the second worker to be refused the lock and the sync job to run once",
    )
    with sqlite_engine.connect() as connection:
        import sqlalchemy as sa

        jobs = connection.execute(sa.text("SELECT id FROM apscheduler_jobs")).scalars().all()
    assert "reminders:sync" in jobs
    stop.set()
    await asyncio.wait_for(asyncio.gather(first, second), timeout=5)
    lock = SchedulerLock(sqlite_engine)
    assert lock.acquire()  # released on stop
    lock.release()


async def test_the_worker_queues_and_sends_a_confirmed_broadcast(
    tmp_path: Path, sqlite_engine: Engine
) -> None:
    from datetime import UTC, datetime

    from bot.storage.models import Broadcast

    with Session(sqlite_engine) as db, db.begin():
        for number in ("+233241234561", "+233241234562"):
            person = Person(phone=number, language="en", country="GH", consent_at=datetime.now(UTC))
            db.add(person)
            db.flush()
            assert person.id is not None
            db.add(Contact(person_id=person.id, channel="sms", address=number))
        db.add(Broadcast(country="GH", audience="all", text="The national call is on Friday."))
    with FakeTwilio() as fake:
        stop = asyncio.Event()
        settings = settings_for(
            fake, tmp_path, database_url=str(sqlite_engine.url), broadcast_poll_seconds=0.1
        )
        worker = asyncio.create_task(run_worker(settings, stop=stop))
        await wait_until_async(
            lambda: len(fake.created) >= 2, message="the fake Twilio to get both broadcast SMS"
        )
        stop.set()
        await asyncio.wait_for(worker, timeout=10)
        assert sorted(r.to for r in fake.created) == ["+233241234561", "+233241234562"]
    with Session(sqlite_engine) as db:
        assert db.exec(select(Broadcast.status)).one() == "queued"
