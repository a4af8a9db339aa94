"""The statements of a batch of turns for people who wrote before, in SQLAlchemy Core.

Every inbound message runs them, so they are built once and carry no ORM bookkeeping: one
locking SELECT for the contact, person and conversation of every sender in the batch, one
INSERT of their messages that is also the duplicate check, then (bot/storage/pending.py) one
UPDATE of the contacts and one of the conversations. The person stays an ORM object: flows
and effects change it, and the session writes only what changed. First messages, erased
people and anything unusual take the ORM path in bot/pipeline.py.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from bot.storage.inserts import per_dialect
from bot.storage.models import Contact, Conversation, InboundMessage, Person

Sender = tuple[str, str]  # (channel, address)
CONTACTS: sa.Table = Contact.__table__  # type: ignore[attr-defined]
CONVERSATIONS: sa.Table = Conversation.__table__  # type: ignore[attr-defined]
INBOUND: sa.Table = InboundMessage.__table__  # type: ignore[attr-defined]
PEOPLE: sa.Table = Person.__table__  # type: ignore[attr-defined]


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


def from_senders(channels: int) -> sa.ColumnElement[bool]:
    """Contacts whose (channel, address) is among the senders given by `sender_params`: per
    channel, `channel = ? AND address IN (...)`, which SQLite answers from the unique index
    (a row-value IN list would scan every contact)."""
    return sa.or_(
        *(
            sa.and_(
                CONTACTS.c.channel == sa.bindparam(f"channel_{n}"),
                CONTACTS.c.address.in_(sa.bindparam(f"addresses_{n}", expanding=True)),
            )
            for n in range(channels)
        )
    )


def sender_params(senders: Iterable[Sender]) -> dict[str, Any]:
    by_channel: dict[str, list[str]] = {}
    for channel, address in senders:
        by_channel.setdefault(channel, []).append(address)
    params: dict[str, Any] = {}
    for n, (channel, addresses) in enumerate(sorted(by_channel.items())):
        params[f"channel_{n}"], params[f"addresses_{n}"] = channel, addresses
    return params


@cache
def _known(dialect: str, channels: int) -> Any:
    """Built once per shape: constructing a statement costs more than SQLite takes to run it."""
    statement = (
        select(Person, *_CONTACT, *_CONVERSATION)
        .join_from(CONTACTS, Person, col(Person.id) == CONTACTS.c.person_id)
        .join(CONVERSATIONS, CONVERSATIONS.c.person_id == col(Person.id))
        .where(from_senders(channels))
    )
    if dialect != "postgresql":
        return statement  # SQLite locks the whole database for the transaction
    # Rows locked in person order, so two batches sharing people (two web processes) cannot
    # deadlock.
    return statement.order_by(col(Person.id)).with_for_update(of=[Person, CONVERSATIONS])


_INSERT_INBOUND = per_dialect(
    lambda insert: (
        insert(INBOUND)
        .on_conflict_do_nothing(index_elements=["channel", "dedupe_key"])
        .returning(INBOUND.c.id, INBOUND.c.channel, INBOUND.c.dedupe_key)
    )
)
_CONTACT_CHANGES = ("display_name", "last_inbound_at", "unreachable_at", "unreachable_reason")
SAVE_CONTACT = (
    sa.update(CONTACTS)
    .where(CONTACTS.c.id == sa.bindparam("b_id"))
    .values({n: sa.bindparam(n, type_=CONTACTS.c[n].type) for n in _CONTACT_CHANGES})
)
_CONVERSATION_CHANGES = tuple(n for n in ConversationRow.__dataclass_fields__ if n != "person_id")
SAVE_CONVERSATION = (
    sa.update(CONVERSATIONS)
    .where(CONVERSATIONS.c.person_id == sa.bindparam("b_id"))
    .values({n: sa.bindparam(n, type_=CONVERSATIONS.c[n].type) for n in _CONVERSATION_CHANGES})
)

Known = tuple[ContactRow, Person, ConversationRow]


def known(db: Session, senders: Iterable[Sender]) -> dict[Sender, Known]:
    """Those of `senders` who wrote before, locked for this transaction (their webhooks may
    race with each other, or land on another web process)."""
    wanted = list(dict.fromkeys(senders))
    if not wanted:
        return {}
    found: dict[Sender, Known] = {}
    params = sender_params(wanted)
    statement = _known(db.get_bind().dialect.name, len(params) // 2)
    for person, *values in db.exec(statement, params=params):
        contact = ContactRow(*values[: len(_CONTACT)])
        conversation = ConversationRow(*values[len(_CONTACT) :])
        found[(contact.channel, contact.address)] = contact, person, conversation
    return found


def insert_inbound(db: Session, rows: list[dict[str, Any]]) -> dict[tuple[str, str], int]:
    """Store the messages; returns the ids by (channel, dedupe key) of those that were new.
    One missing from the answer was stored already: the provider delivered it again."""
    if not rows:
        return {}
    statement = _INSERT_INBOUND[db.get_bind().dialect.name]
    stored = db.connection().execute(statement, rows)
    return {(channel, key): row_id for row_id, channel, key in stored}


def contact_changes(contact: ContactRow) -> dict[str, Any]:
    return {"b_id": contact.id, **{n: getattr(contact, n) for n in _CONTACT_CHANGES}}


def conversation_changes(conversation: ConversationRow) -> dict[str, Any]:
    values = {n: getattr(conversation, n) for n in _CONVERSATION_CHANGES}
    return {"b_id": conversation.person_id, **values}
