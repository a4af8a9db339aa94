"""What flows change besides person fields, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.engine.events import FlowEnded, RequestHelp, SetReminder
from bot.storage.effects import apply_effects
from bot.storage.models import Completion, HelpRequest, Person, ReminderChoice
from tests.conftest import FIXED_NOW


def _apply(engine: Engine, *events: object, minutes: int = 0) -> None:
    with Session(engine) as db, db.begin():
        person = db.exec(select(Person)).first()
        if person is None:
            person = Person(language="en")
            db.add(person)
            db.flush()
        apply_effects(db, person, events, FIXED_NOW + timedelta(minutes=minutes))  # type: ignore[arg-type]


def test_reminder_choices(db_engine: Engine) -> None:
    _apply(db_engine, SetReminder("none"))
    _apply(db_engine, SetReminder("event", "ga"), SetReminder("event_off", "international-1"))
    with Session(db_engine) as db:
        assert db.exec(select(Person.reminders)).one() == "chosen"
        choices = {c.event_id: c.wanted for c in db.exec(select(ReminderChoice)).all()}
    assert choices == {"ga": True, "international-1": False}
    _apply(db_engine, SetReminder("event_off", "ga"))
    with Session(db_engine) as db:
        assert db.get(ReminderChoice, (1, "ga")).wanted is False  # type: ignore[union-attr]
    _apply(db_engine, SetReminder("all"))
    with Session(db_engine) as db:
        assert db.exec(select(Person.reminders)).one() == "all"
        assert db.exec(select(ReminderChoice)).all() == []


def test_asking_twice_for_a_practice_call_makes_one_open_request(db_engine: Engine) -> None:
    _apply(db_engine, RequestHelp("practice_call"))
    _apply(db_engine, RequestHelp("practice_call"), minutes=5)
    with Session(db_engine) as db, db.begin():
        (request,) = db.exec(select(HelpRequest)).all()
        request.handled_at = FIXED_NOW + timedelta(days=1)
        db.add(request)
    _apply(db_engine, RequestHelp("practice_call"), minutes=60 * 48)  # handled: a new one counts
    with Session(db_engine) as db:
        assert len(db.exec(select(HelpRequest)).all()) == 2


def test_completions_keep_the_first_and_last_time(db_engine: Engine) -> None:
    _apply(db_engine, FlowEnded("tutorial", completed=True))
    _apply(db_engine, FlowEnded("tutorial", completed=False), minutes=5)
    _apply(db_engine, FlowEnded("tutorial", completed=True), minutes=10)
    with Session(db_engine) as db:
        (done,) = db.exec(select(Completion)).all()
    assert (done.flow, done.first_at, done.last_at) == (
        "tutorial",
        FIXED_NOW,
        FIXED_NOW + timedelta(minutes=10),
    )
