"""The tests' waiting helpers: they return what came true, or fail saying what was awaited."""

from __future__ import annotations

import asyncio
import itertools

import pytest

from tests.waiting import wait_until, wait_until_async


def test_returns_the_first_true_value() -> None:
    counter = itertools.count()
    assert wait_until(lambda: next(counter) >= 3 and "third", interval=0, message="x") == "third"


def test_fails_saying_what_it_waited_for() -> None:
    with pytest.raises(AssertionError, match=r"gave up after 0.1 s waiting for the leader"):
        wait_until(lambda: False, timeout=0.1, interval=0.01, message="the leader")


def test_a_message_can_show_the_state_reached() -> None:
    seen = [1, 2]
    with pytest.raises(AssertionError, match=r"3 rows \(2 so far\)"):
        wait_until(
            lambda: len(seen) == 3,
            timeout=0.05,
            interval=0.01,
            message=lambda: f"3 rows ({len(seen)} so far)",
        )


async def test_the_async_twin_lets_the_loop_run_meanwhile() -> None:
    done: list[str] = []

    async def later() -> None:
        await asyncio.sleep(0)
        done.append("ran")

    task = asyncio.create_task(later())
    assert await wait_until_async(lambda: done, message="the task to run") == ["ran"]
    await task
    with pytest.raises(AssertionError, match="waiting for nothing"):
        await wait_until_async(lambda: None, timeout=0.05, interval=0.01, message="nothing")
