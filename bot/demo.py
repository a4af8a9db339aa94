"""Demo data for `make run`: a few smallholders in each country, at different stages."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.phones import parse_phone
from bot.storage.models import Contact, Person, utcnow

SAMPLES = Path(__file__).resolve().parent / "samples"


@dataclass(frozen=True)
class DemoPerson:
    name: str
    phone: str
    channel: str
    onboarded: bool
    zawgyi: bool = False
    timezone: str | None = None


DEMO_PEOPLE = (
    DemoPerson("Raimundo Souza", "+5568999123456", "sms", True, timezone="America/Rio_Branco"),
    DemoPerson("Ana Lima", "+5592988123456", "whatsapp", False, timezone="America/Manaus"),
    DemoPerson("Koffi Yao", "+2250701234567", "whatsapp", True),
    DemoPerson("Ama Mensah", "+233241234567", "sms", False),
    DemoPerson("Siti Rahayu", "+6281234567890", "whatsapp", True, timezone="Asia/Jakarta"),
    DemoPerson("Yohanes Wenda", "+6281344556677", "sms", False, timezone="Asia/Jayapura"),
    DemoPerson("Daw Khin Myint", "+959421234567", "sms", True, zawgyi=True),
    DemoPerson("Somchai Sukjai", "+66812345679", "telegram", True),
    DemoPerson("Nguyen Van Binh", "+84912345678", "sms", False),
)


def load(engine: Engine, now: datetime | None = None) -> int:
    """Insert the demo people that are missing; returns how many were added."""
    now = now or utcnow()
    added = 0
    with Session(engine) as db, db.begin():
        for demo in DEMO_PEOPLE:
            info = parse_phone(demo.phone)
            assert info is not None, demo.phone
            if db.exec(select(Person).where(Person.phone == info.e164)).first():
                continue
            joined = now - timedelta(days=3)
            person = Person(
                phone=info.e164,
                name=demo.name,
                language=info.language,
                country=info.country,
                timezone=demo.timezone or info.timezone,
                consent_at=joined if demo.onboarded else None,
                onboarded_at=joined if demo.onboarded else None,
                zawgyi=demo.zawgyi,
                created_at=joined,
                updated_at=joined,
            )
            db.add(person)
            db.flush()
            assert person.id is not None
            address = info.e164.lstrip("+") if demo.channel == "telegram" else info.e164
            db.add(Contact(person_id=person.id, channel=demo.channel, address=address))
            added += 1
    return added
