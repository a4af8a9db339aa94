"""Inbound Twilio SMS webhooks: our whole path against a bare Starlette app, one uvicorn worker.

    .venv/bin/python bench/webhook_throughput.py [--database sqlite|postgres|both]
        [--seconds 10] [--concurrency 64] [--warmup 3] [--web-only]

Serves `bot.web:app` (signature check, dedupe, engine, group commit, the reply inline as TwiML)
and bench/baseline_app.py (reads the same form, answers a fixed TwiML) each with uvicorn, one
worker, in its own process; this process is the load generator (bench/loadgen.py, aiohttp) on
loopback. Simulated smallholders (Thai and Ghanaian mobile numbers) each send "hello" and then
go on with the conversation ("1", "1", "2", "menu"...); every message has its own MessageSid.

For each app it prints:
- the peak: requests/s, p50 and p99 latency with `--concurrency` connections in a closed loop
  (each sends as soon as its previous answer came back), after a warm-up;
- p50 and p99 in an open loop at half of that app's own peak (a fixed rate, latency counted
  from when each request was due);
- the CPU used by the server, by the load generator and by all other processes (PostgreSQL,
  and whatever else runs: on 2 cores, other work changes every figure, so it is shown);
- non-200 answers (they must be 0) and, for ours, the rows stored against the requests answered
  and how many messages shared a transaction (the group commit's own count, over all phases).
Then, per database, ours/baseline in requests/s and the issue's targets: at least 0.6x the
baseline, and p99 under 50 ms at half of peak. Figures only: nothing here fails on them.

--web-only adds bench/web_only_app.py: our app with an inbox that answers at once, without
storage or turns, to tell our web side's cost from the rest.

Nothing reaches Twilio: TWILIO_API_URL points at the fake Twilio of tests/fakes, which counts
what the dispatcher sent (SMS answers go back inline, so it should stay at 0).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import math
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

import httpx
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.loadgen import Answer, Request, Result, closed_loop, open_loop
from bot.channels.twilio.routes import MESSAGES_PATH
from bot.config import Settings
from bot.storage.db import make_engine
from tests.channels.twilio_helpers import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    OUR_SMS_NUMBER,
    PUBLIC,
    message_form,
    sign,
)
from tests.fakes.twilio_api import FakeTwilio

ROOT = Path(__file__).resolve().parents[1]
POSTGRES = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
HOST = "127.0.0.1"
STARTUP_TIMEOUT = 60.0
# What a smallholder sends: a greeting, consent, "my time is right", then the menu, the
# video-call lessons and the GA pages, with MENU in between, as people do.
SCRIPT = ("hello", "1", "1", "2", "menu", "1", "1", "1", "2", "menu", "3", "1")
# Open loop: each simulated person writes again this many seconds after their last message,
# so their next message never overtakes the answer to the previous one.
THINK_SECONDS = 3.0
# The closed loop's warm-up rate times this sizes the signed requests prepared for the peak.
HEADROOM = 2.0
# The measured closed loop warms its own fresh connections first, untimed.
RECONNECT_SECONDS = 0.5
# bot/groupcommit.py's summary line at exit: messages, transactions, messages per transaction.
GROUP_COMMIT = "group commit:"
OPEN_WARMUP_SECONDS = 1.0
TARGET_RATIO = 0.6
TARGET_P99 = 0.050


class Traffic:
    """Signed Twilio SMS webhooks from simulated smallholders, each in a conversation."""

    def __init__(self) -> None:
        self.signed_url = f"{PUBLIC}{MESSAGES_PATH}"  # Twilio signs the public URL
        self.people = itertools.count()
        self.sids = itertools.count(1)
        self.signed_late = 0  # requests a lane had to sign during a run, having run out

    def sender(self) -> str:
        """Thai (+66 8X XXX XXXX) and Ghanaian (+233 24 XXX XXXX) mobiles, in turn."""
        number = next(self.people)
        serial = number // 2 % 10_000_000
        return f"+6681{serial:07d}" if number % 2 else f"+23324{serial:07d}"

    def request(self, sender: str, text: str) -> Request:
        form = message_form(sender, text, sid=f"SM{next(self.sids):032x}")
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": sign(self.signed_url, form),
        }
        return Request(urlencode(form).encode(), headers)

    def messages(self, lane: int) -> Iterator[tuple[str, str]]:
        """(sender, text) forever, one person after another. The lane's first conversation is
        cut short by a different length in each lane, so that first messages (new people) are
        spread over the run instead of all arriving together."""
        length = 1 + lane % len(SCRIPT)
        while True:
            sender = self.sender()
            for text in SCRIPT[:length]:
                yield sender, text
            length = len(SCRIPT)

    def lane(self, index: int, prepared: int) -> Iterator[Request]:
        """`prepared` requests signed now; any more are signed when needed (and counted)."""
        messages = self.messages(index)
        ready = [self.request(*next(messages)) for _ in range(prepared)]

        def requests() -> Iterator[Request]:
            yield from ready
            for sender, text in messages:
                self.signed_late += 1
                yield self.request(sender, text)

        return requests()

    def schedule(self, count: int, rate: float) -> list[Request]:
        """`count` requests for an open loop at `rate`, from enough people at once that each
        writes every THINK_SECONDS."""
        people = max(1, round(rate * THINK_SECONDS))
        per_person = math.ceil(count / people)
        lanes = [list(itertools.islice(self.lane(i, 0), per_person)) for i in range(people)]
        self.signed_late = 0  # those were signed before the clock started
        return [lanes[i % people][i // people] for i in range(count)]


def twiml(_status: int, content_type: str, body: bytes) -> Answer:
    return Answer("xml" in content_type and b"<Response" in body, b"<Message" in body)


@dataclass(frozen=True)
class Server:
    url: str
    pid: int
    log: Path

    def cpu_seconds(self) -> float:
        """User plus system CPU time of the uvicorn process so far, from /proc."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


@contextmanager
def uvicorn(
    app: str, env: Mapping[str, str], folder: Path, app_dir: Path | None = None
) -> Iterator[Server]:
    """`app` served by uvicorn with one worker, until the block ends (however it ends)."""
    port = free_port()
    log = folder / f"uvicorn-{port}.log"
    command = [sys.executable, "-m", "uvicorn", app, "--host", HOST, "--port", str(port)]
    command += ["--workers", "1", "--log-level", "warning", "--no-access-log"]
    command += ["--app-dir", str(app_dir)] if app_dir else []
    with log.open("wb") as output:
        # The working directory is the temp folder, so no stray .env file is read.
        process = subprocess.Popen(
            command, env=dict(env), cwd=folder, stdout=output, stderr=subprocess.STDOUT
        )
    try:
        server = Server(f"http://{HOST}:{port}", process.pid, log)
        wait_healthy(server, process)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_healthy(server: Server, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"uvicorn exited: {server.log.read_text()[-2000:]}")
        try:
            if httpx.get(f"{server.url}/healthz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"uvicorn did not answer /healthz within {STARTUP_TIMEOUT} s")


@dataclass(frozen=True)
class Figures:
    warm: Result
    peak: Result
    half: Result

    @property
    def runs(self) -> tuple[Result, Result, Result]:
        return self.warm, self.peak, self.half

    @property
    def answered(self) -> int:
        return sum(r.statuses[200] for r in self.runs)


def measure(name: str, server: Server, args: argparse.Namespace) -> Figures:
    """Warm-up, closed loop at peak, then an open loop at half of that peak; prints them."""
    traffic = Traffic()
    url = f"{server.url}{MESSAGES_PATH}"
    # Untimed: fills caches and pools on both sides, and tells how many requests to prepare.
    lanes = [traffic.lane(i, 0) for i in range(args.concurrency)]
    warm = asyncio.run(closed_loop(url, lanes, warmup=0, seconds=args.warmup, check=twiml))
    traffic.signed_late = 0
    prepared = math.ceil(HEADROOM * warm.rate * (args.seconds + RECONNECT_SECONDS))
    # Lanes go at nearly the same pace; one more conversation each absorbs the difference.
    per_lane = math.ceil(prepared / args.concurrency) + len(SCRIPT)
    lanes = [traffic.lane(i, per_lane) for i in range(args.concurrency)]
    peak = asyncio.run(
        closed_loop(
            url,
            lanes,
            warmup=RECONNECT_SECONDS,
            seconds=args.seconds,
            check=twiml,
            cpu=server.cpu_seconds,
        )
    )
    late = f"; {traffic.signed_late} requests signed during the run" if traffic.signed_late else ""
    print(
        f"{name}: peak {peak.rate:,.0f} requests/s with {args.concurrency} connections, "
        f"p50 {ms(peak.percentile(0.5))}, p99 {ms(peak.percentile(0.99))} "
        f"({cpu(peak)}){late}"
    )
    if not peak.completed:
        raise RuntimeError(f"{name}: no request was answered 200 at peak")
    rate = peak.rate / 2
    requests = traffic.schedule(math.ceil(rate * (OPEN_WARMUP_SECONDS + args.seconds)), rate)
    half = asyncio.run(
        open_loop(
            url, requests, rate, warmup=OPEN_WARMUP_SECONDS, check=twiml, cpu=server.cpu_seconds
        )
    )
    print(
        f"{name}: at half of peak ({rate:,.0f} requests/s offered, {half.rate:,.0f} answered), "
        f"p50 {ms(half.percentile(0.5))}, p99 {ms(half.percentile(0.99))} ({cpu(half)}; "
        f"generator at most {ms(half.max_lag)} late)"
    )
    figures = Figures(warm, peak, half)
    print(f"{name}: {answers(figures)}")
    return figures


def answers(figures: Figures) -> str:
    """Every request of the app's run, warm-up included: how each one was answered."""
    runs = figures.runs
    problems = Counter(f"HTTP {s}" for r in runs for s in r.statuses.elements() if s != 200)
    problems.update(error for r in runs for error in r.errors.elements())
    failures = [f"{problem}: {n}" for problem, n in sorted(problems.items())]
    inline = figures.peak.inline + figures.half.inline
    measured = len(figures.peak.latencies) + len(figures.half.latencies)
    return (
        f"{sum(r.sent for r in runs):,} requests sent, {sum(r.failed for r in runs)} non-200 "
        f"or failed" + (f" ({', '.join(failures)})" if failures else "") + ", "
        f"{sum(r.bad_bodies for r in runs)} 200s that were not TwiML, "
        f"{inline / measured if measured else 0:.0%} of the measured answers carried a message"
    )


def stored(url: str, fake: FakeTwilio, answered: int) -> str:
    """What our app stored against the requests it answered 200."""
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            inbound = connection.execute(sa.text("SELECT count(*) FROM inbound_message")).scalar()
            statuses = connection.execute(
                sa.text("SELECT status, count(*) FROM outbound_message GROUP BY status")
            ).all()
    finally:
        engine.dispose()
    outbound = ", ".join(f"{n:,} {status}" for status, n in sorted(statuses)) or "none"
    return (
        f"stored {inbound:,} inbound rows for {answered:,} requests answered 200; "
        f"outbound rows: {outbound}; {len(fake.requests)} sent through the (fake) Twilio API"
    )


def our_env(database_url: str, fake: FakeTwilio) -> dict[str, str]:
    env = dict(os.environ)
    for setting in Settings.model_fields:  # nothing of the caller's own configuration leaks in
        env.pop(setting.upper(), None)
    env.update(
        DATABASE_URL=database_url,
        PUBLIC_BASE_URL=PUBLIC,
        TWILIO_ACCOUNT_SID=ACCOUNT_SID,
        TWILIO_AUTH_TOKEN=AUTH_TOKEN,
        TWILIO_SMS_FROM=OUR_SMS_NUMBER,
        TWILIO_API_URL=fake.url,
        LOG_LEVEL="INFO",  # nothing is logged per message; the group commit sums up at exit
    )
    return env


def prepare_database(env: Mapping[str, str], folder: Path) -> None:
    """Migrate, then load the sample calls and resolutions so "Calls and dates" has answers."""
    bot = str(Path(sys.executable).with_name("bot"))
    samples = ROOT / "bot" / "samples"
    for command in (
        [bot, "db", "upgrade"],
        [bot, "schedule", "import", str(samples / "schedule.yaml")],
        [bot, "resolutions", "import", str(samples / "resolutions.yaml")],
    ):
        subprocess.run(command, env=dict(env), cwd=folder, check=True, capture_output=True)


def run_ours(
    name: str, database_url: str, args: argparse.Namespace, baseline: Figures, folder: Path
) -> None:
    with FakeTwilio(ACCOUNT_SID, AUTH_TOKEN) as fake:
        env = our_env(database_url, fake)
        prepare_database(env, folder)
        with uvicorn("bot.web:app", env, folder) as server:
            figures = measure(name, server, args)
        print(f"{name}: {stored(database_url, fake, figures.answered)}")
    print_log(name, server.log)
    ratio = figures.peak.rate / baseline.peak.rate
    p99 = figures.half.percentile(0.99)
    print(
        f"{name}: ours/baseline {ratio:.2f}x in requests/s (target at least {TARGET_RATIO}x: "
        f"{met(ratio >= TARGET_RATIO)}); p99 at half of peak {ms(p99)} "
        f"(target under {ms(TARGET_P99)}: {met(p99 < TARGET_P99)})"
    )


def run_baseline(args: argparse.Namespace, folder: Path) -> Figures:
    with uvicorn("baseline_app:app", os.environ, folder, app_dir=ROOT / "bench") as server:
        figures = measure("baseline", server, args)
    print_log("baseline", server.log)
    return figures


def run_web_only(args: argparse.Namespace, baseline: Figures, folder: Path) -> None:
    """Our app with storage left out (bench/web_only_app.py): what our web side costs."""
    name = "ours, storage left out"
    with FakeTwilio(ACCOUNT_SID, AUTH_TOKEN) as fake:
        env = our_env(f"sqlite:///{folder / 'unused.db'}", fake)
        with uvicorn("web_only_app:app", env, folder, app_dir=ROOT / "bench") as server:
            figures = measure(name, server, args)
    print_log(name, server.log)
    print(f"{name}: {figures.peak.rate / baseline.peak.rate:.2f}x the baseline in requests/s")


def print_log(name: str, log: Path) -> None:
    """How the group commit batched (its summary at exit), then whatever else the server
    logged but INFO lines: normally nothing."""
    lines = log.read_text(errors="replace").splitlines()
    for line in lines:
        if GROUP_COMMIT in line:
            print(f"{name}: {line.split(GROUP_COMMIT, 1)[1].strip()}")
    tail = "\n".join(line for line in lines if " INFO " not in line).strip()
    if tail:
        print(f"{name}: the server logged (last lines):\n{indent(tail[-3000:])}")


@contextmanager
def postgres_schema() -> Iterator[str]:
    """A fresh schema, given to our app through the URL (libpq `options`), dropped after."""
    schema = f"bench_webhook_{uuid.uuid4().hex[:8]}"
    admin = make_engine(POSTGRES)
    with admin.begin() as connection:
        connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        joiner = "&" if "?" in POSTGRES else "?"
        yield f"{POSTGRES}{joiner}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as connection:
            connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def cpu(result: Result) -> str:
    """Who used the CPU during the measured window, in shares of one core."""
    figures = [f"load generator {result.client_cpu:.0%}"]
    if result.server_cpu is not None and result.others_cpu is not None:
        figures.insert(0, f"server {result.server_cpu:.0%}")
        figures.append(f"all other processes {result.others_cpu:.0%}")
    return f"CPU: {', '.join(figures)}"


def met(ok: bool) -> str:
    return "met" if ok else "NOT met"


def indent(text: str) -> str:
    return "\n".join(f"    {line}" for line in text.splitlines())


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--seconds", type=float, default=10.0, help="per measured phase")
    parser.add_argument("--concurrency", type=int, default=64, help="connections at peak")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds, before the peak")
    parser.add_argument(
        "--web-only", action="store_true", help="also our app with storage left out"
    )
    args = parser.parse_args()
    # A plain `kill` must still run the finally blocks that stop the servers and drop the schema.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    python = sys.version.split()[0]
    print(
        f"webhook throughput: POST {MESSAGES_PATH}, uvicorn with 1 worker, {args.concurrency} "
        f"connections at peak, {args.seconds:g} s per phase, Python {python}, "
        f"{os.cpu_count()} cores"
    )
    with tempfile.TemporaryDirectory(prefix="webhook-bench-") as name:
        folder = Path(name)
        baseline = run_baseline(args, folder)
        if args.web_only:
            run_web_only(args, baseline, folder)
        if args.database in ("sqlite", "both"):
            sqlite = f"sqlite:///{folder / 'bench.db'}"
            run_ours("ours on SQLite (WAL)", sqlite, args, baseline, folder)
        if args.database in ("postgres", "both"):
            with postgres_schema() as url:
                run_ours("ours on PostgreSQL", url, args, baseline, folder)


if __name__ == "__main__":
    main()
