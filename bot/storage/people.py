"""People and their channel addresses: finding, creating, and applying the engine's changes."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlmodel import Session, select

from bot.channels.base import InboundMessage
from bot.engine.events import Event, SetField
from bot.engine.state import Profile
from bot.i18n.catalogs import LANGUAGES, match_language
from bot.i18n.formatting import Reader
from bot.phones import parse_phone
from bot.storage.models import Contact, Person
from bot.storage.turns import TurnPerson


def find_contact(db: Session, channel: str, address: str) -> Contact | None:
    return db.exec(
        select(Contact).where(Contact.channel == channel, Contact.address == address)
    ).first()


def new_person(db: Session, inbound: InboundMessage, now: datetime) -> Person:
    person = Person(**person_values(inbound, now))
    db.add(person)
    db.flush()
    return person


def person_values(inbound: InboundMessage, now: datetime) -> dict[str, Any]:
    """Someone we know nothing about yet, with what their number tells (country, language)."""
    phone = parse_phone(inbound.phone) if inbound.phone else None
    return {
        "phone": phone.e164 if phone else None,
        "language": (phone.language if phone else None) or match_language(inbound.language_hint),
        "country": phone.country if phone else None,
        "timezone": phone.timezone if phone else None,
        "created_at": now,
        "updated_at": now,
    }


def start_over(db: Session, contact: Contact, inbound: InboundMessage, now: datetime) -> Person:
    """A contact whose person erased their data belongs to a new person from now on."""
    person = new_person(db, inbound, now)
    assert person.id is not None
    contact.person_id = person.id
    db.add(contact)
    db.flush()
    return person


def profile_of(person: TurnPerson) -> Profile:
    return Profile(
        language=person.language,
        country=person.country,
        timezone=person.timezone,
        consent=person.consent_at is not None,
        opted_out=person.opted_out_at is not None,
        onboarded=person.onboarded_at is not None,
        role=person.role,
        reminders=person.reminders,
    )


def reader_of(person: TurnPerson) -> Reader:
    return Reader(
        language=person.language or "en",
        country=person.country,
        timezone=person.timezone,
        zawgyi=person.zawgyi,
    )


def apply_fields(person: TurnPerson, events: Iterable[Event], now: datetime) -> bool:
    """Write the engine's SetField events onto the person; True if anything changed."""
    changed = False
    for event in events:
        if isinstance(event, SetField):
            changed |= _apply(person, event.name, event.value, now)
    if changed:
        person.updated_at = now
    return changed


def _apply(person: TurnPerson, name: str, value: object, now: datetime) -> bool:
    if name == "language" and value in LANGUAGES:
        person.language = str(value)
    elif name == "country":
        person.country = str(value) if value else None
    elif name == "timezone":
        person.timezone = str(value) if value else None
    elif name == "consent":
        person.consent_at = (person.consent_at or now) if value else None
    elif name == "opted_out":
        person.opted_out_at = now if value else None
    elif name == "onboarded":
        person.onboarded_at = (person.onboarded_at or now) if value else None
    else:
        return False
    return True
