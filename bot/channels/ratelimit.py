"""Pace outgoing calls: at most `rate` per second overall and one per `interval` per key.

Time is cut into slots of 1/rate seconds (plus a small margin for timer jitter); each call
books the first free slot not earlier than its key allows, so one slow chat never holds back
the others and no 1-second window ever holds more than `rate` calls, even when a busy event
loop wakes many calls late at once. A provider's "retry after" is not handled here: the
dispatcher reschedules only the message that got it.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from collections.abc import Awaitable, Callable

JITTER_MARGIN = 1.02


class RateLimiter:
    def __init__(
        self,
        rate: float,
        interval: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.spacing = JITTER_MARGIN / rate
        self.interval = interval
        self.clock = clock
        self.sleep = sleep
        self._booked: set[int] = set()
        self._next_by_key: dict[str, float] = {}
        # When the last `rate` calls went (at least one, for a rate under one a second).
        self._window = max(1, math.floor(rate))
        self._gone: deque[float] = deque(maxlen=self._window)

    def reserve(self, key: str | None = None) -> float:
        """Book the next free slot for `key`; returns the seconds to wait for it."""
        now = self.clock()
        earliest = max(now, self._next_by_key.get(key, 0.0)) if key is not None else now
        slot = math.ceil(earliest / self.spacing)
        while slot in self._booked:
            slot += 1
        self._booked.add(slot)
        at = slot * self.spacing
        if key is not None and self.interval:
            self._next_by_key[key] = at + self.interval
        self._forget_before(now)
        return max(at - now, 0.0)

    async def acquire(self, key: str | None = None) -> None:
        wait = self.reserve(key)
        if wait > 0:
            await self.sleep(wait)
        # The slots keep calls apart as long as each wakes on time. When the event loop was
        # held up, every call whose slot passed meanwhile wakes at once: those beyond `rate`
        # in the last second wait for the oldest of them to be a second old.
        while True:
            now = self.clock()
            if len(self._gone) < self._window or now - self._gone[0] >= 1.0:
                self._gone.append(now)
                return
            await self.sleep(self._gone[0] + 1.0 - now)

    def _forget_before(self, now: float) -> None:
        if len(self._booked) > 4096:
            horizon = math.floor(now / self.spacing) - 1
            self._booked = {s for s in self._booked if s >= horizon}
        if len(self._next_by_key) > 10_000:
            self._next_by_key = {k: v for k, v in self._next_by_key.items() if v > now}
