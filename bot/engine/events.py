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


@dataclass(frozen=True)
class Submit:
    """Something the person confirmed that the caller carries out: a broadcast, marking
    someone as helped, erasing their own data. `answers` holds what the flow gathered."""

    kind: str  # broadcast, helped, forget_me
    answers: dict[str, object]
    item: str | None = None  # the id of the item the flow picked (a person to mark helped)


@dataclass(frozen=True)
class Show:
    """A view the caller writes from its data (a broadcast preview, a delivery report, the
    person's own data), in its place among the answer's texts."""

    kind: str  # broadcast_preview, delivery_report, my_data
    answers: dict[str, object]


@dataclass(frozen=True)
class Refused:
    """Someone tried a command their role does not allow; answered as unknown, and audited."""

    keyword: str


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
    | Submit
    | Show
    | Refused
)

VISIBLE = (SendText, AskChoice, AskText, Show)


def is_visible(event: Event) -> bool:
    return isinstance(event, VISIBLE)
