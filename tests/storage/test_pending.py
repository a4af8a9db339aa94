"""Writes kept until the batch ends are written before any ORM query can read around them."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.flowfiles import FlowSet
from bot.storage.models import Contact
from bot.storage.pending import PendingWrites, TurnSession
from tests.conftest import FIXED_NOW
from tests.storage.helpers import Clock, inbound, pipeline


def test_an_orm_query_sees_the_writes_kept_so_far(db_engine: Engine, flows: FlowSet) -> None:
    pipeline(db_engine, flows, Clock(FIXED_NOW)).handle(inbound("hello"))
    with TurnSession(db_engine) as db, db.begin():
        writes = PendingWrites(db).attach()
        contact_id = db.exec(select(Contact.id)).one()
        writes.save_contact(
            {
                "b_id": contact_id,
                "display_name": "Somchai",
                "last_inbound_at": FIXED_NOW,
                "unreachable_at": None,
                "unreachable_reason": None,
            }
        )
        assert db.exec(select(Contact.display_name)).one() == "Somchai"  # written first
        assert not writes.contacts
        writes.detach()
        writes.save_contact({"b_id": contact_id, "display_name": "Later"})
        assert db.exec(select(Contact.display_name)).one() == "Somchai"  # detached: kept


def test_pending_writes_refuse_a_session_that_would_not_flush_them(db_engine: Engine) -> None:
    with Session(db_engine) as db, pytest.raises(TypeError, match="TurnSession"):
        PendingWrites(db).attach()
