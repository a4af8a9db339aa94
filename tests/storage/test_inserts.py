"""Many rows in one INSERT: ids in the order given, JSON and times kept, one statement text
on PostgreSQL whatever the number of rows."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.storage.inserts import insert_returning_ids, insert_rows
from bot.storage.models import Contact, OutboundMessage, Person
from tests.conftest import FIXED_NOW

OUTBOX: sa.Table = OutboundMessage.__table__  # type: ignore[attr-defined]
PEOPLE: sa.Table = Person.__table__  # type: ignore[attr-defined]
CONTACTS: sa.Table = Contact.__table__  # type: ignore[attr-defined]


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
