"""Events and resolutions as the engine sees them: items, filtered for one person.

The whole schedule is small (a few dozen rows) and read on most turns of the schedule flows,
so it is cached per process and re-read after CONTENT_TTL: an import shows within a minute.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from bot.engine.state import Item
from bot.storage.followups import followups
from bot.storage.models import Event, Resolution, utcnow
from bot.storage.turns import TurnPerson

CONTENT_TTL = timedelta(seconds=60)
Loader = Callable[[], Sequence[Item]]


class ContentCache:
    def __init__(
        self, clock: Callable[[], datetime] = utcnow, ttl: timedelta = CONTENT_TTL
    ) -> None:
        self.clock = clock
        self.ttl = ttl
        self._lock = threading.Lock()
        self._loaded_at: datetime | None = None
        self._events: tuple[Event, ...] = ()
        self._resolutions: tuple[Resolution, ...] = ()

    def collections(self, db: Session, person: TurnPerson, now: datetime) -> LazyData:
        events, resolutions = self._current(db)
        # Built when a flow reads them: menus, onboarding and the course never do.
        later: dict[str, Loader] = {
            "events": lambda: [
                event_item(e, person) for e in ga_first(upcoming(events, person.country, now))
            ],
            "resolutions": lambda: [resolution_item(r) for r in resolutions],
        }
        if person.role != "smallholder":
            # A champion works with their own country; the Secretariat with all of them.
            country = person.role_country if person.role == "champion" else None
            later["broadcast_events"] = lambda: [
                event_item(e, person) for e in upcoming_anywhere(events, country, now)
            ]
            later["followups"] = lambda: followups(db, country, now)
        return LazyData({}, later)

    def invalidate(self) -> None:
        with self._lock:
            self._loaded_at = None

    def _current(self, db: Session) -> tuple[tuple[Event, ...], tuple[Resolution, ...]]:
        with self._lock:
            fresh = self._loaded_at is not None and self.clock() - self._loaded_at < self.ttl
            if not fresh:
                self._events = tuple(db.exec(select(Event).order_by(col(Event.starts_at))).all())
                self._resolutions = tuple(
                    db.exec(select(Resolution).order_by(col(Resolution.position))).all()
                )
                for row in (*self._events, *self._resolutions):
                    db.expunge(row)  # plain values from now on, shared across threads
                self._loaded_at = self.clock()
            return self._events, self._resolutions


def upcoming(events: Sequence[Event], country: str | None, now: datetime) -> list[Event]:
    """This person's calls (their country's and everyone's) that have not ended, soonest first."""
    return [
        e
        for e in events
        if (e.country is None or e.country == country)
        and e.starts_at + timedelta(minutes=e.duration_minutes) > now
    ]


def ga_first(events: list[Event]) -> list[Event]:
    """The General Assembly first (the one date everybody needs), then the calls in order."""
    ga = next((e for e in events if e.kind == "ga"), None)
    return events if ga is None else [ga, *(e for e in events if e is not ga)]


def upcoming_anywhere(events: Sequence[Event], country: str | None, now: datetime) -> list[Event]:
    """Calls of one country and everyone's (country given), or all calls (None)."""
    return upcoming(events, country, now) if country else upcoming_all(events, now)


def upcoming_all(events: Sequence[Event], now: datetime) -> list[Event]:
    return [e for e in events if e.starts_at + timedelta(minutes=e.duration_minutes) > now]


def event_item(event: Event, person: TurnPerson) -> Item:
    return Item(
        event.id,
        {
            "title": event.title,
            "agenda": event.agenda,
            "start": event.starts_at,
            "end": event.starts_at + timedelta(minutes=event.duration_minutes),
            "duration": event.duration_minutes,
            "link": event.join_url or "-",
            "meeting_id": event.meeting_id or "-",
            "passcode": event.passcode or "-",
            "dial_in": dial_in_for(event, person.country) or ["-"],
            "kind": event.kind,
        },
    )


def dial_in_for(event: Event, country: str | None) -> list[str]:
    """The numbers for the person's country; if there are none, every number there is."""
    own = event.dial_in.get(country or "", [])
    if own:
        return list(own)
    return [number for numbers in event.dial_in.values() for number in numbers]


def resolution_item(resolution: Resolution) -> Item:
    return Item(
        resolution.id,
        {
            "number": resolution.position,
            "title": resolution.title,
            "summary": resolution.summary,
            "detail": resolution.detail,
        },
    )


class LazyData(Mapping[str, Sequence[Item]]):
    """Collections the engine may read, each computed on first use: most turns need none of
    the expensive ones (a champion's follow-up list scans a whole country)."""

    def __init__(self, ready: Mapping[str, Sequence[Item]], later: Mapping[str, Loader]) -> None:
        self._ready = dict(ready)
        self._later = dict(later)

    def __getitem__(self, name: str) -> Sequence[Item]:
        if name not in self._ready:
            self._ready[name] = tuple(self._later[name]())
        return self._ready[name]

    def __iter__(self) -> Iterator[str]:
        return iter({**self._ready, **self._later})

    def __len__(self) -> int:
        return len({**self._ready, **self._later})
