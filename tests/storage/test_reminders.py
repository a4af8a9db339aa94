"""Reminders end to end on SQLite and PostgreSQL: who, when, exactly once, across restarts."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.config import Settings
from bot.dispatcher import Dispatcher
from bot.reminders.due import overview, send_due
from bot.reminders.leader import SchedulerLock
from bot.reminders.plans import set_offsets
from bot.reminders.scheduler import RUNTIME, build_scheduler, sync_jobs
from bot.storage.models import Contact, Event, OutboundMessage, Person, ReminderChoice
from tests.storage.helpers import FakeSender

CALL = datetime(2027, 8, 5, 12, 0, tzinfo=UTC)  # an international call: 12:00 UTC
PEOPLE = {
    "jakarta": ("ID", "Asia/Jakarta", "+6281200000001"),
    "jayapura": ("ID", "Asia/Jayapura", "+6281200000002"),
    "yangon": ("MM", "Asia/Yangon", "+959420000003"),
    "manaus": ("BR", "America/Manaus", "+5592900000004"),
}


def settings(engine: Engine, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": engine.url.render_as_string(hide_password=False),
        "twilio_auth_token": SecretStr("x"),
        **overrides,
    }
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def add_event(
    engine: Engine, starts: datetime = CALL, country: str | None = None, event_id: str = "intl-1"
) -> None:
    with Session(engine) as db, db.begin():
        event = db.get(Event, event_id) or Event(
            id=event_id, kind="national" if country else "international"
        )
        event.country, event.starts_at, event.duration_minutes = country, starts, 90
        event.title = {"en": "International call 1", "th": "ประชุมนานาชาติ 1"}
        event.dial_in = {
            "ID": ["+62 21 5550 0111"],
            "MM": ["+95 1 555 0111"],
            "BR": ["+55 11 5550 0111"],
        }
        event.meeting_id, event.passcode, event.join_url = (
            "831 777 2017",
            "intl1",
            "https://meet.example.org/i1",
        )
        event.updated_at = starts
        db.add(event)


def add_person(engine: Engine, name: str, language: str = "en", **fields: Any) -> int:
    country, zone, phone = PEOPLE[name]
    with Session(engine) as db, db.begin():
        person = Person(
            phone=phone,
            language=language,
            country=country,
            timezone=zone,
            consent_at=CALL - timedelta(days=30),
            **fields,
        )
        db.add(person)
        db.flush()
        assert person.id is not None
        db.add(Contact(person_id=person.id, channel="sms", address=phone))
        return person.id


def rows(engine: Engine) -> list[OutboundMessage]:
    with Session(engine) as db:
        return list(db.exec(select(OutboundMessage).order_by(OutboundMessage.id)).all())


def by_phone(engine: Engine) -> dict[str, list[OutboundMessage]]:
    with Session(engine) as db:
        found = db.exec(
            select(OutboundMessage, Contact).join(Contact, Contact.id == OutboundMessage.contact_id)
        ).all()
    grouped: dict[str, list[OutboundMessage]] = {}
    for message, contact in found:
        grouped.setdefault(contact.address, []).append(message)
    return grouped


def test_each_person_gets_the_call_in_their_own_time(db_engine: Engine) -> None:
    add_event(db_engine)
    for name in PEOPLE:
        add_person(db_engine, name)
    config = settings(db_engine)
    day_before = send_due(db_engine, config, CALL - timedelta(hours=30))
    hour_before = send_due(db_engine, config, CALL - timedelta(hours=11))
    assert [d.planned.offset_minutes for d in day_before] == [1440]
    assert [d.planned.offset_minutes for d in hour_before] == [60]
    assert sum(d.fired.created for d in day_before + hour_before) == 8
    texts = {phone: [m.text for m in messages] for phone, messages in by_phone(db_engine).items()}
    local = {"jakarta": "19.00", "jayapura": "21.00", "yangon": "6:30 PM", "manaus": "8:00 AM"}
    for name, (_, _, phone) in PEOPLE.items():
        assert all(local[name] in text for text in texts[phone]), (name, texts[phone])
    assert "+95 1 555 0111" in texts[PEOPLE["yangon"][2]][0]  # their country's dial-in
    assert "https://" not in texts[PEOPLE["yangon"][2]][0]  # SMS: no link a basic phone can't open


def test_a_reminder_due_at_night_arrives_the_evening_before(db_engine: Engine) -> None:
    add_event(db_engine)
    add_person(db_engine, "jayapura")  # the 24-hour reminder would be at 21:00 in Jayapura
    send_due(db_engine, settings(db_engine), CALL - timedelta(hours=30))
    (reminder,) = [m for m in rows(db_engine) if m.payload["offset"] == 1440]
    assert reminder.next_attempt_at == datetime(2027, 8, 4, 11, 59, tzinfo=UTC)  # 20:59 local


def test_a_moved_reminder_whose_moment_has_passed_is_skipped(db_engine: Engine) -> None:
    add_event(db_engine)
    add_person(db_engine, "jayapura")
    late = datetime(2027, 8, 4, 12, 30, tzinfo=UTC)  # 21:30 local: the 20:59 slot passed
    (fired,) = [
        d.fired
        for d in send_due(db_engine, settings(db_engine), late)
        if d.planned.offset_minutes == 1440
    ]
    assert (fired.created, fired.too_late) == (0, 1)


def test_firing_twice_queues_once_and_sends_once(db_engine: Engine) -> None:
    add_event(db_engine)
    add_person(db_engine, "jakarta")
    config = settings(db_engine)
    moment = CALL - timedelta(minutes=61)
    first = send_due(db_engine, config, moment)
    again = send_due(db_engine, config, moment)  # a restart, a misfire, a second worker
    assert sum(d.fired.created for d in first) == 1
    assert sum(d.fired.created for d in again) == 0
    assert sum(d.fired.already_there for d in again) == 1
    sender = FakeSender()
    dispatcher = Dispatcher(db_engine, {"sms": sender}, clock=lambda: CALL - timedelta(minutes=59))
    asyncio.run(dispatcher.dispatch_once())
    asyncio.run(dispatcher.dispatch_once())
    assert len(sender.sent) == 1  # the 1-hour reminder, once


def test_nobody_who_should_not_is_reminded(db_engine: Engine) -> None:
    add_event(db_engine, country="ID", event_id="id-national-2")
    add_person(db_engine, "jakarta", opted_out_at=CALL - timedelta(days=1))
    add_person(db_engine, "jayapura", reminders="none")
    add_person(db_engine, "yangon")  # another country's call
    with Session(db_engine) as db, db.begin():
        person = Person(language="id", country="ID", timezone="Asia/Jakarta")  # never consented
        db.add(person)
        db.flush()
        db.add(Contact(person_id=person.id, channel="sms", address="+6281200000009"))  # type: ignore[arg-type]
    send_due(db_engine, settings(db_engine), CALL - timedelta(hours=11))
    assert rows(db_engine) == []


def test_a_per_event_choice_overrides_the_general_preference(db_engine: Engine) -> None:
    add_event(db_engine)
    everyone = add_person(db_engine, "jakarta")
    chooser = add_person(db_engine, "manaus", reminders="chosen")
    with Session(db_engine) as db, db.begin():
        db.add(ReminderChoice(person_id=everyone, event_id="intl-1", wanted=False))
        db.add(ReminderChoice(person_id=chooser, event_id="intl-1", wanted=True))
    send_due(db_engine, settings(db_engine), CALL - timedelta(hours=11))
    assert list(by_phone(db_engine)) == [PEOPLE["manaus"][2]]


def test_turning_reminders_off_after_they_were_queued_still_stops_them(db_engine: Engine) -> None:
    add_event(db_engine)
    person_id = add_person(db_engine, "jakarta")
    send_due(db_engine, settings(db_engine), CALL - timedelta(hours=30))
    with Session(db_engine) as db, db.begin():
        person = db.get(Person, person_id)
        assert person is not None
        person.opted_out_at = CALL - timedelta(hours=29)  # STOP, in between
        db.add(person)
    sender = FakeSender()
    asyncio.run(
        Dispatcher(
            db_engine, {"sms": sender}, clock=lambda: CALL - timedelta(hours=23)
        ).dispatch_once()
    )
    assert sender.sent == []
    assert [(m.status, m.error) for m in rows(db_engine)] == [("skipped", "opted out")]


def test_never_sent_after_the_call_started(db_engine: Engine) -> None:
    add_event(db_engine)
    add_person(db_engine, "jakarta")
    send_due(db_engine, settings(db_engine), CALL - timedelta(minutes=61))
    sender = FakeSender()  # the dispatcher was down until after the start
    asyncio.run(
        Dispatcher(
            db_engine, {"sms": sender}, clock=lambda: CALL + timedelta(minutes=5)
        ).dispatch_once()
    )
    assert sender.sent == []
    assert {m.error for m in rows(db_engine)} == {"the call has started"}
    assert send_due(db_engine, settings(db_engine), CALL + timedelta(minutes=5)) == []


def test_offsets_set_by_the_secretariat_per_kind_of_call(db_engine: Engine) -> None:
    add_event(db_engine)
    add_person(db_engine, "jakarta")
    with Session(db_engine) as db, db.begin():
        set_offsets(db, "international", [2880, 180])
    planned = overview(db_engine, settings(db_engine))
    assert [(r.planned.offset_minutes, r.recipients) for r in planned] == [(2880, 1), (180, 1)]


async def test_a_restarted_scheduler_finds_its_jobs_and_a_moved_call_reminds_at_the_new_time(
    db_engine: Engine,
) -> None:
    add_event(db_engine)
    add_person(db_engine, "jakarta")
    config = settings(db_engine)
    now = CALL - timedelta(days=3)
    first = build_scheduler(db_engine, config, clock=lambda: now)
    first.start(paused=True)
    sync_jobs()
    jobs = {j.id: j.next_run_time for j in first.get_jobs()}
    first.shutdown(wait=False)
    assert jobs["reminder:intl-1:60"] == CALL - timedelta(hours=1) - timedelta(hours=11)
    # The worker restarts: a new scheduler on the same job store finds the same jobs.
    second = build_scheduler(db_engine, config, clock=lambda: now)
    second.start(paused=True)
    assert {j.id: j.next_run_time for j in second.get_jobs()} == jobs
    # The 1-hour job fires (twice, as after a crash mid-run), queuing one row.
    job = second.get_job("reminder:intl-1:60")
    RUNTIME.clock = lambda: CALL - timedelta(hours=11)
    job.func(*job.args)
    job.func(*job.args)
    assert len(rows(db_engine)) == 1
    # The Secretariat moves the call a day later: the queued row is dropped, the job moves.
    add_event(db_engine, starts=CALL + timedelta(days=1))
    sync_jobs()
    moved = second.get_job("reminder:intl-1:60")
    assert moved.next_run_time == CALL + timedelta(days=1) - timedelta(hours=12)
    second.shutdown(wait=False)
    old = rows(db_engine)[0]
    assert (old.status, old.error) == ("skipped", "the call moved")
    RUNTIME.clock = lambda: CALL + timedelta(days=1) - timedelta(hours=5)
    moved.func(*moved.args)
    new = rows(db_engine)[-1]
    assert new.status == "queued" and new.next_attempt_at == CALL + timedelta(days=1) - timedelta(
        hours=1
    )


def test_a_removed_call_loses_its_jobs_and_queued_reminders(db_engine: Engine) -> None:
    add_event(db_engine)
    add_person(db_engine, "jakarta")
    config = settings(db_engine)
    send_due(db_engine, config, CALL - timedelta(hours=30))
    scheduler = build_scheduler(db_engine, config, clock=lambda: CALL - timedelta(hours=30))

    async def run() -> list[str]:
        scheduler.start(paused=True)
        sync_jobs()
        with Session(db_engine) as db, db.begin():
            db.delete(db.get(Event, "intl-1"))
        sync_jobs()
        ids = [j.id for j in scheduler.get_jobs()]
        scheduler.shutdown(wait=False)
        return ids

    assert asyncio.run(run()) == ["reminders:sync"]
    assert {(m.status, m.error) for m in rows(db_engine)} == {("skipped", "the call was removed")}


def test_only_one_worker_runs_the_scheduler(db_engine: Engine) -> None:
    first, second = SchedulerLock(db_engine), SchedulerLock(db_engine)
    assert first.acquire()
    assert not second.acquire()
    first.release()
    assert second.acquire()
    second.release()


def test_whatsapp_reminders_carry_template_variables(db_engine: Engine) -> None:
    add_event(db_engine)
    person_id = add_person(db_engine, "jakarta", language="id")
    with Session(db_engine) as db, db.begin():
        contact = db.exec(select(Contact).where(Contact.person_id == person_id)).one()
        contact.channel = "whatsapp"
        db.add(contact)
    send_due(db_engine, settings(db_engine), CALL - timedelta(minutes=61))
    reminder = rows(db_engine)[0]
    assert reminder.kind == "reminder" and reminder.channel == "whatsapp"
    assert reminder.payload["template_variables"]["1"] == "International call 1"
    assert reminder.payload["template_variables"]["3"] == "https://meet.example.org/i1"
    assert "https://meet.example.org/i1" in reminder.text


@pytest.mark.parametrize("language", ["th", "my"])
def test_reminders_are_written_in_the_persons_language(db_engine: Engine, language: str) -> None:
    add_event(db_engine)
    add_person(db_engine, "yangon", language=language)
    send_due(db_engine, settings(db_engine), CALL - timedelta(minutes=61))
    text = rows(db_engine)[0].text
    assert "Reminder" not in text
    if language == "th":
        assert "ประชุมนานาชาติ 1" in text
    else:
        assert "၁၈:၃၀" in text  # Myanmar digits, 18:30 in Yangon
