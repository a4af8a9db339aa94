"""The pacing used by channel senders, on a virtual clock."""

from __future__ import annotations

import asyncio
import heapq

from bot.channels.ratelimit import RateLimiter


class VirtualTime:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds


async def test_never_more_than_the_rate_in_any_second() -> None:
    time = VirtualTime()
    limiter = RateLimiter(rate=30, clock=time, sleep=time.sleep)
    moments = []
    for _ in range(300):
        await limiter.acquire()
        moments.append(time.now)
    assert max(sum(1 for m in moments if s <= m < s + 1) for s in moments) <= 30
    assert moments[-1] < 10.5  # and it keeps up: 300 calls in about 10 s


async def test_one_chat_waits_its_interval_while_others_go_on() -> None:
    time = VirtualTime()
    limiter = RateLimiter(rate=30, interval=1.0, clock=time, sleep=time.sleep)
    assert limiter.reserve("a") == 0.0
    assert 1.0 <= limiter.reserve("a") < 1.1  # same chat: a second later
    assert limiter.reserve("b") < 0.1  # another chat: right away (the next free slot)


async def test_forgotten_keys_do_not_grow_without_bound() -> None:
    time = VirtualTime()
    limiter = RateLimiter(rate=1_000_000, interval=1.0, clock=time, sleep=time.sleep)
    for i in range(10_001):
        limiter.reserve(str(i))
    time.now = 5.0
    limiter.reserve("late")
    for i in range(10_001):
        limiter.reserve(f"again-{i}")
    assert len(limiter._next_by_key) <= 10_002


class StalledTime:
    """Virtual time for concurrent callers, whose event loop is held up from `stall_from`
    to `stall_to`: whoever was due meanwhile wakes at `stall_to`, all together."""

    def __init__(self, stall_from: float, stall_to: float) -> None:
        self.now = 0.0
        self.stall = (stall_from, stall_to)
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        future = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self.now + seconds, id(future), future))
        await future

    async def run(self, callers: list[asyncio.Task[None]]) -> None:
        while not all(c.done() for c in callers):
            for _ in range(5):
                await asyncio.sleep(0)  # let every caller run until it sleeps again
            if not self._sleepers:
                continue
            due = self._sleepers[0][0]
            start, end = self.stall
            self.now = end if start < due < end else due
            while self._sleepers and self._sleepers[0][0] <= self.now:
                heapq.heappop(self._sleepers)[2].set_result(None)


async def test_callers_woken_late_by_a_busy_loop_do_not_go_all_at_once() -> None:
    time = StalledTime(stall_from=0.2, stall_to=1.5)
    limiter = RateLimiter(rate=20, clock=time, sleep=time.sleep)
    moments: list[float] = []

    async def send() -> None:
        await limiter.acquire()
        moments.append(time.now)

    callers = [asyncio.create_task(send()) for _ in range(60)]
    await time.run(callers)
    assert len(moments) == 60
    assert max(sum(1 for m in moments if s <= m < s + 1) for s in moments) <= 20
