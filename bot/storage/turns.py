"""The statements of one turn for someone who wrote before, in SQLAlchemy Core.

Every inbound message runs them, so they are built once and carry no ORM bookkeeping: one
locking SELECT for contact, person and conversation, an INSERT of the message that is also
the duplicate check, then an UPDATE of the contact and one of the conversation. The person
stays an ORM object: flows and effects change it, and the session writes only what changed.
First messages, erased people and anything unusual take the ORM path in bot/pipeline.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from bot.storage.models import Contact, Conversation, InboundMessage, Person

CONTACTS: sa.Table = Contact.__table__  # type: ignore[attr-defined]
CONVERSATIONS: sa.Table = Conversation.__table__  # type: ignore[attr-defined]
INBOUND: sa.Table = InboundMessage.__table__  # type: ignore[attr-defined]


@dataclass
class ContactRow:
    """The contact's columns a turn reads and changes (`pipeline._touch`)."""

    id: int
    person_id: int
    channel: str
    address: str
    display_name: str | None
    last_inbound_at: datetime | None
    unreachable_at: datetime | None
    unreachable_reason: str | None


@dataclass
class ConversationRow:
    """The conversation's columns a turn reads and saves (`pipeline._save`)."""

    person_id: int
    flow: str | None
    flow_version: int
    step: str | None
    state: dict[str, Any]
    labels: list[str]
    revision: int
    updated_at: datetime


_CONTACT = [CONTACTS.c[name] for name in ContactRow.__dataclass_fields__]
_CONVERSATION = [CONVERSATIONS.c[name] for name in ConversationRow.__dataclass_fields__]
# Built once: constructing a statement costs more than SQLite takes to run it.
_KNOWN = (
    select(Person, *_CONTACT, *_CONVERSATION)
    .join_from(CONTACTS, Person, col(Person.id) == CONTACTS.c.person_id)
    .join(CONVERSATIONS, CONVERSATIONS.c.person_id == col(Person.id))
    .where(
        CONTACTS.c.channel == sa.bindparam("channel"),
        CONTACTS.c.address == sa.bindparam("address"),
    )
    .with_for_update(of=[Person, CONVERSATIONS])
)
_INSERT_INBOUND = {
    name: insert(INBOUND)
    .on_conflict_do_nothing(index_elements=["channel", "dedupe_key"])
    .returning(INBOUND.c.id)
    for name, insert in (("postgresql", postgresql.insert), ("sqlite", sqlite.insert))
}
_CONTACT_CHANGES = ("display_name", "last_inbound_at", "unreachable_at", "unreachable_reason")
_SAVE_CONTACT = (
    sa.update(CONTACTS)
    .where(CONTACTS.c.id == sa.bindparam("b_id"))
    .values({n: sa.bindparam(n, type_=CONTACTS.c[n].type) for n in _CONTACT_CHANGES})
)
_CONVERSATION_CHANGES = tuple(n for n in ConversationRow.__dataclass_fields__ if n != "person_id")
_SAVE_CONVERSATION = (
    sa.update(CONVERSATIONS)
    .where(CONVERSATIONS.c.person_id == sa.bindparam("b_id"))
    .values({n: sa.bindparam(n, type_=CONVERSATIONS.c[n].type) for n in _CONVERSATION_CHANGES})
)


def known(
    db: Session, channel: str, address: str
) -> tuple[ContactRow, Person, ConversationRow] | None:
    """Someone who wrote before, locked for this turn (two webhooks of one person may race)."""
    found = db.exec(_KNOWN, params={"channel": channel, "address": address}).first()
    if found is None:
        return None
    person, *values = found
    contact = ContactRow(*values[: len(_CONTACT)])
    conversation = ConversationRow(*values[len(_CONTACT) :])
    return contact, person, conversation


def insert_inbound(db: Session, values: dict[str, Any]) -> int | None:
    """Store the message; None when it is stored already (the provider delivered it again)."""
    statement = _INSERT_INBOUND[db.get_bind().dialect.name]
    return db.connection().execute(statement, values).scalar_one_or_none()


def save_contact(db: Session, contact: ContactRow) -> None:
    values = {n: getattr(contact, n) for n in _CONTACT_CHANGES}
    db.connection().execute(_SAVE_CONTACT, {"b_id": contact.id, **values})


def save_conversation(db: Session, conversation: ConversationRow) -> None:
    values = {n: getattr(conversation, n) for n in _CONVERSATION_CHANGES}
    db.connection().execute(_SAVE_CONVERSATION, {"b_id": conversation.person_id, **values})
