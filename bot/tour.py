"""A guided tour: a person (and the people around them) played through the real pipeline.

SQLite in a temporary folder, the sample schedule and resolutions; options are chosen by id,
and every message sent is recorded with its SMS segments. Used by the content tests and by
the SMS reach report (`bot/reach.py`).
"""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.channels.base import InboundMessage
from bot.content_import import import_resolutions, import_schedule
from bot.demo import SAMPLES
from bot.flowfiles import flow_set
from bot.mentions import fill
from bot.pipeline import Pipeline
from bot.sms import segments
from bot.storage.db import make_engine
from bot.storage.mentions import values
from bot.storage.migrate import upgrade
from bot.storage.models import Contact, Conversation, OutboundMessage, Person

# A moment before the sample calls, so every event is still upcoming.
TOUR_TIME = datetime(2027, 7, 1, 6, 0, tzinfo=UTC)
HOME = {
    "en": ("GH", "Africa/Accra", "+233241234567"),
    "pt_BR": ("BR", "America/Sao_Paulo", "+5511987654321"),
    "fr": ("CI", "Africa/Abidjan", "+2250701234567"),
    "id": ("ID", "Asia/Jakarta", "+6281234567890"),
    "my": ("MM", "Asia/Yangon", "+959421234567"),
    "th": ("TH", "Asia/Bangkok", "+66812345678"),
    "vi": ("VN", "Asia/Ho_Chi_Minh", "+84912345678"),
}


@dataclass(frozen=True)
class Sent:
    flow: str | None
    text: str
    segments: int
    encoding: str


@dataclass
class Tour:
    pipeline: Pipeline
    language: str
    channel: str
    address: str
    now: datetime
    sent: list[Sent] = field(default_factory=list)

    def send(
        self,
        text: str,
        channel: str | None = None,
        address: str | None = None,
        media: str | None = None,
    ) -> list[Sent]:
        """Send as the person, by default on the tour's channel (another one: same person),
        or as someone else of the tour (`address`)."""
        self.now += timedelta(minutes=1)
        inbound = InboundMessage(
            channel or self.channel,
            address or self.address,
            f"tour-{uuid.uuid4()}",
            text,
            # Another channel of the same person shares its number; another address is
            # someone else of the tour (a champion), with their own.
            phone=self.address if channel else (address or self.address),
            media_url=media,
        )
        handled = self.pipeline.handle(inbound)
        with Session(self.pipeline.engine) as db:
            rows = db.exec(
                select(OutboundMessage)
                .where(OutboundMessage.in_reply_to == handled.inbound_id)
                .order_by(col(OutboundMessage.id))
            ).all()
            found = values(db, [r.text for r in rows])  # others named in it, written out
            flow = self._flow(db, address or self.address)
        sms = (channel or self.channel) == "sms"
        texts = [fill(r.text, found, sms=sms) for r in rows]
        new = [Sent(flow, t, segments(t).count, segments(t).encoding) for t in texts]
        self.sent += new
        return new

    def choose(self, option_id: str, address: str | None = None) -> list[Sent]:
        """Answer the question on screen by picking an option by its id (or an item's id)."""
        options = self.options(address)
        wanted = [o for o in options if o == option_id or o == f"item:{option_id}"]
        if not wanted:
            raise LookupError(f"no option {option_id!r} among {options}")
        return self.send(str(options.index(wanted[0]) + 1), address=address)

    def options(self, address: str | None = None) -> list[str]:
        """The ids of the options on screen, in number order."""
        with Session(self.pipeline.engine) as db:
            state = db.exec(
                select(Conversation.state)
                .join(Contact, col(Contact.person_id) == col(Conversation.person_id))
                .where(Contact.address == (address or self.address))
            ).one()
        return [str(o) for o in (state.get("waiting") or {}).get("options") or []]

    @staticmethod
    def _flow(db: Session, address: str) -> str | None:
        return db.exec(
            select(Conversation.flow)
            .join(Contact, col(Contact.person_id) == col(Conversation.person_id))
            .where(Contact.address == address)
        ).first()


@contextmanager
def tour(
    language: str,
    channel: str = "sms",
    country: str | None = None,
    timezone: str | None = None,
    statement_deadline: datetime | None = None,
    fresh: bool = False,
) -> Iterator[Tour]:
    """A consented, onboarded person (of the language's country unless told), at the menu;
    with `fresh`, nobody yet: the phone's first message starts the onboarding."""
    home_country, home_zone, phone = HOME[language]
    country, timezone = country or home_country, timezone or home_zone
    with tempfile.TemporaryDirectory() as folder:
        engine = make_engine(f"sqlite:///{Path(folder) / 'tour.db'}")
        upgrade(engine)
        with Session(engine) as db, db.begin():
            import_schedule(db, SAMPLES / "schedule.yaml", TOUR_TIME)
            import_resolutions(db, SAMPLES / "resolutions.yaml", TOUR_TIME)
        if not fresh:
            add_person(engine, phone, language, country, timezone, channel=channel)
        pipeline = Pipeline(engine, flow_set(), statement_deadline=statement_deadline)
        state = Tour(pipeline, language, channel, phone, TOUR_TIME)
        state.pipeline.clock = lambda: state.now
        try:
            yield state
        finally:
            engine.dispose()


def add_person(
    engine: Engine,
    phone: str,
    language: str,
    country: str | None,
    timezone: str | None,
    *,
    channel: str = "sms",
    role: str = "smallholder",
    name: str | None = None,
    onboarded: bool = True,
) -> str:
    """Someone already registered, who agreed to messages; returns their address."""
    with Session(engine) as db, db.begin():
        person = Person(
            phone=phone,
            language=language,
            country=country,
            timezone=timezone,
            role=role,
            role_country=country if role == "champion" else None,
            consent_at=TOUR_TIME,
            onboarded_at=TOUR_TIME if onboarded else None,
            created_at=TOUR_TIME,
        )
        db.add(person)
        db.flush()
        assert person.id is not None
        db.add(Contact(person_id=person.id, channel=channel, address=phone, display_name=name))
    return phone
