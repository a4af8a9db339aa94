"""Group commit: the messages of concurrent webhooks stored together, one transaction a batch.

A writer thread takes whatever has arrived, stores it with `Pipeline.handle_many`, and hands
each caller its own outcome. While a batch commits, the next one gathers, so the cost of a
transaction (BEGIN, COMMIT, a round trip per statement on PostgreSQL) is shared by everyone
who wrote at the same time, and a lone message still goes at once. A caller gets its answer
only after the commit: nothing is acknowledged before it is stored.

On PostgreSQL several writers run, each with its own connection: while one waits for the
server (its statements, the commit's flush to disk), another works out its turns. Each
person's messages always go to the same writer (by phone number, else by address), so they
are stored in the order they came; the rows a batch locks, in person order, keep two writers
that meet on one person from deadlocking. SQLite takes one transaction at a time, so it has
one writer.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from concurrent.futures import Future
from dataclasses import dataclass

from bot.channels.base import InboundMessage
from bot.pipeline import Handled, Outcome, Pipeline
from bot.storage.db import is_postgres

log = logging.getLogger(__name__)

# Enough to share a commit among many webhooks; few enough that one transaction holds the
# SQLite write lock (and PostgreSQL row locks) for milliseconds, not longer.
MAX_BATCH = 64
# Writers on PostgreSQL: two keep the server and this process busy at once on a 2-core
# machine; more would mostly wait for the GIL.
POSTGRES_WRITERS = 2


Waiter = Future[Handled] | asyncio.Future[Handled]


@dataclass(frozen=True)
class _Job:
    inbound: InboundMessage
    inline: bool
    future: Waiter
    loop: asyncio.AbstractEventLoop | None = None  # the asyncio future's loop, if it is one

    def wanted(self) -> bool:
        """False if the caller gave up before its turn (its request was cancelled)."""
        if isinstance(self.future, Future):
            return self.future.set_running_or_notify_cancel()
        return not self.future.cancelled()


class GroupCommit:
    def __init__(
        self, pipeline: Pipeline, max_batch: int = MAX_BATCH, writers: int | None = None
    ) -> None:
        self.pipeline = pipeline
        self.max_batch = max_batch
        if writers is None:
            writers = POSTGRES_WRITERS if is_postgres(pipeline.engine) else 1
        self._queues: list[queue.SimpleQueue[_Job | None]] = [
            queue.SimpleQueue() for _ in range(max(1, writers))
        ]
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self.batches = 0  # transactions' worth of work taken, for benchmarks and tests
        self.messages = 0

    @property
    def writers(self) -> int:
        return len(self._queues)

    async def handle(self, inbound: InboundMessage, inline: bool = False) -> Handled:
        """From an event loop: the batch's outcomes reach the loop in one callback, not one
        wake-up per message (each costs a system call and a fight over the GIL)."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Handled] = loop.create_future()
        self._put(_Job(inbound, inline, future, loop))
        return await future

    def submit(self, inbound: InboundMessage, inline: bool = False) -> Future[Handled]:
        """From any thread: a future to wait on."""
        future: Future[Handled] = Future()
        self._put(_Job(inbound, inline, future))
        return future

    def close(self, timeout: float = 10.0) -> None:
        """Store what was submitted, then stop the writers."""
        with self._lock:
            threads, self._threads = self._threads, []
        for writer in self._queues if threads else ():
            writer.put(None)
        for thread in threads:
            thread.join(timeout)
        if self.batches:
            log.info(
                "group commit: %s messages in %s transactions (%.1f per transaction)",
                self.messages,
                self.batches,
                self.messages / self.batches,
            )

    def _put(self, job: _Job) -> None:
        self._start()
        inbound = job.inbound
        self._queues[hash(inbound.phone or inbound.address) % len(self._queues)].put(job)

    def _start(self) -> None:
        with self._lock:
            if not self._threads:
                self._threads = [
                    threading.Thread(
                        target=self._run, args=(q,), name=f"group-commit-{n}", daemon=True
                    )
                    for n, q in enumerate(self._queues)
                ]
                for thread in self._threads:
                    thread.start()

    def _run(self, jobs_queue: queue.SimpleQueue[_Job | None]) -> None:
        stopping = False
        while not stopping:
            jobs, stopping = self._take(jobs_queue)
            # A caller that gave up before its turn (its request was cancelled) is skipped:
            # nothing was stored for it, so the provider's retry will be a first delivery.
            jobs = [job for job in jobs if job.wanted()]
            if jobs:
                self._store(jobs)

    def _take(self, jobs_queue: queue.SimpleQueue[_Job | None]) -> tuple[list[_Job], bool]:
        """The next job (waiting for it), and every other one already there."""
        first = jobs_queue.get()
        if first is None:
            return [], True
        jobs = [first]
        while len(jobs) < self.max_batch:
            try:
                job = jobs_queue.get_nowait()
            except queue.Empty:
                break
            if job is None:
                return jobs, True
            jobs.append(job)
        return jobs, False

    def _store(self, jobs: list[_Job]) -> None:
        with self._lock:
            self.batches += 1
            self.messages += len(jobs)
        try:
            outcomes = self.pipeline.handle_many([(job.inbound, job.inline) for job in jobs])
        except Exception as error:  # handle_many reports per message; this is a bug
            log.exception("group commit failed for %s messages", len(jobs))
            outcomes = [error] * len(jobs)
        by_loop: dict[asyncio.AbstractEventLoop, list[tuple[Waiter, Outcome]]] = {}
        for job, outcome in zip(jobs, outcomes, strict=True):
            if job.loop is None:
                _settle(job.future, outcome)
            else:
                by_loop.setdefault(job.loop, []).append((job.future, outcome))
        for loop, settled in by_loop.items():
            try:
                loop.call_soon_threadsafe(_settle_all, settled)
            except RuntimeError:  # that loop is closed: nobody waits for these any more
                log.warning("group commit: %s outcomes for a closed event loop", len(settled))


def _settle_all(settled: list[tuple[Waiter, Outcome]]) -> None:
    for future, outcome in settled:
        if not future.cancelled():  # cancelled while its batch was being stored
            _settle(future, outcome)


def _settle(future: Waiter, outcome: Outcome) -> None:
    if isinstance(outcome, Exception):
        future.set_exception(outcome)
    else:
        future.set_result(outcome)
