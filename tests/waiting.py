"""Waiting in tests for what must have happened, never for a fixed time.

A fixed sleep says "by now it has happened"; on a loaded machine it has not yet, and the test
fails for nothing (ENGINEERING.md, section 4). These helpers wait for the thing itself (a log
line, a row, a request seen by a fake, a process's state) under a generous deadline, and fail
saying what they waited for. A deadline costs nothing when the condition comes true: only a
test that is failing anyway waits it out.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

TIMEOUT = 60.0  # seconds: far beyond any normal wait, so only a real failure reaches it
INTERVAL = 0.05


def wait_until(
    condition: Callable[[], T],
    *,
    timeout: float = TIMEOUT,
    interval: float = INTERVAL,
    message: str | Callable[[], str],
) -> T:
    """Call `condition` until it returns something true, and return that.

    `message` says what is awaited ("the leader to store the reminder job"); a callable is
    called on failure, so the error can show the state that was reached instead.
    """
    deadline = time.monotonic() + timeout
    while True:
        # Checked once more after the deadline has passed, so a slow check is never cut short.
        found = condition()
        if found:
            return found
        if time.monotonic() >= deadline:
            raise AssertionError(_gave_up(timeout, message))
        time.sleep(interval)


async def wait_until_async(
    condition: Callable[[], T],
    *,
    timeout: float = TIMEOUT,
    interval: float = INTERVAL,
    message: str | Callable[[], str],
) -> T:
    """`wait_until` for a test on an event loop: the loop runs the awaited work meanwhile."""
    deadline = time.monotonic() + timeout
    while True:
        found = condition()
        if found:
            return found
        if time.monotonic() >= deadline:
            raise AssertionError(_gave_up(timeout, message))
        await asyncio.sleep(interval)


def _gave_up(timeout: float, message: str | Callable[[], str]) -> str:
    said = message() if callable(message) else message
    return f"gave up after {timeout:g} s waiting for {said}"
