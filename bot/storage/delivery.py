"""Delivery reports from providers: statuses only move forward, whatever order they arrive in."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, select

from bot.storage.models import Contact, OutboundMessage, Person

# How far along a message is. A report that is not further along than what we know is stale
# (a duplicate, or one that overtook another on the way) and changes nothing.
RANK = {"queued": 0, "sending": 1, "sent": 2, "delivered": 3, "failed": 3, "read": 4}


@dataclass(frozen=True)
class Report:
    provider_id: str
    status: str  # ours: sent, delivered, read, failed
    provider_status: str
    error_code: str | None = None
    error: str | None = None
    effect: str | None = None  # opted_out, unreachable, outside_window


def apply_report(db: Session, report: Report, now: datetime, outbound_id: int | None = None) -> str:
    """Record a delivery report; returns what happened (for logs and tests)."""
    message = _find(db, report.provider_id, outbound_id)
    if message is None:
        return "unknown message"
    if message.provider_id not in (None, report.provider_id):
        return "report for an earlier attempt"
    message.provider_id = report.provider_id
    if RANK.get(report.status, 0) <= RANK.get(message.status, 0):
        db.add(message)
        return "stale"
    if report.effect == "outside_window" and message.payload.get("route") != "outside_window":
        _reroute(message, report, now)
        db.add(message)
        return "rerouted"
    message.status, message.provider_status = report.status, report.provider_status
    message.error_code, message.updated_at = report.error_code, now
    if report.error:
        message.error = report.error
    _apply_effect(db, message, report.effect, report.error, now)
    db.add(message)
    return report.status


def _find(db: Session, provider_id: str, outbound_id: int | None) -> OutboundMessage | None:
    if outbound_id is not None:
        found = db.get(OutboundMessage, outbound_id, with_for_update=True)
        if found is not None:
            return found
    query = select(OutboundMessage).where(OutboundMessage.provider_id == provider_id)
    return db.exec(query.with_for_update()).first()


def _reroute(message: OutboundMessage, report: Report, now: datetime) -> None:
    """WhatsApp refused free text outside the window: send it again as a template or by SMS."""
    message.payload = {**message.payload, "route": "outside_window"}
    message.status, message.provider_id, message.next_attempt_at = "queued", None, now
    message.error, message.error_code, message.updated_at = report.error, report.error_code, now


def _apply_effect(
    db: Session, message: OutboundMessage, effect: str | None, reason: str | None, now: datetime
) -> None:
    contact = db.get(Contact, message.contact_id)
    if contact is None:
        return
    if effect == "unreachable" and contact.unreachable_at is None:
        contact.unreachable_at, contact.unreachable_reason = now, reason
        db.add(contact)
    elif effect == "opted_out":
        person = db.get(Person, contact.person_id)
        if person is not None and person.opted_out_at is None:
            person.opted_out_at, person.updated_at = now, now
            db.add(person)
