"""Footprint: resident memory of an idle web process and worker, and the web start-up time.

    .venv/bin/python bench/footprint.py [--starts 3] [--worker-seconds 5] [--requests 200]

Starts the real processes as the Procfile does (`uvicorn bot.web:app` with one worker, and
`bot worker`) against a temporary SQLite database, with Twilio configured against an address
nothing listens on (nothing is ever sent), twice: with Telegram on (a token set) and off.
Prints, per configuration, the resident memory (VmRSS from /proc/PID/status, with its anonymous
part: what each extra process really costs, the rest being shared file pages) of the web process
once it listens, after its first answered GET /healthz and after more requests, and of the
worker after it ran idle for a few seconds; then the time from process start to listening and
to the first answered /healthz, min and median over several starts.
"""

from __future__ import annotations

import argparse
import http.client
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = ROOT / ".venv" / "bin"
POLL_SECONDS = 0.002
START_TIMEOUT = 60.0
# Settings come from the environment: drop whatever the caller's shell has set.
SETTING_PREFIXES = ("DATABASE_URL", "TELEGRAM_", "TWILIO_", "PUBLIC_BASE_URL", "LOG_LEVEL")
Process = subprocess.Popen[bytes]


@dataclass(frozen=True)
class Memory:
    rss_kib: int
    anon_kib: int

    def __str__(self) -> str:
        return f"{self.rss_kib / 1024:6.1f} MiB RSS ({self.anon_kib / 1024:.1f} MiB anonymous)"


@dataclass(frozen=True)
class Start:
    listening_ms: float
    answered_ms: float


def memory(pid: int) -> Memory:
    fields: dict[str, int] = {}
    for row in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = row.partition(":")
        if name in ("VmRSS", "RssAnon"):
            fields[name] = int(value.split()[0])  # "12345 kB"
    return Memory(fields["VmRSS"], fields.get("RssAnon", 0))


def environment(database: Path, telegram: bool) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(SETTING_PREFIXES)}
    env.update(
        DATABASE_URL=f"sqlite:///{database}",
        PUBLIC_BASE_URL="https://bot.example.org",
        TWILIO_ACCOUNT_SID="AC" + "0123456789abcdef" * 2,
        TWILIO_AUTH_TOKEN="x",
        TWILIO_SMS_FROM="+15005550006",
        TWILIO_API_URL="http://127.0.0.1:9",  # the discard port: never called, nothing sent
        LOG_LEVEL="WARNING",
    )
    if telegram:
        env.update(
            TELEGRAM_BOT_TOKEN="123456:bench-token-never-used",
            TELEGRAM_WEBHOOK_SECRET="bench-secret",
            TELEGRAM_API_URL="http://127.0.0.1:9",
        )
    return env


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Processes:
    """Every process this script starts, so that all are stopped whatever happens."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.running: list[Process] = []
        self.logs: dict[int, Path] = {}

    def start(self, command: list[str], env: dict[str, str]) -> Process:
        # Errors go to a file, not a pipe: a chatty process must never block on a full pipe.
        log = self.folder / f"stderr-{len(self.logs)}.log"
        with log.open("wb") as errors:
            process = subprocess.Popen(
                command, env=env, cwd=self.folder, stdout=subprocess.DEVNULL, stderr=errors
            )
        self.running.append(process)
        self.logs[process.pid] = log
        return process

    def check(self, process: Process, what: str) -> None:
        if process.poll() is not None:
            error = self.logs[process.pid].read_text(errors="replace")
            raise RuntimeError(f"{what} exited with {process.returncode}:\n{error}")

    def stop(self, process: Process) -> None:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if process in self.running:
            self.running.remove(process)

    def stop_all(self) -> None:
        for process in list(self.running):
            self.stop(process)


def listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def healthz(port: int) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", "/healthz")
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


def answered(port: int) -> bool:
    try:
        return healthz(port) == 200
    except OSError:
        return False


def wait_until(ready: Callable[[int], bool], port: int, processes: Processes, p: Process) -> None:
    deadline = time.perf_counter() + START_TIMEOUT
    while not ready(port):
        processes.check(p, "uvicorn")
        if time.perf_counter() > deadline:
            raise RuntimeError(f"uvicorn not ready after {START_TIMEOUT:.0f} s")
        time.sleep(POLL_SECONDS)


@dataclass(frozen=True)
class Web:
    process: Process
    port: int
    start: Start
    listening_memory: Memory


@contextmanager
def web(processes: Processes, env: dict[str, str]) -> Iterator[Web]:
    """A started web process that has answered one /healthz, with its start-up timing."""
    port = free_port()
    command = [str(BIN / "uvicorn"), "bot.web:app", "--host", "127.0.0.1", "--port", str(port)]
    command += ["--workers", "1", "--log-level", "warning"]
    started = time.perf_counter()
    process = processes.start(command, env)
    try:
        # uvicorn runs the app's lifespan start-up before it binds: listening means built.
        wait_until(listening, port, processes, process)
        listened = time.perf_counter()
        idle = memory(process.pid)  # before the first request adds anything
        wait_until(answered, port, processes, process)
        done = time.perf_counter()
        start = Start((listened - started) * 1000, (done - started) * 1000)
        yield Web(process, port, start, idle)
    finally:
        processes.stop(process)


def line(label: str, value: object) -> None:
    print(f"  {label + ':':<40}{value}")


def measure_web(processes: Processes, env: dict[str, str], requests: int) -> Start:
    with web(processes, env) as running:
        line("web, listening, before any request", running.listening_memory)
        line("web, after its first /healthz", memory(running.process.pid))
        for _ in range(requests):
            healthz(running.port)
        line(f"web, after {requests + 1} /healthz", memory(running.process.pid))
        return running.start


def measure_worker(processes: Processes, env: dict[str, str], seconds: float) -> None:
    process = processes.start([str(BIN / "bot"), "worker"], env)
    try:
        time.sleep(seconds)
        processes.check(process, "bot worker")
        line(f"worker, after {seconds:g} s idle", memory(process.pid))
    finally:
        processes.stop(process)


def timings(processes: Processes, env: dict[str, str], first: Start, starts: int) -> None:
    runs = [first]
    for _ in range(starts - 1):
        with web(processes, env) as running:
            runs.append(running.start)
    for label, values in (
        ("listening", [r.listening_ms for r in runs]),
        ("first /healthz answered", [r.answered_ms for r in runs]),
    ):
        line(
            f"start-up to {label}",
            f"min {min(values):.0f} ms, median {statistics.median(values):.0f} ms "
            f"({len(values)} starts)",
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--starts", type=int, default=3, help="web starts timed")
    parser.add_argument("--worker-seconds", type=float, default=5.0)
    parser.add_argument("--requests", type=int, default=200, help="/healthz after the first")
    args = parser.parse_args()
    python = sys.version.split()[0]
    print(f"footprint, SQLite, Python {python}, {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory() as name:
        # Processes run in an empty folder: no .env is read, no data/ lands in the checkout.
        folder = Path(name)
        processes = Processes(folder)
        try:
            for telegram in (True, False):
                env = environment(folder / "bench.db", telegram)
                upgrade = [str(BIN / "bot"), "db", "upgrade"]
                subprocess.run(upgrade, env=env, cwd=folder, check=True, capture_output=True)
                print(f"Telegram {'on' if telegram else 'off'}, SMS through Twilio on:")
                first = measure_web(processes, env, args.requests)
                measure_worker(processes, env, args.worker_seconds)
                timings(processes, env, first, args.starts)
        finally:
            processes.stop_all()


if __name__ == "__main__":
    main()
