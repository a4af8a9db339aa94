"""Roles, granted by an operator: smallholder (everyone), champion of one country, secretariat.

A person is named by phone number ("+66812345678") or Telegram id ("tg:123456789", or just the
digits: then a phone number typed without its "+" is found too). Naming someone who never
wrote creates them, so Country Champions can be set up before launch: their first message then
lands on the pre-registered person.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from bot.phones import PhoneInfo, mask, parse_phone
from bot.storage.audit import audit
from bot.storage.models import Contact, Person

ROLES = ("smallholder", "champion", "secretariat")


class RoleError(ValueError):
    pass


@dataclass(frozen=True)
class Holder:
    person_id: int
    role: str
    country: str | None
    phone: str  # masked
    telegram: bool
    since: datetime


def _telegram_id(who: str) -> str | None:
    telegram_id = who.removeprefix("tg:") if who.startswith("tg:") or who.isdigit() else None
    if telegram_id is not None and not telegram_id.lstrip("-").isdigit():
        raise RoleError(f"not a Telegram id: {who}")
    return telegram_id


def _phone(who: str) -> PhoneInfo:
    phone = parse_phone(who)
    if phone is None:
        raise RoleError(f"not an international phone number (+...) or Telegram id: {who}")
    return phone


def find(db: Session, who: str) -> Person | None:
    """The person a phone number or Telegram id names, if we know them. Bare digits are a
    Telegram id or a phone number typed without its "+" (5511987654321)."""
    who = who.strip()
    telegram_id = _telegram_id(who)
    if telegram_id is None:
        return _by_phone(db, _phone(who).e164)
    contact = db.exec(
        select(Contact).where(Contact.channel == "telegram", Contact.address == telegram_id)
    ).first()
    by_telegram = db.get(Person, contact.person_id) if contact is not None else None
    phone = parse_phone(f"+{who}") if who.isdigit() else None
    by_phone = _by_phone(db, phone.e164) if phone is not None else None
    if by_telegram is not None and by_phone is not None and by_telegram.id != by_phone.id:
        raise RoleError(f"{who} is a Telegram id and a phone number: write tg:{who} or +{who}")
    return by_telegram or by_phone


def _by_phone(db: Session, e164: str) -> Person | None:
    return db.exec(select(Person).where(Person.phone == e164)).first()


def find_existing(db: Session, who: str) -> Person:
    person = find(db, who)
    if person is None or person.forgotten_at is not None:
        raise RoleError(f"nobody is registered as {who}")
    return person


def find_or_register(db: Session, who: str, now: datetime) -> Person:
    """The person a phone number or Telegram id names; created if they never wrote."""
    person = find(db, who)
    if person is not None:
        return person
    telegram_id = _telegram_id(who.strip())
    if telegram_id is not None:
        person = _new(db, Person(created_at=now, updated_at=now))
        assert person.id is not None
        db.add(
            Contact(person_id=person.id, channel="telegram", address=telegram_id, created_at=now)
        )
        return person
    phone = _phone(who.strip())
    return _new(
        db,
        Person(
            phone=phone.e164,
            language=phone.language,
            country=phone.country,
            timezone=phone.timezone,
            created_at=now,
            updated_at=now,
        ),
    )


def _new(db: Session, person: Person) -> Person:
    db.add(person)
    db.flush()
    return person


def grant(
    db: Session, who: str, role: str, country: str | None, now: datetime, actor: str
) -> Person:
    if role not in ROLES:
        raise RoleError(f"unknown role {role!r}: choose one of {', '.join(ROLES)}")
    if role == "champion" and not country:
        raise RoleError("a champion needs --country (the country they serve)")
    if role != "champion" and country:
        raise RoleError("only a champion has a country")
    person = find_or_register(db, who, now)
    if person.forgotten_at is not None:
        raise RoleError("this person erased their data")
    return _set_role(db, person, role, country.upper() if country else None, now, actor)


def revoke(db: Session, who: str, now: datetime, actor: str) -> Person:
    """Back to smallholder; only for someone we know (a revoke never registers anyone)."""
    return _set_role(db, find_existing(db, who), "smallholder", None, now, actor)


def _set_role(
    db: Session, person: Person, role: str, country: str | None, now: datetime, actor: str
) -> Person:
    before = {"role": person.role, "country": person.role_country}
    person.role, person.role_country, person.updated_at = role, country, now
    db.add(person)
    action = "revoke" if role == "smallholder" else "grant"
    audit(db, actor, action, f"person:{person.id}", now, role=role, country=country, before=before)
    return person


def holders(db: Session) -> list[Holder]:
    people = db.exec(
        select(Person)
        .where(Person.role != "smallholder")
        .order_by(col(Person.role), col(Person.id))
    ).all()
    telegram = set(
        db.exec(
            select(Contact.person_id).where(
                Contact.channel == "telegram", col(Contact.person_id).in_([p.id for p in people])
            )
        ).all()
    )
    return [
        Holder(p.id, p.role, p.role_country, mask(p.phone), p.id in telegram, p.updated_at)
        for p in people
        if p.id is not None
    ]
