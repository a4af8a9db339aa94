"""The person of a turn read as a plain row: changes written by one UPDATE per batch, none
when nothing changed, and the ORM object for turns whose effects need it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.flowfiles import FlowSet
from bot.pipeline import Handled, _orm_person
from bot.storage.models import Person
from bot.storage.turns import known, person_changes
from tests.conftest import FIXED_NOW
from tests.storage.helpers import Clock, inbound, pipeline

PHONES = [f"+6681234{n:04d}" for n in range(12)]


@contextmanager
def person_updates(engine: Engine) -> Iterator[list[int]]:
    """How many UPDATE statements hit the person table, and with how many rows each."""
    seen: list[int] = []

    def before(_conn, _cursor, statement, parameters, _context, executemany):  # type: ignore[no-untyped-def]
        if not statement.lstrip().upper().startswith("UPDATE PERSON "):
            return
        if "json_to_recordset" in statement:  # PostgreSQL: the rows as one JSON document
            seen.append(len(json.loads(parameters[0])))
        else:
            seen.append(len(parameters) if executemany else 1)

    sa.event.listen(engine, "before_cursor_execute", before)
    try:
        yield seen
    finally:
        sa.event.remove(engine, "before_cursor_execute", before)


def test_consent_given_by_a_batch_is_one_update_and_reads_back(
    db_engine: Engine, flows: FlowSet
) -> None:
    bot = pipeline(db_engine, flows, Clock(FIXED_NOW))
    bot.handle_many([(inbound("hello", address=p, phone=p), False) for p in PHONES])
    with person_updates(db_engine) as updates:
        outcomes = bot.handle_many([(inbound("1", address=p, phone=p), False) for p in PHONES])
    assert all(isinstance(o, Handled) and not o.duplicate for o in outcomes)
    assert updates == [len(PHONES)]  # one statement for the twelve who agreed
    with Session(db_engine) as db:
        people = db.exec(select(Person)).all()
    assert len(people) == len(PHONES)
    assert all(p.consent_at == FIXED_NOW and p.updated_at == FIXED_NOW for p in people)
    assert all(p.phone in PHONES and p.country == "TH" for p in people)  # the rest kept


def test_a_turn_that_changes_nothing_of_the_person_writes_no_person_row(
    db_engine: Engine, flows: FlowSet
) -> None:
    bot = pipeline(db_engine, flows, Clock(FIXED_NOW))
    for text in ("hello", "1", "1"):
        bot.handle(inbound(text))
    with person_updates(db_engine) as updates:
        handled = bot.handle(inbound("menu"))
    assert handled.outbound_ids and updates == []


def test_a_turn_needing_the_orm_keeps_what_it_changed_on_the_row_before(
    db_engine: Engine, flows: FlowSet
) -> None:
    bot = pipeline(db_engine, flows, Clock(FIXED_NOW))
    bot.handle(inbound("hello"))
    with Session(db_engine) as db, db.begin():
        ((_, row, _),) = known(db, [("sms", "+66812345678")]).values()
        row.zawgyi, row.language = True, "my"  # as the turn had found them before its effects
        person = _orm_person(db, row)
        assert person.id == row.id and person.zawgyi and person.language == "my"
        assert _orm_person(db, person) is person
    with Session(db_engine) as db:
        stored = db.exec(select(Person)).one()
    assert stored.zawgyi and stored.language == "my"


def test_only_the_columns_a_turn_changed_are_written(db_engine: Engine, flows: FlowSet) -> None:
    bot = pipeline(db_engine, flows, Clock(FIXED_NOW))
    bot.handle(inbound("hello"))
    with Session(db_engine) as db, db.begin():
        ((_, row, _),) = known(db, [("sms", "+66812345678")]).values()
    assert person_changes(row) is None
    later = FIXED_NOW + timedelta(hours=1)
    row.consent_at = row.updated_at = later
    row.role = str(row.role)  # set to what it was: not a change
    assert person_changes(row) == {"b_id": row.id, "consent_at": later, "updated_at": later}
