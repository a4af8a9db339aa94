"""The tables. One person may be reached at several channel addresses (contacts).

Every datetime is timezone-aware: `UTCDateTime` refuses naive values and reads back UTC on
SQLite, which has no time zones of its own.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import JSON, Field, SQLModel


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; use an aware one")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


def _when(**kwargs: Any) -> Any:
    return Field(sa_type=UTCDateTime, **kwargs)


class Person(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    phone: str | None = Field(default=None, unique=True, max_length=20)  # E.164
    name: str | None = Field(default=None, max_length=200)
    language: str | None = Field(default=None, max_length=8)
    country: str | None = Field(default=None, max_length=2)
    timezone: str | None = Field(default=None, max_length=64)
    consent_at: datetime | None = _when(default=None)
    opted_out_at: datetime | None = _when(default=None)
    onboarded_at: datetime | None = _when(default=None)
    zawgyi: bool = False  # writes Burmese in Zawgyi: our replies are converted for them
    role: str = Field(default="smallholder", max_length=20)
    role_country: str | None = Field(default=None, max_length=2)
    reminders: str = Field(default="all", max_length=8)  # all, chosen (per event), none
    forgotten_at: datetime | None = _when(default=None)  # erased on request: counts only
    created_at: datetime = _when(default_factory=utcnow)
    updated_at: datetime = _when(default_factory=utcnow)


class Contact(SQLModel, table=True):
    """One channel address of a person: an SMS or WhatsApp number, a Telegram chat."""

    __table_args__ = (sa.UniqueConstraint("channel", "address"),)

    id: int | None = Field(default=None, primary_key=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    channel: str = Field(max_length=16)
    address: str = Field(max_length=64)
    display_name: str | None = Field(default=None, max_length=200)
    last_inbound_at: datetime | None = _when(default=None)
    unreachable_at: datetime | None = _when(default=None)
    unreachable_reason: str | None = Field(default=None, max_length=200)
    created_at: datetime = _when(default_factory=utcnow)


class Conversation(SQLModel, table=True):
    """A person's place in the conversation: the engine state, shared by all their contacts."""

    person_id: int = Field(foreign_key="person.id", primary_key=True)
    flow: str | None = Field(default=None, max_length=64)
    flow_version: int = 0
    step: str | None = Field(default=None, max_length=64)
    state: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    # The choice labels last shown, so a tapped button or a typed label reads as its number.
    labels: list[str] = Field(default_factory=list, sa_type=JSON)
    revision: int = 0
    updated_at: datetime = _when(default_factory=utcnow)


class InboundMessage(SQLModel, table=True):
    __tablename__ = "inbound_message"
    __table_args__ = (sa.UniqueConstraint("channel", "dedupe_key"),)

    id: int | None = Field(default=None, primary_key=True)
    contact_id: int = Field(foreign_key="contact.id", index=True)
    channel: str = Field(max_length=16)
    dedupe_key: str = Field(max_length=128)  # provider id: Telegram update_id, Twilio MessageSid
    text: str = Field(default="", sa_type=sa.Text)
    media_url: str | None = Field(default=None, max_length=1000)
    received_at: datetime = _when(default_factory=utcnow)


class OutboundMessage(SQLModel, table=True):
    """A message to send, stored before it is sent: the outbox the dispatcher drains."""

    __tablename__ = "outbound_message"
    __table_args__ = (sa.Index("ix_outbound_due", "status", "next_attempt_at", "priority"),)

    id: int | None = Field(default=None, primary_key=True)
    contact_id: int = Field(foreign_key="contact.id", index=True)
    channel: str = Field(max_length=16)
    kind: str = Field(default="reply", max_length=16)  # reply, reminder, broadcast
    priority: int = 0  # lower first: replies before bulk
    text: str = Field(default="", sa_type=sa.Text)
    payload: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)  # buttons, part
    in_reply_to: int | None = Field(default=None, foreign_key="inbound_message.id")
    broadcast_id: int | None = Field(default=None, index=True)  # for delivery reports
    dedupe_key: str | None = Field(default=None, unique=True, max_length=128)
    # queued -> sending -> sent -> delivered -> read; or failed, skipped, held
    status: str = Field(default="queued", max_length=16)
    attempts: int = 0
    next_attempt_at: datetime = _when(default_factory=utcnow)
    claimed_until: datetime | None = _when(default=None)
    provider_id: str | None = Field(default=None, index=True, max_length=64)
    provider_status: str | None = Field(default=None, max_length=32)  # e.g. Twilio's "undelivered"
    error_code: str | None = Field(default=None, max_length=16)  # the provider's own code
    error: str | None = Field(default=None, max_length=500)
    created_at: datetime = _when(default_factory=utcnow)
    sent_at: datetime | None = _when(default=None)
    updated_at: datetime = _when(default_factory=utcnow)


class Event(SQLModel, table=True):
    """A call or the General Assembly, as the Secretariat imported it."""

    id: str = Field(primary_key=True, max_length=64)  # the Secretariat's id: re-import updates
    kind: str = Field(max_length=16)  # national, international, ga
    country: str | None = Field(default=None, max_length=2, index=True)  # None: every country
    starts_at: datetime = _when(index=True)
    duration_minutes: int = 90
    join_url: str | None = Field(default=None, max_length=500)
    meeting_id: str | None = Field(default=None, max_length=64)
    passcode: str | None = Field(default=None, max_length=64)
    dial_in: dict[str, list[str]] = Field(default_factory=dict, sa_type=JSON)  # country -> numbers
    title: dict[str, str] = Field(default_factory=dict, sa_type=JSON)  # language -> text
    agenda: dict[str, str] = Field(default_factory=dict, sa_type=JSON)
    created_at: datetime = _when(default_factory=utcnow)
    updated_at: datetime = _when(default_factory=utcnow)


class Resolution(SQLModel, table=True):
    id: str = Field(primary_key=True, max_length=64)
    position: int = 0
    title: dict[str, str] = Field(default_factory=dict, sa_type=JSON)
    summary: dict[str, str] = Field(default_factory=dict, sa_type=JSON)
    detail: dict[str, str] = Field(default_factory=dict, sa_type=JSON)
    updated_at: datetime = _when(default_factory=utcnow)


class ReminderChoice(SQLModel, table=True):
    """A person's yes or no to reminders for one event, over their general preference."""

    __tablename__ = "reminder_choice"

    person_id: int = Field(foreign_key="person.id", primary_key=True)
    event_id: str = Field(primary_key=True, max_length=64)
    wanted: bool = True
    updated_at: datetime = _when(default_factory=utcnow)


class HelpRequest(SQLModel, table=True):
    """Something a person asked a human for; a Country Champion follows it up."""

    __tablename__ = "help_request"

    id: int | None = Field(default=None, primary_key=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    kind: str = Field(max_length=32)  # practice_call
    created_at: datetime = _when(default_factory=utcnow)
    handled_at: datetime | None = _when(default=None)
    handled_by: int | None = Field(default=None, foreign_key="person.id")


class Completion(SQLModel, table=True):
    """Who finished which flow (onboarding, the tutorial...), first and last time."""

    person_id: int = Field(foreign_key="person.id", primary_key=True)
    flow: str = Field(primary_key=True, max_length=64)
    first_at: datetime = _when(default_factory=utcnow)
    last_at: datetime = _when(default_factory=utcnow)


class ReminderPlan(SQLModel, table=True):
    """How long before a kind of call the Secretariat wants reminders sent (minutes)."""

    __tablename__ = "reminder_plan"

    kind: str = Field(primary_key=True, max_length=16)  # national, international, ga
    offsets: list[int] = Field(default_factory=list, sa_type=JSON)
    updated_at: datetime = _when(default_factory=utcnow)


class StatementVersion(SQLModel, table=True):
    """A candidate statement as confirmed and sent: every version kept."""

    __tablename__ = "statement_version"
    __table_args__ = (sa.UniqueConstraint("person_id", "version"),)

    id: int | None = Field(default=None, primary_key=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    version: int
    answers: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)  # as typed (Unicode)
    text: str = Field(default="", sa_type=sa.Text)  # assembled, in `language`
    language: str = Field(max_length=8)
    channel: str = Field(max_length=16)
    area_ha: float | None = None
    area_original: str | None = Field(default=None, max_length=80)
    submitted_at: datetime = _when(default_factory=utcnow)
    withdrawn_at: datetime | None = _when(default=None)


class AuditEntry(SQLModel, table=True):
    """Who did what, when: role changes, broadcasts, exports, refused commands, erasures."""

    __tablename__ = "audit_entry"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = _when(default_factory=utcnow, index=True)
    actor: str = Field(max_length=64)  # "person:12", or "cli" for an operator
    action: str = Field(max_length=32)
    target: str | None = Field(default=None, max_length=128)
    details: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)


class Broadcast(SQLModel, table=True):
    """One message to many; expanded by the worker into outbox rows, one per person, once."""

    id: int | None = Field(default=None, primary_key=True)
    created_by: int | None = Field(default=None, foreign_key="person.id")  # None: the CLI
    country: str | None = Field(default=None, max_length=2)  # None: every country
    audience: str = Field(max_length=16)  # all, not_tutorial, event
    event_id: str | None = Field(default=None, max_length=64)
    text: str = Field(sa_type=sa.Text)
    status: str = Field(default="pending", max_length=16)  # pending -> queued
    recipients: int = 0
    created_at: datetime = _when(default_factory=utcnow)
    expanded_at: datetime | None = _when(default=None)
