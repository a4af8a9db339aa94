"""The rows of everyone a batch of messages brings for the first time, created together.

A first message needs a person (or the one who already has that phone number: a second
channel of theirs), a contact for the address and a conversation. Created in SQLAlchemy Core
for the whole batch, that is a handful of statements however many people wrote; afterwards
`turns.known` finds them like anyone who wrote before.

Two processes creating the same address or number at once: one transaction fails on the
unique key and the pipeline retries its messages one by one, by when the rows exist.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import cache
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from bot.channels.base import InboundMessage
from bot.storage.driver import fetch
from bot.storage.inserts import insert_returning_ids, insert_rows
from bot.storage.people import person_values
from bot.storage.turns import (
    CONTACTS,
    CONVERSATIONS,
    PEOPLE,
    Sender,
    among,
    from_senders,
    sender_params,
)

# What a new person row holds: two rows alike in these are interchangeable.
_PERSON_KEYS = ("phone", "language", "country", "timezone")
_CONTACT = (CONTACTS.c.channel, CONTACTS.c.address, CONTACTS.c.person_id)


def create_newcomers(db: Session, messages: Sequence[InboundMessage], now: datetime) -> None:
    """Person, contact and conversation for each sender of `messages` (the first message of
    each) who has none yet."""
    connection = db.connection()
    firsts: dict[Sender, InboundMessage] = {}
    for message in messages:
        firsts.setdefault((message.channel, message.address), message)
    senders = list(firsts)
    params = sender_params(senders)
    found = fetch(connection, _contacts_of(len(params) // 2, connection.dialect.name), params)
    owners = {(channel, address): person_id for channel, address, person_id in found}
    new = [firsts[s] for s in senders if s not in owners]
    if new:
        owners.update(_new_contacts(connection, new, now))
    rows = [_conversation(person_id, now) for person_id in dict.fromkeys(owners.values())]
    insert_rows(connection, CONVERSATIONS, rows, _unless_there)


@cache
def _contacts_of(channels: int, dialect: str) -> Any:
    return sa.select(*_CONTACT).where(from_senders(channels, dialect))


@cache
def _people_by_phone(dialect: str) -> Any:
    return sa.select(PEOPLE.c.phone, PEOPLE.c.id).where(among(PEOPLE.c.phone, "phones", dialect))


def _new_contacts(
    connection: sa.Connection, messages: list[InboundMessage], now: datetime
) -> dict[Sender, int]:
    """Contacts for `messages`' senders: of the person with that phone, or a new person."""
    values = [person_values(m, now) for m in messages]
    phones = [v["phone"] for v in values if v["phone"]]
    by_phone: dict[str, int] = {}
    if phones:
        found = fetch(connection, _people_by_phone(connection.dialect.name), {"phones": phones})
        by_phone = {phone: person_id for phone, person_id in found}
    # One new person per new phone number (two channels of one number: one person).
    wanted: dict[Any, dict[str, Any]] = {}
    for index, person in enumerate(values):
        if person["phone"] not in by_phone:
            wanted.setdefault(person["phone"] or ("no phone", index), person)
    if wanted:
        ids = insert_returning_ids(connection, PEOPLE, list(wanted.values()), _PERSON_KEYS)
        for key, person_id in zip(wanted, ids, strict=True):
            if isinstance(key, str):
                by_phone[key] = person_id
            else:
                values[key[1]]["id"] = person_id
    owners: dict[Sender, int] = {}
    for message, person in zip(messages, values, strict=True):
        owners[(message.channel, message.address)] = person.get("id") or by_phone[person["phone"]]
    insert_rows(
        connection,
        CONTACTS,
        [
            {
                "person_id": owners[(m.channel, m.address)],
                "channel": m.channel,
                "address": m.address,
                "display_name": m.display_name,
                "created_at": now,
            }
            for m in messages
        ],
        _as_it_is,
    )
    return owners


def _unless_there(insert: Any) -> Any:
    """A person found by their phone number may have a conversation already."""
    return insert.on_conflict_do_nothing(index_elements=["person_id"])


def _as_it_is(insert: Any) -> Any:
    return insert


def _conversation(person_id: int, now: datetime) -> dict[str, Any]:
    return {
        "person_id": person_id,
        "flow": None,
        "flow_version": 0,
        "step": None,
        "state": {},
        "labels": [],
        "revision": 0,
        "updated_at": now,
    }
