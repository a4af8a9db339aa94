"""What a turn of the engine produces. Events are records; the caller persists and sends them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.engine.messages import Msg, Text


@dataclass(frozen=True)
class Option:
    id: str
    label: Text


@dataclass(frozen=True)
class SendText:
    text: Text


@dataclass(frozen=True)
class AskChoice:
    prompt: Text | None
    options: tuple[Option, ...]


@dataclass(frozen=True)
class AskText:
    prompt: Text
    max_length: int


@dataclass(frozen=True)
class SetField:
    """Change a field of the person (language, country, timezone, consent, opted_out...)."""

    name: str
    value: Any


@dataclass(frozen=True)
class FlowStarted:
    flow: str


@dataclass(frozen=True)
class FlowEnded:
    flow: str
    completed: bool  # False when the user left it (MENU, STOP...) before its end


@dataclass(frozen=True)
class SetReminder:
    """Reminders: for one event (on or off), for all events, or none."""

    scope: str  # event, event_off, all, none
    item: str | None = None


@dataclass(frozen=True)
class SendDocument:
    """A file to send with the answer where the channel can carry one (a calendar entry)."""

    kind: str  # ics
    item: str


@dataclass(frozen=True)
class RequestHelp:
    """Something a person asked a human for (a practice call with their Country Champion)."""

    kind: str


@dataclass(frozen=True)
class SubmitStatement:
    """A confirmed candidate statement: the answers and the text assembled from them."""

    answers: dict[str, object]
    text: Msg


Event = (
    SendText
    | AskChoice
    | AskText
    | SetField
    | FlowStarted
    | FlowEnded
    | SetReminder
    | SendDocument
    | RequestHelp
    | SubmitStatement
)

VISIBLE = (SendText, AskChoice, AskText)


def is_visible(event: Event) -> bool:
    return isinstance(event, VISIBLE)
