"""The pacing used by channel senders, on a virtual clock."""

from __future__ import annotations

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
