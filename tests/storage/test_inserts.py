"""Many rows in one INSERT: ids in the order given, JSON and times kept, one statement text
on PostgreSQL whatever the number of rows."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import sqlite
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.storage import inserts
from bot.storage.inserts import insert_returning_ids, insert_rows, update_rows
from bot.storage.models import Contact, Conversation, OutboundMessage, Person
from tests.conftest import FIXED_NOW

OUTBOX: sa.Table = OutboundMessage.__table__  # type: ignore[attr-defined]
PEOPLE: sa.Table = Person.__table__  # type: ignore[attr-defined]
CONTACTS: sa.Table = Contact.__table__  # type: ignore[attr-defined]
CONVERSATIONS: sa.Table = Conversation.__table__  # type: ignore[attr-defined]


def _outbox_rows(contact_id: int, count: int) -> list[dict[str, object]]:
    return [
        {
            "contact_id": contact_id,
            "channel": "sms",
            "text": f"part {n}",
            "payload": {"buttons": ["Yes", "No"], "part": n, "nested": {"ok": n % 2 == 0}},
            "status": "queued",
            "next_attempt_at": FIXED_NOW,
        }
        for n in range(count)
    ]


def test_rows_get_their_own_ids_and_keep_their_values(db_engine: Engine) -> None:
    statements: list[str] = []

    def seen(*args: object) -> None:
        statements.append(str(args[2]))

    sa.event.listen(db_engine, "before_cursor_execute", seen)
    with db_engine.begin() as connection:
        (person,) = insert_returning_ids(
            connection, PEOPLE, [{"phone": "+66812345678", "created_at": FIXED_NOW}], ("phone",)
        )
        (contact,) = insert_returning_ids(
            connection,
            CONTACTS,
            [{"person_id": person, "channel": "sms", "address": "+66812345678"}],
            ("address",),
        )
        statements.clear()
        few = insert_returning_ids(connection, OUTBOX, _outbox_rows(contact, 2), ("text",))
        many = insert_returning_ids(connection, OUTBOX, _outbox_rows(contact, 40), ("text",))
    sa.event.remove(db_engine, "before_cursor_execute", seen)
    assert len(set(few + many)) == 42
    with Session(db_engine) as db:
        stored = {m.id: m for m in db.exec(select(OutboundMessage)).all()}
    for n, row_id in enumerate(many):
        assert stored[row_id].text == f"part {n}"
        assert stored[row_id].payload == {
            "buttons": ["Yes", "No"],
            "part": n,
            "nested": {"ok": n % 2 == 0},
        }
        assert stored[row_id].next_attempt_at == FIXED_NOW
    if db_engine.dialect.name == "postgresql":
        assert len(statements) == 2 and statements[0] == statements[1]  # 2 rows or 40: one text


def test_rows_inserted_together_must_have_the_same_columns(db_engine: Engine) -> None:
    rows = [{"phone": "+66812345001"}, {"phone": "+66812345002", "language": "th"}]
    with db_engine.connect() as connection, pytest.raises(ValueError, match="same columns"):
        insert_rows(connection, PEOPLE, rows, lambda insert: insert)


def test_many_rows_are_updated_by_key_in_one_statement(db_engine: Engine) -> None:
    with Session(db_engine) as db, db.begin():
        people = [Person(phone=f"+6681234500{n}", created_at=FIXED_NOW) for n in range(5)]
        db.add_all(people)
        db.flush()
        ids = [p.id for p in people if p.id is not None]
        db.add_all(Conversation(person_id=i) for i in ids)
    later = FIXED_NOW + timedelta(minutes=3)
    rows = [
        {
            "b_id": i,
            "flow": "menu",
            "state": json.dumps({"flow": "menu", "answers": {"name": f"Ñgozi {i}"}}),
            "labels": ["Yes", f"No {i}"],
            "updated_at": later,
        }
        for i in ids[:4]  # the fifth is left as it was
    ]
    statements: list[str] = []

    def seen(*args: object) -> None:
        statements.append(str(args[2]))

    with db_engine.begin() as connection:
        connection.exec_driver_sql("SELECT 1")  # the transaction begun before counting
        sa.event.listen(db_engine, "before_cursor_execute", seen)
        update_rows(connection, CONVERSATIONS, "person_id", rows, json_text=("state",))
        sa.event.remove(db_engine, "before_cursor_execute", seen)
    assert len(statements) == 1, statements
    with Session(db_engine) as db:
        stored = {c.person_id: c for c in db.exec(select(Conversation)).all()}
    for i in ids[:4]:
        assert stored[i].state == {"flow": "menu", "answers": {"name": f"Ñgozi {i}"}}
        assert stored[i].labels == ["Yes", f"No {i}"]
        assert (stored[i].flow, stored[i].updated_at) == ("menu", later)
    assert (stored[ids[4]].flow, stored[ids[4]].state) == (None, {})


def test_naive_times_are_refused_in_bulk_writes(db_engine: Engine) -> None:
    rows = [{"phone": "+66812345001", "created_at": datetime(2026, 9, 10, 3, 0)}]
    with db_engine.connect() as connection, pytest.raises((ValueError, sa.exc.StatementError)):
        insert_rows(connection, PEOPLE, rows, lambda insert: insert)


@pytest.mark.parametrize("count", [1, 2, 7, 64])
def test_a_values_list_of_any_length_is_the_text_sqlalchemy_would_compile(count: int) -> None:
    # Every column with a default is given, as insert_rows gives them.
    columns = (
        "contact_id", "channel", "kind", "priority", "text", "payload", "status", "attempts",
        "next_attempt_at", "created_at", "updated_at",
    )  # fmt: skip
    finish = inserts._returning(OUTBOX, ("text",))
    one = finish(sqlite_insert(OUTBOX).values({c: sa.bindparam(c) for c in columns}))
    many = finish(
        sqlite_insert(OUTBOX).values(
            [{c: sa.bindparam(f"r{n}_{c}") for c in columns} for n in range(count)]
        )
    )
    dialect = sqlite.pysqlite.dialect()
    built = inserts.values_text(str(one.compile(dialect=dialect)), len(columns), count)
    assert built == str(many.compile(dialect=dialect))


def test_only_a_one_row_insert_is_repeated() -> None:
    with pytest.raises(ValueError, match="not a one-row INSERT"):
        inserts.values_text("DELETE FROM outbound_message WHERE id = ?", 1, 3)
