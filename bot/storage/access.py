"""An access request: everything stored about one person, as one document they can be given.

Every row that is about the person, whole: their profile, their channel addresses, where they
are in the conversation, every message from and to them, every statement version, what they
asked for and the help they gave, their reminder choices and completed flows, the broadcasts
they sent, and every audit entry naming them (as actor or as target).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session, SQLModel, col, or_, select

from bot.storage.audit import person_actor
from bot.storage.models import (
    AuditEntry,
    Broadcast,
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


def everything(db: Session, person: Person, now: datetime) -> dict[str, Any]:
    person_id = person.id
    assert person_id is not None
    contacts = _all(db, select(Contact).where(Contact.person_id == person_id))
    contact_ids = [c.id for c in contacts]
    conversation = db.get(Conversation, person_id)
    return {
        "exported_at": now.isoformat(),
        "person": _plain(person),
        "contacts": [_plain(c) for c in contacts],
        "conversation": _plain(conversation) if conversation else None,
        "messages_from_them": _rows(
            db, select(InboundMessage).where(col(InboundMessage.contact_id).in_(contact_ids))
        ),
        "messages_to_them": _rows(
            db, select(OutboundMessage).where(col(OutboundMessage.contact_id).in_(contact_ids))
        ),
        "statement_versions": _rows(
            db, select(StatementVersion).where(StatementVersion.person_id == person_id)
        ),
        "help_requests": _rows(db, select(HelpRequest).where(HelpRequest.person_id == person_id)),
        "help_given": _rows(db, select(HelpRequest).where(HelpRequest.handled_by == person_id)),
        "reminder_choices": _rows(
            db, select(ReminderChoice).where(ReminderChoice.person_id == person_id)
        ),
        "completed_flows": _rows(db, select(Completion).where(Completion.person_id == person_id)),
        "broadcasts_sent": _rows(db, select(Broadcast).where(Broadcast.created_by == person_id)),
        "audit_entries": _rows(db, select(AuditEntry).where(_names(person_id))),
    }


def _names(person_id: int) -> Any:
    me = person_actor(person_id)
    return or_(col(AuditEntry.actor) == me, col(AuditEntry.target) == me)


def _rows(db: Session, query: Any) -> list[dict[str, Any]]:
    return [_plain(row) for row in _all(db, query)]


def _all(db: Session, query: Any) -> list[Any]:
    """Rows in a stable order: by their primary key (every key column for a composite one)."""
    model = query.column_descriptions[0]["entity"]
    return list(db.exec(query.order_by(*model.__table__.primary_key.columns)).all())


def _plain(row: SQLModel) -> dict[str, Any]:
    return row.model_dump(mode="json")
