"""A person's data rights: see what is stored about them, and erase it.

Erasing keeps only what cannot name anyone: the person row (no phone, no name, no profile),
message rows with their text blanked (so counts and delivery figures stay true), withdrawn
statement versions with their content blanked (so the Secretariat sees "withdrawn").
The contact the person asked from keeps its address until the goodbye is sent (see
`forget_after_sending`); every other address is replaced at once. Messages to others name the
person only by reference (bot/mentions.py), which reads as nobody from then on: nothing of
theirs is there to erase.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlmodel import Session, col, delete, func, select

from bot.engine.messages import (
    CountryName,
    LanguageName,
    Literal,
    LocalTime,
    Msg,
    ZoneName,
    lines,
    msg,
)
from bot.storage.audit import audit
from bot.storage.models import (
    Completion,
    Contact,
    Conversation,
    HelpRequest,
    InboundMessage,
    OutboundMessage,
    Person,
    ReminderChoice,
    StatementVersion,
)
from bot.storage.statements import latest

if TYPE_CHECKING:  # outbox imports this module: the goodbye's flag is ours
    from bot.storage.outbox import Queued

# Payload flag on the goodbye row: once it is sent (or given up), its contact is anonymised.
FORGET_CONTACT = "forget_contact"
CHANNEL_NAMES = {"sms": "SMS", "whatsapp": "WhatsApp", "telegram": "Telegram", "console": "console"}


def summary(db: Session, person: Person) -> Msg:
    """Everything we keep about the person, in a few plain sentences."""
    assert person.id is not None
    contacts = db.exec(select(Contact).where(Contact.person_id == person.id)).all()
    channels = ", ".join(sorted({CHANNEL_NAMES.get(c.channel, c.channel) for c in contacts}))
    parts = [
        msg(
            "What we keep about you: language %(language)s, country %(country)s, "
            "time zone %(zone)s.",
            language=LanguageName(person.language or "en"),
            country=CountryName(person.country),
            zone=ZoneName(person.timezone),
        ),
        msg(
            "Phone: %(phone)s. You write to us on: %(channels)s. Messages kept: %(messages)s.",
            phone=Literal(person.phone or "-"),
            channels=Literal(channels or "-"),
            messages=_message_count(db, [c.id for c in contacts if c.id is not None]),
        ),
        _reminders(person.reminders),
        *_open_requests(db, person.id),
        _statement(db, person.id),
        msg("To erase all of it, send DELETE MY DATA."),
    ]
    return lines(*parts)


def _message_count(db: Session, contact_ids: list[int]) -> int:
    if not contact_ids:
        return 0
    count = 0
    for table in (InboundMessage, OutboundMessage):
        count += db.exec(
            select(func.count()).select_from(table).where(col(table.contact_id).in_(contact_ids))
        ).one()
    return count


def _reminders(setting: str) -> Msg:
    if setting == "none":
        return msg("Call reminders: off.")
    if setting == "chosen":
        return msg("Call reminders: only for the calls you chose.")
    return msg("Call reminders: for every call.")


def _open_requests(db: Session, person_id: int) -> list[Msg]:
    """Practice calls asked for and not yet given: the person should know one is coming."""
    asked = db.exec(
        select(HelpRequest.created_at).where(
            HelpRequest.person_id == person_id,
            HelpRequest.kind == "practice_call",
            col(HelpRequest.handled_at).is_(None),
        )
    ).all()
    return [
        msg(
            "Practice call: you asked on %(when)s; your Country Champion will contact you.",
            when=LocalTime(when, style="date"),
        )
        for when in asked
    ]


def _statement(db: Session, person_id: int) -> Msg:
    current = latest(db, person_id)
    if current is None:
        return msg("Candidate statement: none.")
    return msg(
        "Candidate statement: version %(version)s, sent %(when)s.",
        version=current.version,
        when=LocalTime(current.submitted_at, style="date"),
    )


def forget(
    db: Session, person: Person, now: datetime, actor: str, keep_contact: int | None = None
) -> None:
    """Erase the person's data. `keep_contact` keeps its address until the goodbye is sent."""
    person_id = person.id
    assert person_id is not None
    found = db.exec(select(Contact.id).where(Contact.person_id == person_id)).all()
    contact_ids = [i for i in found if i is not None]
    db.exec(
        sa.update(InboundMessage)
        .where(col(InboundMessage.contact_id).in_(contact_ids))
        .values(text="", media_url=None)
    )
    _blank_outbound(db, contact_ids)
    db.exec(
        sa.update(StatementVersion)
        .where(col(StatementVersion.person_id) == person_id)
        .values(
            answers={},
            text="",
            area_ha=None,
            area_original=None,
            withdrawn_at=sa.func.coalesce(col(StatementVersion.withdrawn_at), now),
        )
    )
    for table in (ReminderChoice, HelpRequest, Completion):
        db.exec(delete(table).where(col(table.person_id) == person_id))
    db.exec(
        sa.update(HelpRequest)
        .where(col(HelpRequest.handled_by) == person_id)
        .values(handled_by=None)
    )
    for contact_id in contact_ids:
        if contact_id != keep_contact:
            anonymise_contact(db, contact_id)
    conversation = db.get(Conversation, person_id)
    if conversation is not None:
        conversation.flow, conversation.step, conversation.flow_version = None, None, 0
        conversation.state, conversation.labels, conversation.updated_at = {}, [], now
        db.add(conversation)
    person.phone = person.name = person.language = person.timezone = None
    person.country = person.role_country = None
    person.consent_at = person.onboarded_at = None
    person.role, person.reminders, person.zawgyi = "smallholder", "none", False
    person.opted_out_at = person.opted_out_at or now  # never written to again
    person.forgotten_at = person.updated_at = now
    db.add(person)
    audit(db, actor, "forget", f"person:{person_id}", now)


def _blank_outbound(db: Session, contact_ids: list[int]) -> None:
    """Blank what we sent them and cancel what is still queued. The goodbye of this very turn
    is queued after this runs, so it is untouched."""
    table = OutboundMessage
    db.exec(
        sa.update(table)
        .where(col(table.contact_id).in_(contact_ids), col(table.status) == "queued")
        .values(status="skipped", error="data erased")
    )
    db.exec(
        sa.update(table).where(col(table.contact_id).in_(contact_ids)).values(text="", payload={})
    )


def anonymise_contact(db: Session, contact_id: int) -> None:
    """The address goes; the row stays so message counts per channel stay true."""
    contact = db.get(Contact, contact_id)
    if contact is None or contact.address.startswith("erased:"):
        return
    contact.address = f"erased:{contact_id}"
    contact.display_name = None
    contact.last_inbound_at = None
    contact.unreachable_at = contact.unreachable_at or contact.created_at
    contact.unreachable_reason = "data erased"
    db.add(contact)


def forget_contact_after(db: Session, contact_id: int, rows: Sequence[Queued]) -> None:
    """The goodbye is the last thing sent to this address: an answer given in the webhook
    response is already out, so the address goes now; otherwise once the last part is sent."""
    if not rows or all(row.status == "sent" for row in rows):
        anonymise_contact(db, contact_id)
        return
    last = rows[-1]
    db.exec(
        sa.update(OutboundMessage)
        .where(col(OutboundMessage.id) == last.id)
        .values(payload={**last.payload, FORGET_CONTACT: True})
    )
