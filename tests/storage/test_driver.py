"""Statements run with the driver's own parameters: values written and read exactly as
SQLAlchemy's own type processing would, on both databases."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.storage.driver import decoder, encoder, execute_many, fetch, plan
from bot.storage.models import Conversation, Person, UTCDateTime
from tests.conftest import FIXED_NOW

DIALECTS = {"sqlite": sqlite.pysqlite.dialect(), "postgresql": postgresql.psycopg.dialect()}
PEOPLE: sa.Table = Person.__table__  # type: ignore[attr-defined]
CONVERSATIONS: sa.Table = Conversation.__table__  # type: ignore[attr-defined]

aware = st.builds(
    lambda moment, minutes: moment.replace(tzinfo=timezone(timedelta(minutes=minutes))),
    st.datetimes(min_value=datetime(1971, 1, 2), max_value=datetime(2200, 1, 1)),
    st.integers(min_value=-12 * 60, max_value=14 * 60),
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=12,
)


def sqlalchemy_bind(type_: sa.types.TypeEngine[Any], dialect: str, value: Any) -> Any:
    engine_dialect = DIALECTS[dialect]
    process = type_.dialect_impl(engine_dialect).bind_processor(engine_dialect)
    return process(value) if process else value


def sqlalchemy_result(type_: sa.types.TypeEngine[Any], dialect: str, value: Any) -> Any:
    engine_dialect = DIALECTS[dialect]
    process = type_.dialect_impl(engine_dialect).result_processor(engine_dialect, None)
    return process(value) if process else value


def ours(convert: Any, value: Any) -> Any:
    return convert(value) if convert else value


@given(aware)
def test_times_are_written_as_sqlalchemy_writes_them(moment: datetime) -> None:
    type_ = UTCDateTime()
    on_sqlite = ours(encoder(type_, "sqlite"), moment)
    assert on_sqlite == sqlalchemy_bind(type_, "sqlite", moment)
    on_postgres = ours(encoder(type_, "postgresql"), moment)
    assert on_postgres == moment and on_postgres.tzinfo is UTC  # the same instant, in UTC


@given(aware)
def test_times_are_read_as_sqlalchemy_reads_them(moment: datetime) -> None:
    type_ = UTCDateTime()
    for stored in (sqlalchemy_bind(type_, "sqlite", moment), f"{moment:%Y-%m-%d %H:%M:%S}"):
        assert ours(decoder(type_, "sqlite"), stored) == sqlalchemy_result(type_, "sqlite", stored)
    read = ours(decoder(type_, "postgresql"), moment)
    assert read == sqlalchemy_result(type_, "postgresql", moment) and read.tzinfo is UTC


@given(json_values)
def test_json_is_written_and_read_as_sqlalchemy_does(value: Any) -> None:
    type_ = sa.JSON()
    text = ours(encoder(type_, "sqlite"), value)
    assert text == sqlalchemy_bind(type_, "sqlite", value)
    assert ours(decoder(type_, "sqlite"), text) == sqlalchemy_result(type_, "sqlite", text)
    # PostgreSQL gets the text with a cast to JSON, and psycopg reads JSON itself.
    assert json.loads(ours(encoder(type_, "postgresql"), value)) == value
    assert decoder(type_, "postgresql") is None


def test_naive_times_are_refused_as_the_column_type_refuses_them() -> None:
    for dialect in DIALECTS:
        convert = encoder(UTCDateTime(), dialect)
        assert convert is not None
        with pytest.raises(ValueError, match="naive"):
            convert(datetime(2026, 12, 7, 12, 0))


def test_booleans_read_back_as_booleans_on_sqlite() -> None:
    assert ours(decoder(sa.Boolean(), "sqlite"), 1) is True
    assert ours(decoder(sa.Boolean(), "sqlite"), 0) is False


def test_rows_written_and_read_through_the_driver_match_the_orm(db_engine: Engine) -> None:
    with Session(db_engine) as db, db.begin():
        people = [Person(phone=f"+6681234500{n}", created_at=FIXED_NOW) for n in range(3)]
        db.add_all(people)
        db.flush()
        ids = [p.id for p in people]
        db.add_all(Conversation(person_id=i) for i in ids if i is not None)
    later = FIXED_NOW.astimezone(timezone(timedelta(hours=7))) + timedelta(minutes=5)
    update = (
        sa.update(CONVERSATIONS)
        .where(CONVERSATIONS.c.person_id == sa.bindparam("b_id"))
        .values(state=sa.bindparam("state"), updated_at=sa.bindparam("at"))
    )
    read = sa.select(CONVERSATIONS.c.person_id, CONVERSATIONS.c.state, CONVERSATIONS.c.updated_at)
    with db_engine.begin() as connection:
        rows = [{"b_id": i, "state": {"flow": "menu", "n": i}, "at": later} for i in ids]
        execute_many(connection, update, rows)
        fetched = fetch(connection, read.order_by(CONVERSATIONS.c.person_id), {})
    assert [tuple(row) for row in fetched] == [(i, {"flow": "menu", "n": i}, later) for i in ids]
    assert all(row[2].tzinfo is UTC for row in fetched)
    with Session(db_engine) as db:
        stored = db.exec(select(Conversation).order_by(Conversation.person_id)).all()
    assert [(c.state, c.updated_at) for c in stored] == [
        ({"flow": "menu", "n": i}, later) for i in ids
    ]


def test_a_statement_is_compiled_once_per_dialect() -> None:
    statement = sa.select(PEOPLE.c.id).where(PEOPLE.c.phone == sa.bindparam("phone"))
    assert plan(statement, "sqlite") is plan(statement, "sqlite")
    assert plan(statement, "sqlite").names == ("phone",)
    assert plan(statement, "postgresql").sql.count("%s") == 1


def test_driver_errors_arrive_as_sqlalchemy_errors_and_statements_are_seen(
    db_engine: Engine,
) -> None:
    seen: list[str] = []

    def before(*args: Any) -> None:
        seen.append(str(args[2]))

    sa.event.listen(db_engine, "before_cursor_execute", before)
    try:
        with db_engine.begin() as connection:
            insert = sa.insert(PEOPLE).values(phone=sa.bindparam("phone"), zawgyi=False)
            row = {"phone": "+66812345001", "created_at": FIXED_NOW, "updated_at": FIXED_NOW}
            execute_many(connection, insert.values(role="smallholder", reminders="all"), [row])
            with pytest.raises(sa.exc.IntegrityError):  # the phone is unique
                execute_many(connection, insert.values(role="x", reminders="all"), [row])
    except sa.exc.IntegrityError:
        pass
    finally:
        sa.event.remove(db_engine, "before_cursor_execute", before)
    assert sum("INSERT INTO person" in statement for statement in seen) == 2
