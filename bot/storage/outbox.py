"""The outbox: messages are rows first, claimed by a dispatcher after commit, then marked.

Claiming selects due rows with `FOR UPDATE SKIP LOCKED` (on PostgreSQL; SQLite takes the
whole database for the transaction), then marks them: several dispatchers never claim the
same row.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

import sqlalchemy as sa
from sqlmodel import Session, col, select

from bot.channels.base import Envelope, SendResult
from bot.mentions import Values, fill
from bot.render import Reply
from bot.sms import segments
from bot.storage.documents import Document
from bot.storage.inserts import insert_returning_ids
from bot.storage.mentions import values
from bot.storage.models import Contact, OutboundMessage, Person, ReminderChoice
from bot.storage.privacy import FORGET_CONTACT, anonymise_contact

REPLY_PRIORITY = 0
BULK_PRIORITY = 10
BACKOFF_BASE_SECONDS = 2.0
BACKOFF_CAP_SECONDS = 300.0
# Kinds the person did not ask for: never sent after they opted out.
UNSOLICITED = ("reminder", "broadcast")
# Payload flag: an earlier attempt may have reached the provider (see Envelope.uncertain).
UNCERTAIN = "uncertain"


class Addressed(Protocol):
    """What queueing needs of a contact (an ORM Contact, or a turn's ContactRow)."""

    @property
    def id(self) -> int | None: ...

    @property
    def channel(self) -> str: ...


@dataclass(frozen=True)
class Queued:
    id: int
    status: str
    payload: dict[str, Any]


OUTBOX: sa.Table = OutboundMessage.__table__  # type: ignore[attr-defined]
# What tells the rows of answers apart (the parts of one answer have different texts).
REPLY_KEYS = ("in_reply_to", "text")


def enqueue_reply(
    db: Session,
    contact: Addressed,
    reply: Reply,
    in_reply_to: int | None,
    now: datetime,
    inline: bool = False,
) -> list[Queued]:
    """One row per provider message. `inline` rows are answered in the webhook response."""
    rows = reply_rows(contact, reply, in_reply_to, now, inline)
    ids = insert_returning_ids(db.connection(), OUTBOX, rows, REPLY_KEYS)
    return [Queued(i, row["status"], row["payload"]) for i, row in zip(ids, rows, strict=True)]


def reply_rows(
    contact: Addressed,
    reply: Reply,
    in_reply_to: int | None,
    now: datetime,
    inline: bool = False,
    shown: Reply | None = None,
) -> list[dict[str, Any]]:
    """The outbox rows of an answer, one per provider message, as values to insert. Other
    people named in it stay references (bot/mentions.py); `shown` is the answer with them
    written out, as it is sent: what each SMS part costs."""
    assert contact.id is not None
    rows: list[dict[str, Any]] = []
    last = len(reply.parts) - 1
    sent = (shown or reply).parts
    for index, part in enumerate(reply.parts):
        payload: dict[str, Any] = {"part": index, "parts": len(reply.parts)}
        if index == last:
            payload["buttons"] = list(reply.buttons)  # empty: take old buttons away
        if inline:
            payload["via"] = "inline"
        if contact.channel == "sms":
            payload["segments"] = segments(sent[index]).count  # what this part costs
        rows.append(
            {
                "contact_id": contact.id,
                "channel": contact.channel,
                "kind": "reply",
                "priority": REPLY_PRIORITY,
                "text": part,
                "payload": payload,
                "in_reply_to": in_reply_to,
                "status": "sent" if inline else "queued",
                "attempts": 1 if inline else 0,
                "sent_at": now if inline else None,
                "next_attempt_at": now,
                "created_at": now,
                "updated_at": now,
            }
        )
    return rows


def enqueue_document(
    db: Session,
    contact: Addressed,
    document: Document,
    in_reply_to: int | None,
    now: datetime,
) -> Queued:
    """A file after the answer it belongs to; stored whole, so sending needs no lookup."""
    assert contact.id is not None
    row = OutboundMessage(
        contact_id=contact.id,
        channel=contact.channel,
        kind="reply",
        priority=REPLY_PRIORITY,
        text=document.caption,
        payload={
            "document": {
                "filename": document.filename,
                "mime": document.mime,
                "content": document.content,
            }
        },
        in_reply_to=in_reply_to,
        next_attempt_at=now,
        created_at=now,
        updated_at=now,
    )
    db.add(row)
    db.flush()
    assert row.id is not None
    return Queued(row.id, row.status, row.payload)


@dataclass(frozen=True)
class Claimed:
    envelope: Envelope
    contact_id: int
    person_id: int
    kind: str
    attempts: int
    skip_reason: str | None  # set when the row must not be sent any more


def claim(
    db: Session,
    now: datetime,
    lease: timedelta,
    channels: Collection[str],
    limit: int = 100,
    contact_ids: Collection[int] | None = None,
) -> list[Claimed]:
    """Take up to `limit` due rows (replies first), including rows whose claim has expired."""
    table = OutboundMessage
    due = sa.or_(
        sa.and_(col(table.status) == "queued", col(table.next_attempt_at) <= now),
        sa.and_(col(table.status) == "sending", col(table.claimed_until) < now),
    )
    pick = (
        select(col(table.id), col(table.status))
        .where(due, col(table.channel).in_(channels))
        .order_by(col(table.priority), col(table.id))
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    if contact_ids is not None:
        pick = pick.where(col(table.contact_id).in_(contact_ids))
    # Select, then update the same rows: the rows are locked (PostgreSQL) or the database is
    # (SQLite, BEGIN IMMEDIATE) until commit, and we learn which were still "sending": their
    # dispatcher died mid-send, so the message may already be out.
    picked = db.exec(pick).all()
    if not picked:
        return []
    abandoned = {row_id for row_id, status in picked if status == "sending"}
    ids = [row_id for row_id, _ in picked]
    db.exec(
        sa.update(table)
        .where(col(table.id).in_(ids))
        .values(
            status="sending",
            claimed_until=now + lease,
            attempts=table.attempts + 1,
            updated_at=now,
        )
    )
    rows = db.exec(
        select(table, Contact, Person)
        .join(Contact, col(Contact.id) == table.contact_id)
        .join(Person, col(Person.id) == Contact.person_id)
        .where(col(table.id).in_(ids))
        .order_by(col(table.priority), col(table.id))
        .execution_options(populate_existing=True)
    ).all()
    declined = _declined_reminders(db, [(m, p) for m, _, p in rows if m.kind == "reminder"])
    named = values(db, (text for m, _, _ in rows if m.kind == "reply" for text in _texts(m)))
    return [
        _claimed(
            message,
            contact,
            person,
            _skip_reason(message, contact, person, now, declined),
            uncertain=message.id in abandoned or bool(message.payload.get(UNCERTAIN)),
            named=named,
        )
        for message, contact, person in rows
    ]


def _texts(message: OutboundMessage) -> list[str]:
    return [message.text, *message.payload.get("buttons", ())]


def _declined_reminders(
    db: Session, rows: list[tuple[OutboundMessage, Person]]
) -> set[tuple[int, str]]:
    """(person, event) pairs whose reminder was turned off after it was queued."""
    if not rows:
        return set()
    people = {p.id for _, p in rows}
    refused = db.exec(
        select(ReminderChoice.person_id, ReminderChoice.event_id).where(
            col(ReminderChoice.person_id).in_(people), col(ReminderChoice.wanted).is_(False)
        )
    ).all()
    return {(person_id, event_id) for person_id, event_id in refused}


def _skip_reason(
    message: OutboundMessage,
    contact: Contact,
    person: Person,
    now: datetime,
    declined: set[tuple[int, str]],
) -> str | None:
    """Why a row must not go out any more, or None. Checked at send time: things change."""
    if contact.unreachable_at is not None:
        return f"unreachable: {contact.unreachable_reason or 'unknown'}"
    if message.kind in UNSOLICITED and person.opted_out_at is not None:
        return "opted out"
    if message.kind != "reminder":
        return None
    expires = message.payload.get("expires_at")
    if expires and now >= datetime.fromisoformat(expires):
        return "the call has started"
    if person.reminders == "none" or (person.id, message.payload.get("event_id")) in declined:
        return "reminders turned off"
    return None


def _claimed(
    message: OutboundMessage,
    contact: Contact,
    person: Person,
    skip: str | None,
    uncertain: bool = False,
    named: Values | None = None,
) -> Claimed:
    assert message.id is not None and contact.id is not None and person.id is not None
    text, payload = message.text, dict(message.payload)
    if message.kind == "reply":  # only answers name others; nothing else is read for them
        text, payload = _written_out(message.channel, text, payload, person, named or {})
    envelope = Envelope(
        id=message.id,
        channel=message.channel,
        address=contact.address,
        text=text,
        payload=payload,
        language=person.language,
        kind=message.kind,
        phone=person.phone,
        last_inbound_at=contact.last_inbound_at,
        uncertain=uncertain,
        first_tried_at=message.created_at,
    )
    return Claimed(envelope, contact.id, person.id, message.kind, message.attempts, skip)


def _written_out(
    channel: str, text: str, payload: dict[str, Any], reader: Person, named: Values
) -> tuple[str, dict[str, Any]]:
    """The row as it is sent: the people it names written out as they are now (someone
    erased meanwhile reads as nobody), for this reader (bot/mentions.py)."""
    zawgyi = reader.zawgyi and reader.language == "my"
    text = fill(text, named, sms=channel == "sms", zawgyi=zawgyi)
    if payload.get("buttons"):
        payload["buttons"] = [fill(b, named, zawgyi=zawgyi) for b in payload["buttons"]]
    return text, payload


_UNWANTED = (
    sa.select(Person.opted_out_at, Contact.unreachable_at)  # type: ignore[call-overload]
    .join_from(Contact, Person, col(Contact.person_id) == col(Person.id))
    .where(col(Contact.id) == sa.bindparam("contact_id"))
)


def unwanted_now(connection: sa.Connection, contact_id: int) -> str | None:
    """Why an unsolicited message must not go after all: checked again right before sending
    (one indexed lookup, compiled once: it runs for every bulk message)."""
    row = connection.execute(_UNWANTED, {"contact_id": contact_id}).first()
    if row is None:
        return "contact gone"
    if row.opted_out_at is not None:
        return "opted out"
    if row.unreachable_at is not None:
        return "unreachable"
    return None


def backoff(attempts: int) -> float:
    return float(min(BACKOFF_BASE_SECONDS * 2 ** max(attempts - 1, 0), BACKOFF_CAP_SECONDS))


def record(
    db: Session, claimed: Claimed, result: SendResult, now: datetime, max_attempts: int
) -> tuple[str, datetime | None]:
    """Store what happened to one send: the row's new status and, if queued, when it is due."""
    message = db.get(OutboundMessage, claimed.envelope.id)
    if message is None:
        return "gone", None
    message.updated_at = now
    message.claimed_until = None
    if result.outcome == "sent":
        message.status, message.provider_id, message.sent_at = "sent", result.provider_id, now
        message.error = None
    elif result.outcome == "retry" and _reroutes(message, result.payload_update):
        # Same message, another route (a template, SMS): not a failed attempt, go again now.
        message.payload = {**message.payload, **(result.payload_update or {})}
        message.status, message.error, message.next_attempt_at = "queued", result.error, now
        message.attempts = max(message.attempts - 1, 0)
    elif result.outcome == "retry" and claimed.attempts < max_attempts:
        wait = max(result.retry_after or 0.0, backoff(claimed.attempts))
        message.status, message.error = "queued", result.error
        message.next_attempt_at = now + timedelta(seconds=wait)
        if result.ambiguous:
            message.payload = {**message.payload, UNCERTAIN: True}
    elif result.outcome == "held":
        message.status, message.error = "held", result.error
    else:
        message.status, message.error = "failed", _reason(result, claimed.attempts)
        _mark_contact(db, claimed, result, now)
    if message.status != "queued":
        _last_words(db, message)
    db.add(message)
    return message.status, message.next_attempt_at if message.status == "queued" else None


def _reroutes(message: OutboundMessage, update: dict[str, object] | None) -> bool:
    """A new route to try; asking for the route already taken would loop, so it is a failure."""
    return bool(update) and any(message.payload.get(k) != v for k, v in (update or {}).items())


def skip(db: Session, claimed: Claimed, now: datetime) -> None:
    message = db.get(OutboundMessage, claimed.envelope.id)
    if message is not None:
        message.status, message.error = "skipped", claimed.skip_reason
        message.claimed_until, message.updated_at = None, now
        _last_words(db, message)
        db.add(message)


def last_words(claimed: Claimed) -> bool:
    """The row is the goodbye after an erasure: once done with, its address goes."""
    return bool(claimed.envelope.payload.get(FORGET_CONTACT))


def _last_words(db: Session, message: OutboundMessage) -> None:
    """The goodbye after an erasure is done with (sent or not): its address goes too."""
    if message.payload.get(FORGET_CONTACT):
        anonymise_contact(db, message.contact_id)
        message.text, message.payload = "", {}


def release(db: Session, ids: Sequence[int], until: datetime, now: datetime) -> None:
    """Give rows back unsent (an earlier part of the same answer must go first)."""
    if not ids:
        return
    table = OutboundMessage
    db.exec(
        sa.update(table)
        .where(col(table.id).in_(ids))
        .values(
            status="queued",
            next_attempt_at=until,
            claimed_until=None,
            attempts=table.attempts - 1,
            updated_at=now,
        )
    )


def _reason(result: SendResult, attempts: int) -> str:
    if result.outcome == "retry":
        return f"gave up after {attempts} attempts: {result.error or 'transient error'}"
    return result.error or result.outcome


def _mark_contact(db: Session, claimed: Claimed, result: SendResult, now: datetime) -> None:
    if result.outcome == "unreachable":
        contact = db.get(Contact, claimed.contact_id)
        if contact is not None and contact.unreachable_at is None:
            contact.unreachable_at, contact.unreachable_reason = now, result.error
            db.add(contact)
    elif result.outcome == "opted_out":
        person = db.get(Person, claimed.person_id)
        if person is not None and person.opted_out_at is None:
            person.opted_out_at, person.updated_at = now, now
            db.add(person)
