"""What our messages cost on SMS, per language: a guided tour through every content flow.

A tour plays a person through the real pipeline (SQLite in a temporary folder, the sample
schedule and resolutions) choosing options by id, and records every message with its SMS
segments. Used by the tests (no message over 3 segments, the tutorial within 20) and by
`bot i18n reach`.
"""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlmodel import Session, select

from bot.channels.base import InboundMessage
from bot.content_import import import_resolutions, import_schedule
from bot.demo import SAMPLES
from bot.flowfiles import flow_set
from bot.i18n.catalogs import LANGUAGES
from bot.pipeline import Pipeline
from bot.sms import segments
from bot.storage.db import make_engine
from bot.storage.migrate import upgrade
from bot.storage.models import Contact, Conversation, OutboundMessage, Person

MAX_SEGMENTS_PER_MESSAGE = 3
TUTORIAL_BUDGET = 20
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

    def send(self, text: str, channel: str | None = None, address: str | None = None) -> list[Sent]:
        """Send as the person, by default on the tour's channel (another one: same person)."""
        self.now += timedelta(minutes=1)
        inbound = InboundMessage(
            channel or self.channel,
            address or self.address,
            f"tour-{uuid.uuid4()}",
            text,
            phone=self.address,
        )
        handled = self.pipeline.handle(inbound)
        with Session(self.pipeline.engine) as db:
            rows = db.exec(
                select(OutboundMessage).where(OutboundMessage.in_reply_to == handled.inbound_id)
            ).all()
            flow = db.exec(select(Conversation.flow)).first()
        new = [Sent(flow, r.text, segments(r.text).count, segments(r.text).encoding) for r in rows]
        self.sent += new
        return new

    def choose(self, option_id: str) -> list[Sent]:
        """Answer the question on screen by picking an option by its id (or an item's id)."""
        with Session(self.pipeline.engine) as db:
            state = db.exec(select(Conversation.state)).one()
        options = (state.get("waiting") or {}).get("options") or []
        wanted = [o for o in options if o == option_id or o == f"item:{option_id}"]
        if not wanted:
            raise LookupError(f"no option {option_id!r} among {options}")
        return self.send(str(options.index(wanted[0]) + 1))


@contextmanager
def tour(
    language: str,
    channel: str = "sms",
    country: str | None = None,
    timezone: str | None = None,
    statement_deadline: datetime | None = None,
) -> Iterator[Tour]:
    """A consented, onboarded person (of the language's country unless told), at the menu."""
    home_country, home_zone, phone = HOME[language]
    country, timezone = country or home_country, timezone or home_zone
    with tempfile.TemporaryDirectory() as folder:
        engine = make_engine(f"sqlite:///{Path(folder) / 'tour.db'}")
        upgrade(engine)
        with Session(engine) as db, db.begin():
            import_schedule(db, SAMPLES / "schedule.yaml", TOUR_TIME)
            import_resolutions(db, SAMPLES / "resolutions.yaml", TOUR_TIME)
            person = Person(
                phone=phone,
                language=language,
                country=country,
                timezone=timezone,
                consent_at=TOUR_TIME,
                onboarded_at=TOUR_TIME,
            )
            db.add(person)
            db.flush()
            assert person.id is not None
            db.add(Contact(person_id=person.id, channel=channel, address=phone))
        pipeline = Pipeline(engine, flow_set(), statement_deadline=statement_deadline)
        state = Tour(pipeline, language, channel, phone, TOUR_TIME)
        state.pipeline.clock = lambda: state.now
        try:
            yield state
        finally:
            engine.dispose()


def tutorial_pass(language: str) -> list[Sent]:
    """The tutorial straight through: every lesson once, right answers, practice call yes."""
    with tour(language) as t:
        t.send("menu")
        course = t.choose("tutorial")
        for _ in range(6):
            course += t.choose("next")
        course += t.choose("camera") + t.choose("dial_in") + t.choose("practice_yes")
        return course


def every_message(language: str) -> list[Sent]:
    """A tour that passes every step of the content flows at least once."""
    with tour(language) as t:
        t.send("menu")
        t.choose("tutorial")
        t.choose("again")
        for _ in range(6):
            t.choose("next")
        t.choose("microphone")
        t.choose("cannot")
        t.choose("practice_no")
        t.send("menu")
        t.choose("schedule")
        for step in ("all_reminders", "none", "list", "all_reminders", "all", "list"):
            t.choose(step)
        for page in range(len(_pages(t))):  # every call's details: their length depends on the data
            for item in _pages(t)[page]:
                for _ in range(page):
                    t.choose("more")
                t.choose(item)
                t.choose("link")
                t.choose("other")
        first = _items(t)[0]
        for step in (first, "agenda", "remind", "yes_this", "other", first, "remind", "not_this"):
            t.choose(step)
        t.send("menu")
        t.choose("assembly")
        t.choose("election")
        for _ in range(4):
            t.choose("more")
        t.choose("resolutions")
        for item in _items(t):
            t.choose(item)
            t.choose("detail")
            t.choose("other")
        t.choose("menu")
        t.choose("assembly")
        t.choose("about")
        t.choose("more")
        t.choose("more")
        return t.sent


def _pages(t: Tour) -> list[list[str]]:
    """The items of a paged list on screen, page by page (going through them, then back)."""
    pages = [_items(t)]
    while "more" in _options(t):
        t.choose("more")
        pages.append(_items(t))
    t.send("menu")  # back to the list's first page
    t.choose("schedule")
    return pages


def _options(t: Tour) -> list[str]:
    with Session(t.pipeline.engine) as db:
        state = db.exec(select(Conversation.state)).one()
    return [str(o) for o in state["waiting"]["options"]]


def _items(t: Tour) -> list[str]:
    """The ids of the items listed in the question on screen."""
    with Session(t.pipeline.engine) as db:
        state = db.exec(select(Conversation.state)).one()
    options = state["waiting"]["options"]
    return [str(o).removeprefix("item:") for o in options if str(o).startswith("item:")]


@dataclass(frozen=True)
class Reach:
    language: str
    tutorial_segments: int
    longest: Sent
    over_budget: list[Sent]


def reach(language: str) -> Reach:
    messages = every_message(language)
    over = [m for m in messages if m.segments > MAX_SEGMENTS_PER_MESSAGE]
    return Reach(
        language,
        sum(m.segments for m in tutorial_pass(language)),
        max(messages, key=lambda m: m.segments),
        over,
    )


def reach_all() -> list[Reach]:
    return [reach(language) for language in LANGUAGES]
