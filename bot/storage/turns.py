"""The statements of a batch of turns for people who wrote before, in SQLAlchemy Core.

Every inbound message runs them, so they are built once and carry no ORM bookkeeping: one
locking SELECT for the contact, person and conversation of every sender in the batch, one
INSERT of their messages that is also the duplicate check, then (bot/storage/pending.py) one
UPDATE of the contacts, one of the conversations and one of the people who changed. A turn
whose effects go beyond the person's own fields (a statement, a reminder choice, an erasure)
gets the person as an ORM object instead (`pipeline._orm_person`); first messages and erased
people who write again are the other unusual paths in bot/pipeline.py.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import MISSING, dataclass, field
from datetime import datetime
from functools import cache
from operator import attrgetter
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlmodel import Session

from bot.storage.driver import fetch
from bot.storage.inserts import insert_rows
from bot.storage.models import Contact, Conversation, InboundMessage, Person

Sender = tuple[str, str]  # (channel, address)
CONTACTS: sa.Table = Contact.__table__  # type: ignore[attr-defined]
CONVERSATIONS: sa.Table = Conversation.__table__  # type: ignore[attr-defined]
INBOUND: sa.Table = InboundMessage.__table__  # type: ignore[attr-defined]
PEOPLE: sa.Table = Person.__table__  # type: ignore[attr-defined]


@dataclass
class ContactRow:
    """The contact's columns a turn reads, and those it only writes (`pipeline._touch`),
    which the SELECT leaves out."""

    id: int
    person_id: int
    channel: str
    address: str
    display_name: str | None
    last_inbound_at: datetime | None = None
    unreachable_at: datetime | None = None
    unreachable_reason: str | None = None


@dataclass
class ConversationRow:
    """The conversation's columns a turn reads and saves (`pipeline._save`); the state as
    the JSON text stored, read when the turn needs it."""

    person_id: int
    flow: str | None
    flow_version: int
    step: str | None
    state: str
    labels: list[str]
    revision: int
    updated_at: datetime | None = None  # only written


@dataclass
class PersonRow:
    """The person's columns, read by the batch's SELECT but for the times of creation and
    last change, which a turn never reads; what a turn changes is found by comparing with the
    values as loaded (`person_changes`)."""

    id: int
    phone: str | None
    name: str | None
    language: str | None
    country: str | None
    timezone: str | None
    consent_at: datetime | None
    opted_out_at: datetime | None
    onboarded_at: datetime | None
    zawgyi: bool
    role: str
    role_country: str | None
    reminders: str
    forgotten_at: datetime | None
    updated_at: datetime | None = None  # only written: set when a field changes
    loaded: tuple[Any, ...] = field(default=(), repr=False, compare=False)

    def __post_init__(self) -> None:
        self.loaded = self._changeable()

    def _changeable(self) -> tuple[Any, ...]:
        return _person_values(self)


# The columns a turn may change (everything but the key).
_PERSON_CHANGES = tuple(
    name for name in PersonRow.__dataclass_fields__ if name not in ("id", "loaded")
)
_person_values = attrgetter(*_PERSON_CHANGES)
TurnPerson = Person | PersonRow  # a turn's person: the row, or the ORM object (see above)


def _read(row: type[Any], table: sa.Table) -> list[Any]:
    """The columns the SELECT reads for `row`: its fields without a default."""
    fields = row.__dataclass_fields__.values()
    return [table.c[f.name] for f in fields if f.default is MISSING and f.name != "loaded"]


_PERSON = _read(PersonRow, PEOPLE)
_CONTACT = _read(ContactRow, CONTACTS)
_CONVERSATION = [
    sa.cast(column, sa.Text) if column.name == "state" else column
    for column in _read(ConversationRow, CONVERSATIONS)
]


def from_senders(channels: int, dialect: str) -> sa.ColumnElement[bool]:
    """Contacts whose (channel, address) is among the senders given by `sender_params`: per
    channel, `channel = ? AND address` among the addresses, which both databases answer from
    the unique index (a row-value IN list would scan every contact on SQLite)."""
    return sa.or_(
        *(
            sa.and_(
                CONTACTS.c.channel == sa.bindparam(f"channel_{n}"),
                among(CONTACTS.c.address, f"addresses_{n}", dialect),
            )
            for n in range(channels)
        )
    )


def among(column: sa.Column[Any], name: str, dialect: str) -> sa.ColumnElement[bool]:
    """`column` is one of the list given as parameter `name`: one statement text for any
    number of values on both databases (SQLite reads the list as a JSON array, and still
    looks each value up in the column's index)."""
    if dialect == "postgresql":
        return column == sa.any_(sa.bindparam(name, type_=postgresql.ARRAY(column.type)))
    values = sa.func.json_each(sa.bindparam(name, type_=sa.JSON)).table_valued("value")
    return column.in_(sa.select(values.c.value))


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
        sa.select(*_PERSON, *_CONTACT, *_CONVERSATION)
        .join_from(CONTACTS, PEOPLE, PEOPLE.c.id == CONTACTS.c.person_id)
        .join(CONVERSATIONS, CONVERSATIONS.c.person_id == PEOPLE.c.id)
        .where(from_senders(channels, dialect))
    )
    if dialect != "postgresql":
        return statement  # SQLite locks the whole database for the transaction
    # Rows locked in person order, so two batches sharing people (two web processes) cannot
    # deadlock.
    return statement.order_by(PEOPLE.c.id).with_for_update(of=[PEOPLE, CONVERSATIONS])


def _new_messages_only(insert: Any) -> Any:
    """A message stored already (a redelivery) is skipped, and missing from RETURNING."""
    return insert.on_conflict_do_nothing(index_elements=["channel", "dedupe_key"]).returning(
        INBOUND.c.id, INBOUND.c.channel, INBOUND.c.dedupe_key
    )


_CONTACT_CHANGES = ("display_name", "last_inbound_at", "unreachable_at", "unreachable_reason")
_CONVERSATION_CHANGES = tuple(n for n in ConversationRow.__dataclass_fields__ if n != "person_id")


Known = tuple[ContactRow, PersonRow, ConversationRow]


def known(db: Session, senders: Iterable[Sender]) -> dict[Sender, Known]:
    """Those of `senders` who wrote before, locked for this transaction (their webhooks may
    race with each other, or land on another web process)."""
    wanted = list(dict.fromkeys(senders))
    if not wanted:
        return {}
    found: dict[Sender, Known] = {}
    params = sender_params(wanted)
    connection = db.connection()
    statement = _known(connection.dialect.name, len(params) // 2)
    people, contacts = len(_PERSON), len(_PERSON) + len(_CONTACT)
    for values in fetch(connection, statement, params):
        person = PersonRow(*values[:people])
        contact = ContactRow(*values[people:contacts])
        conversation = ConversationRow(*values[contacts:])
        found[(contact.channel, contact.address)] = contact, person, conversation
    return found


def insert_inbound(db: Session, rows: list[dict[str, Any]]) -> dict[tuple[str, str], int]:
    """Store the messages; returns the ids by (channel, dedupe key) of those that were new.
    One missing from the answer was stored already: the provider delivered it again."""
    if not rows:
        return {}
    stored = insert_rows(db.connection(), INBOUND, rows, _new_messages_only)
    return {(channel, key): row_id for row_id, channel, key in stored}


def contact_changes(contact: ContactRow) -> dict[str, Any]:
    return {"b_id": contact.id, **{n: getattr(contact, n) for n in _CONTACT_CHANGES}}


def person_changes(person: PersonRow) -> dict[str, Any] | None:
    """The columns the turn changed with their new values (and the key, `b_id`), or None.
    Only those are written: whatever else staff changed meanwhile is left as it is."""
    values = person._changeable()
    if values == person.loaded:
        return None
    changed = zip(_PERSON_CHANGES, values, person.loaded, strict=True)
    return {"b_id": person.id, **{name: new for name, new, old in changed if new != old}}


def conversation_changes(conversation: ConversationRow) -> dict[str, Any]:
    values = {n: getattr(conversation, n) for n in _CONVERSATION_CHANGES}
    return {"b_id": conversation.person_id, **values}
