"""An HTTP load generator for one webhook URL: closed loop (peak) and open loop (fixed rate).

Used by bench/webhook_throughput.py; it runs in its own process, apart from the server.

- Closed loop: N workers, each over its own connection, send their lane's requests one after
  the other for the warm-up plus the measured seconds. Throughput counts the answers that came
  back inside the measured window; latency covers the requests started inside it.
- Open loop: requests leave at a fixed rate whatever the server does. Latency runs from the
  moment a request was *due*, not from when it left, so a generator or a server that falls
  behind shows up in the figures instead of hiding (no coordinated omission).

Requests are prepared (signed, encoded) before the clock starts: sending costs only the HTTP.
"""

from __future__ import annotations

import asyncio
import math
import os
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

import aiohttp

TIMEOUT_SECONDS = 30.0
# The open loop opens a connection whenever all are busy: a slow server gets piled on, as by
# Twilio, instead of the generator quietly waiting for it.
OPEN_LOOP_MAX_CONNECTIONS = 1024


@dataclass(frozen=True)
class Request:
    body: bytes
    headers: Mapping[str, str]


@dataclass(frozen=True)
class Answer:
    ok: bool  # what the caller's check said of the body
    inline: bool  # the body carries a reply message


# status, content type, body -> the verdict; kept by the caller, which knows what it expects.
Check = Callable[[int, str, bytes], Answer]
# The server's cumulative CPU seconds (from /proc), to say who was the bottleneck.
CpuProbe = Callable[[], float]


@dataclass
class Result:
    seconds: float
    completed: int = 0  # 200s that came back inside the measured window
    latencies: list[float] = field(default_factory=list)
    sent: int = 0  # every request, warm-up included
    statuses: Counter[int] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)  # transport errors by type
    bad_bodies: int = 0  # 200s whose body was not the expected TwiML
    inline: int = 0
    server_cpu: float | None = None  # share of one core, over the measured window
    client_cpu: float = 0.0
    others_cpu: float | None = None  # cores used by every other process on the machine
    max_lag: float = 0.0  # open loop: how late the generator sent a request (s)

    @property
    def rate(self) -> float:
        return self.completed / self.seconds

    @property
    def failed(self) -> int:
        return sum(n for status, n in self.statuses.items() if status != 200) + sum(
            self.errors.values()
        )

    def percentile(self, share: float) -> float:
        """Nearest-rank percentile of the latencies, in seconds."""
        if not self.latencies:
            return math.nan
        ordered = sorted(self.latencies)
        return ordered[max(math.ceil(share * len(ordered)) - 1, 0)]


class _Run:
    """What one phase shares between its workers: the session, the window and the tallies."""

    def __init__(self, url: str, check: Check, result: Result, start: float, warmup: float) -> None:
        self.url = url
        self.check = check
        self.result = result
        self.window_start = start + warmup
        self.window_end = self.window_start + result.seconds

    async def send(self, session: aiohttp.ClientSession, request: Request, due: float) -> None:
        """One request; `due` is when it should have left (the latency's origin)."""
        result = self.result
        result.sent += 1
        try:
            async with session.post(self.url, data=request.body, headers=request.headers) as r:
                body = await r.read()
                status, content_type = r.status, r.headers.get("Content-Type", "")
        except (aiohttp.ClientError, TimeoutError) as error:
            result.errors[type(error).__name__] += 1
            return
        done = time.perf_counter()
        result.statuses[status] += 1
        if status != 200:
            return
        answer = self.check(status, content_type, body)
        result.bad_bodies += not answer.ok
        if self.window_start <= due < self.window_end:
            result.latencies.append(done - due)
            result.inline += answer.inline
        if self.window_start <= done <= self.window_end:
            result.completed += 1


def _session(connections: int) -> aiohttp.ClientSession:
    connector = aiohttp.TCPConnector(limit=connections, limit_per_host=connections)
    timeout = aiohttp.ClientTimeout(total=TIMEOUT_SECONDS)
    return aiohttp.ClientSession(connector=connector, timeout=timeout, auto_decompress=False)


def machine_busy_seconds() -> float:
    """CPU seconds spent on anything but idle, all cores together, from /proc/stat."""
    with open("/proc/stat") as stat:
        ticks = [int(n) for n in stat.readline().split()[1:]]
    idle = ticks[3] + ticks[4]  # idle and iowait; guest time is already in user
    return (sum(ticks[:8]) - idle) / os.sysconf("SC_CLK_TCK")


class _CpuWindow:
    """CPU used by the server, by this process and by everything else, between start() and
    stop(): on a shared machine, other work changes the figures and must be seen."""

    def __init__(self, probe: CpuProbe | None) -> None:
        self.probe = probe

    def start(self) -> None:
        self.wall = time.perf_counter()
        self.client = time.process_time()
        self.server = self.probe() if self.probe else 0.0
        self.machine = machine_busy_seconds()

    def stop(self, result: Result) -> None:
        wall = time.perf_counter() - self.wall
        result.client_cpu = (time.process_time() - self.client) / wall
        machine = (machine_busy_seconds() - self.machine) / wall
        if self.probe:
            result.server_cpu = (self.probe() - self.server) / wall
            result.others_cpu = max(machine - result.server_cpu - result.client_cpu, 0.0)


async def closed_loop(
    url: str,
    lanes: Sequence[Iterator[Request]],
    *,
    warmup: float,
    seconds: float,
    check: Check,
    cpu: CpuProbe | None = None,
) -> Result:
    """One worker per lane, each sending as soon as its previous answer arrived."""
    result = Result(seconds)
    cpu_window = _CpuWindow(cpu)
    async with _session(len(lanes)) as session:
        run = _Run(url, check, result, time.perf_counter(), warmup)

        async def worker(lane: Iterator[Request]) -> None:
            for request in lane:
                now = time.perf_counter()
                if now >= run.window_end:
                    return
                await run.send(session, request, now)

        async def measure_cpu() -> None:
            await asyncio.sleep(max(run.window_start - time.perf_counter(), 0))
            cpu_window.start()
            await asyncio.sleep(max(run.window_end - time.perf_counter(), 0))
            cpu_window.stop(result)

        await asyncio.gather(measure_cpu(), *(worker(lane) for lane in lanes))
    return result


async def open_loop(
    url: str,
    requests: Sequence[Request],
    rate: float,
    *,
    warmup: float,
    check: Check,
    cpu: CpuProbe | None = None,
) -> Result:
    """`requests` leave at `rate` per second; the first `warmup` seconds are not measured."""
    seconds = len(requests) / rate - warmup
    result = Result(seconds)
    cpu_window = _CpuWindow(cpu)
    pending: set[asyncio.Task[None]] = set()
    async with _session(OPEN_LOOP_MAX_CONNECTIONS) as session:
        start = time.perf_counter()
        run = _Run(url, check, result, start, warmup)
        measuring = False
        for index, request in enumerate(requests):
            due = start + index / rate
            delay = due - time.perf_counter()
            # Sleeping for less than a millisecond costs more than it is worth: send now.
            if delay > 0.001:
                await asyncio.sleep(delay)
            if not measuring and due >= run.window_start:
                cpu_window.start()
                measuring = True
            result.max_lag = max(result.max_lag, time.perf_counter() - due)
            task = asyncio.create_task(run.send(session, request, due))
            pending.add(task)
            task.add_done_callback(pending.discard)
        await asyncio.sleep(max(run.window_end - time.perf_counter(), 0))
        if measuring:
            cpu_window.stop(result)
        if pending:
            await asyncio.wait(pending)
    # In an open loop every answer counts, however late: the rate is the one achieved.
    result.completed = len(result.latencies)
    return result
