"""A small population of smallholders and staff, talking through the real pipeline."""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.channels.base import InboundMessage
from bot.dispatcher import Dispatcher
from bot.flowfiles import FlowSet
from bot.pipeline import Pipeline
from bot.storage.models import Contact, Conversation, OutboundMessage, Person
from tests.storage.helpers import Clock, FakeSender

_numbers = itertools.count(1000)
# One number per country, with room for a running suffix.
PREFIX = {"TH": "+6681234", "VN": "+8491234", "GH": "+23324123", "ID": "+62812345"}


@dataclass
class World:
    engine: Engine
    flows: FlowSet
    clock: Clock
    prices: dict[str, float] = field(default_factory=dict)
    senders: dict[str, FakeSender] = field(default_factory=dict)

    @property
    def pipeline(self) -> Pipeline:
        return Pipeline(self.engine, self.flows, clock=self.clock, prices=self.prices)

    def person(
        self,
        country: str = "TH",
        *,
        channel: str = "sms",
        language: str = "en",
        role: str = "smallholder",
        consent: bool = True,
        onboarded: bool = True,
        opted_out: bool = False,
        unreachable: bool = False,
        wrote_hours_ago: float | None = 1.0,
        name: str | None = None,
    ) -> str:
        """A person with one contact; returns the contact's address."""
        now = self.clock()
        phone = f"{PREFIX[country]}{next(_numbers)}"
        address = phone if channel != "telegram" else str(next(_numbers) * 1000)
        with Session(self.engine) as db, db.begin():
            person = Person(
                phone=phone,
                language=language,
                country=country,
                timezone="UTC",
                role=role,
                role_country=country if role == "champion" else None,
                consent_at=now - timedelta(days=1) if consent else None,
                onboarded_at=now - timedelta(days=1) if onboarded else None,
                opted_out_at=now if opted_out else None,
                created_at=now - timedelta(days=1),
            )
            db.add(person)
            db.flush()
            assert person.id is not None
            db.add(
                Contact(
                    person_id=person.id,
                    channel=channel,
                    address=address,
                    display_name=name,
                    last_inbound_at=None
                    if wrote_hours_ago is None
                    else now - timedelta(hours=wrote_hours_ago),
                    unreachable_at=now if unreachable else None,
                    unreachable_reason="blocked" if unreachable else None,
                )
            )
        return address

    def say(
        self, address: str, text: str, channel: str = "sms", display_name: str | None = None
    ) -> str:
        """Send as the person (`display_name`: what their app shows); the answer's text."""
        self.clock.advance(seconds=30)
        handled = self.pipeline.handle(
            InboundMessage(
                channel=channel,
                address=address,
                dedupe_key=f"in-{next(_numbers)}",
                text=text,
                phone=address if channel != "telegram" else None,
                display_name=display_name,
            )
        )
        return handled.reply.text if handled.reply else ""

    def choose(self, address: str, option_id: str, channel: str = "sms") -> str:
        """Answer the question on screen by an option's id (or an item's id)."""
        with Session(self.engine) as db:
            contact = db.exec(select(Contact).where(Contact.address == address)).one()
            state = db.exec(
                select(Conversation.state).where(Conversation.person_id == contact.person_id)
            ).one()
        options = (state.get("waiting") or {}).get("options") or []
        for number, option in enumerate(options, 1):
            if option in (option_id, f"item:{option_id}"):
                return self.say(address, str(number), channel)
        raise LookupError(f"no option {option_id!r} among {options}")

    def person_id(self, address: str) -> int:
        with Session(self.engine) as db:
            return db.exec(select(Contact.person_id).where(Contact.address == address)).one()

    def dispatch(self, rounds: int = 20) -> None:
        """Send everything due, with fake senders for every channel."""
        for name in ("sms", "whatsapp", "telegram"):
            self.senders.setdefault(name, FakeSender())
        dispatcher = Dispatcher(self.engine, self.senders, clock=self.clock)
        for _ in range(rounds):
            if not asyncio.run(dispatcher.dispatch_once(limit=1000)):
                return

    def outbox(self, **where: object) -> list[OutboundMessage]:
        with Session(self.engine) as db:
            query = select(OutboundMessage).order_by(OutboundMessage.id)  # type: ignore[arg-type]
            for name, value in where.items():
                query = query.where(getattr(OutboundMessage, name) == value)
            return list(db.exec(query).all())
