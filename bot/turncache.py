"""Turns kept for the next person who takes the same step.

Most messages are someone answering a menu or a lesson the way many others have already
answered it. The engine is pure, so a turn that read nothing but the conversation state, the
message, the person's profile and the channel (`Turn.reads` is empty) comes out the same for
anyone sending that message in that state; for the same script (Zawgyi or Unicode) its
drawn answer is the same too. Both are kept here, with the new state as the JSON text to
store, and handed out instead of running the engine and drawing the answer again.

Only turns that just talk are kept: their events change nothing but the person's own fields
and the completion of a flow, which the caller still applies to each person. A turn with an
effect or a view, or one that read the clock, the schedule or the statement, runs every time.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from bot.engine.events import AskChoice, AskText, FlowEnded, FlowStarted, SendText, SetField
from bot.engine.runner import Turn
from bot.engine.state import Input, Profile
from bot.render import Reply

# Events whose turn neither reads nor writes anything but the person's own rows.
QUIET_EVENTS = (SendText, AskChoice, AskText, FlowStarted, FlowEnded, SetField)
# Kept turns (a few thousand steps in seven languages and three channels): 3.0 KiB each,
# 6 MiB full, as bench/kept_turns.py measured them.
TURN_CACHE_SIZE = 2048

# The stored state (JSON text), the message as the engine reads it, the profile, the
# channel, and whether the person writes Burmese in Zawgyi (their answer is converted).
Key = tuple[str, Input, Profile, str, bool]


@dataclass(frozen=True)
class Kept:
    turn: Turn
    reply: Reply | None
    state: str  # the turn's new state, as stored


def quiet(turn: Turn) -> bool:
    """The turn only talks, sets the person's fields or ends flows."""
    return all(isinstance(e, QUIET_EVENTS) for e in turn.events)


def keepable(turn: Turn) -> bool:
    return not turn.reads and quiet(turn)


class TurnCache:
    def __init__(self, size: int = TURN_CACHE_SIZE) -> None:
        self.size = size
        self._kept: dict[Key, Kept] = {}
        self._lock = threading.Lock()  # the web's writer thread and the console share one
        self.hits = 0
        self.misses = 0

    def get(self, key: Key) -> Kept | None:
        kept = self._kept.get(key)
        if kept is None:
            self.misses += 1
        else:
            self.hits += 1
        return kept

    def put(self, key: Key, kept: Kept) -> None:
        if self.size <= 0:
            return
        with self._lock:
            if len(self._kept) >= self.size:
                del self._kept[next(iter(self._kept))]  # the oldest first
            self._kept[key] = kept

    def clear(self) -> None:
        with self._lock:
            self._kept.clear()
