"""`bot worker` sends what the outbox holds through the configured channels, then stops cleanly."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.storage.models import Contact, OutboundMessage, Person
from bot.worker import run_worker
from tests.channels.test_twilio_sender import settings_for
from tests.fakes.twilio_api import FakeTwilio


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
        for _ in range(200):
            if fake.created:
                break
            await asyncio.sleep(0.05)
        stop.set()
        await asyncio.wait_for(worker, timeout=10)
        assert [r.form["Body"] for r in fake.created] == ["Your call is tomorrow"]
    with Session(sqlite_engine) as db:
        assert db.exec(select(OutboundMessage.status)).one() == "sent"
