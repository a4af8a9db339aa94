"""The values a turn reads: session state, the person's profile, the input and the context."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from bot.engine.flow import Flow
from bot.engine.keywords import KeywordTable

# stop_check: a free-text answer that was a STOP word, asked about before anything is done.
WaitKind = Literal["choice", "text", "bookmark", "stop_check"]


@dataclass(frozen=True)
class Waiting:
    kind: WaitKind
    options: tuple[str, ...] = ()  # option ids in the order they were numbered for the user


@dataclass(frozen=True)
class Bookmark:
    step: str
    version: int
    answers: Mapping[str, Any]


@dataclass(frozen=True)
class State:
    """Where a person is in the conversation. Stored as JSON between turns."""

    flow: str | None = None
    version: int = 0
    step: str | None = None
    waiting: Waiting | None = None
    answers: Mapping[str, Any] = field(default_factory=dict)
    bookmarks: Mapping[str, Bookmark] = field(default_factory=dict)

    def evolve(self, **changes: Any) -> State:
        """`dataclasses.replace`, without its introspection: a turn changes its state at every
        step it runs, and replace took a tenth of a turn."""
        if not changes.keys() <= _STATE_FIELDS:
            raise TypeError(f"State has no field {sorted(changes.keys() - _STATE_FIELDS)}")
        new = object.__new__(State)
        new.__dict__.update(self.__dict__, **changes)
        return new

    def to_json(self) -> dict[str, Any]:
        return {
            "flow": self.flow,
            "version": self.version,
            "step": self.step,
            "waiting": None
            if self.waiting is None
            else {"kind": self.waiting.kind, "options": list(self.waiting.options)},
            "answers": dict(self.answers),
            "bookmarks": {
                k: {"step": b.step, "version": b.version, "answers": dict(b.answers)}
                for k, b in self.bookmarks.items()
            },
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> State:
        """Rebuild a state; anything unreadable yields a fresh state rather than a crash."""
        if not data:
            return cls()
        try:
            waiting = data.get("waiting")
            return cls(
                flow=data.get("flow"),
                version=int(data.get("version") or 0),
                step=data.get("step"),
                waiting=None
                if not waiting
                else Waiting(waiting["kind"], tuple(waiting.get("options") or ())),
                answers=dict(data.get("answers") or {}),
                bookmarks={
                    k: Bookmark(b["step"], int(b["version"]), dict(b.get("answers") or {}))
                    for k, b in (data.get("bookmarks") or {}).items()
                },
            )
        except (KeyError, TypeError, ValueError, AttributeError):
            return cls()


_STATE_FIELDS = frozenset(State.__dataclass_fields__)


@dataclass(frozen=True)
class Profile:
    """The person fields a flow may read and change."""

    language: str | None = None
    country: str | None = None
    timezone: str | None = None
    consent: bool = False
    opted_out: bool = False
    onboarded: bool = False
    role: str = "smallholder"
    reminders: str = "all"  # all, chosen (per call), none: shown where they are changed

    def get(self, name: str) -> Any:
        return getattr(self, name, None)

    def with_field(self, name: str, value: Any) -> Profile:
        if name not in self.__dataclass_fields__:
            return self
        new = object.__new__(Profile)  # as State.evolve: replace's introspection costs more
        new.__dict__.update(self.__dict__, **{name: value})
        return new


InputKind = Literal["text", "media", "empty", "too_long", "edited"]


@dataclass(frozen=True)
class Input:
    """A normalised inbound message, as the engine sees it."""

    text: str
    kind: InputKind = "text"
    number: int | None = None  # the whole reply read as a number, in any script
    tapped: bool = False  # the text is the label of an option just shown (a button tap)
    length: int = 0  # characters received, for the "too long" answer
    limit: int = 0  # the cap that applied


@dataclass(frozen=True)
class Item:
    """One thing a flow can list and show (an event, a resolution), loaded by the caller.

    Field values: text, a {language: text} mapping, a datetime, a number, or a list of text.
    """

    id: str
    fields: Mapping[str, Any]


@dataclass(frozen=True)
class Context:
    profile: Profile
    now: datetime
    channel: str
    flows: Mapping[str, Flow]
    keywords: KeywordTable
    data: Mapping[str, Sequence[Item]] = field(default_factory=dict)
    # Read-only facts about the person the caller looked up (their statement, its deadline).
    facts: Mapping[str, Any] = field(default_factory=dict)
