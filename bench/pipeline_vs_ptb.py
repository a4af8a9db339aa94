"""Inbound throughput: our durable pipeline against a python-telegram-bot ConversationHandler.

    .venv/bin/python bench/pipeline_vs_ptb.py [--users 1000] [--database sqlite|postgres|both]
        [--in-flight 1,64] [--profile] [--profile-users 500] [--top 25]

Both sides get the same N simulated users x 4 messages, interleaved (everyone's first message,
then everyone's second...), built before the clock starts:

- ours: an SMS smallholder's first four messages: "hello" (consent question), "1" (agree;
  country and time question), "1" (right; the menu), "menu" (the menu again). Each is stored
  with the person, the conversation and the answer (an outbox row, left queued: the channel
  is null) before it counts as handled. Two ways in:
  - 1 in flight: `Pipeline.handle`, one message and one transaction at a time, as the console
    or a single webhook at a time gets it;
  - K in flight: `GroupCommit.submit` from the feeding thread with up to K messages waiting
    for their commit (K concurrent webhooks), each person's next message sent only once the
    previous one is stored; the writer thread stores what has gathered in one transaction.
  Run on SQLite (WAL, a temp file) and PostgreSQL (a schema of its own, dropped afterwards),
  each run on a fresh database holding the sample schedule.
- baseline: a PTB `ConversationHandler` with two states (ASK_NAME -> ASK_COUNTRY -> END; the
  4th message starts it again), each message answered with `reply_text`, fed `Update` objects
  through `Application.process_update`; its Bot talks to an in-memory `BaseRequest` returning
  canned JSON (no network); its state lives in memory only. Best of 3 runs.

Prints msgs/s for both and the ratio ours/baseline (the target: at least 1.0x while our state
is durable); the floor: our turns with storage left out; database calls per message
(statements, COMMIT and pool pre-pings, counted over the warm-up, which is fed the same way);
messages per transaction; CPU per message; and checks that every message queued one answer
and every conversation ended at the menu.

--profile: cProfile of our side on SQLite and PostgreSQL, messages given to
`Pipeline.handle_many` in batches of the largest K (in the profiled thread: the profiler sees
one thread), then the same turns with no database at all (the floor storage sits on): own time
per library, the top bot/ functions by cumulative time, the top functions by own time.
Figures on a shared 2-core machine are provisional: run one benchmark at a time.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import json
import os
import pstats
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from unittest import mock

import sqlalchemy as sa
from sqlmodel import Session, col, func, select
from telegram import Update
from telegram import __version__ as ptb_version
from telegram.ext import (
    Application,
    ApplicationBuilder,
    ContextTypes,
    ConversationHandler,
    MessageHandler,
    filters,
)
from telegram.request import BaseRequest, RequestData

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.channels.base import InboundMessage
from bot.content_import import import_resolutions, import_schedule
from bot.demo import SAMPLES
from bot.flowfiles import FlowSet, flow_set
from bot.groupcommit import GroupCommit
from bot.pipeline import Pipeline
from bot.storage.checkpoints import Checkpointer
from bot.storage.content import ContentCache
from bot.storage.db import make_engine
from bot.storage.migrate import upgrade
from bot.storage.models import Conversation, OutboundMessage, Person
from bot.storage.pending import PendingWrites
from bot.storage.people import person_values
from bot.storage.turns import ContactRow, ConversationRow, PersonRow

POSTGRES = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
TEXTS = ("hello", "1", "1", "menu")
# One-zone countries, so "1" always confirms the zone: (prefix, digits after it).
PHONES = (("+6681", 7), ("+8491", 7), ("+95942", 7), ("+22507", 8), ("+23324", 7))
WARM_UP_USERS = 50
PERSON_COLUMNS = [name for name in PersonRow.__dataclass_fields__ if name != "loaded"]
REPO = str(Path(__file__).resolve().parents[1]) + os.sep


# --- the workload -------------------------------------------------------------------------------


def phone(user: int) -> str:
    prefix, digits = PHONES[user % len(PHONES)]
    return f"{prefix}{user:0{digits}d}"


def inbound_rounds(users: Sequence[int]) -> list[list[InboundMessage]]:
    """Per message number, one message from each user (the order they are handled in)."""
    return [
        [
            InboundMessage(
                channel="sms",
                address=phone(u),
                dedupe_key=f"SM{u:08d}r{r}",
                text=text,
                phone=phone(u),
            )
            for u in users
        ]
        for r, text in enumerate(TEXTS)
    ]


# --- the baseline: python-telegram-bot ----------------------------------------------------------

ASK_NAME, ASK_COUNTRY = range(2)
BOT_ID = 999_000_001
GET_ME = json.dumps(
    {"ok": True, "result": {"id": BOT_ID, "is_bot": True, "first_name": "Bench", "username": "b"}}
).encode()
SENT = json.dumps(
    {
        "ok": True,
        "result": {
            "message_id": 1,
            "date": 1_780_000_000,
            "chat": {"id": 1, "type": "private"},
            "text": "ok",
        },
    }
).encode()
TRUE = b'{"ok": true, "result": true}'


class CannedBotApi(BaseRequest):
    """The Bot API in memory: getMe and sendMessage answer canned JSON at once."""

    def __init__(self) -> None:
        self.sent = 0

    @property
    def read_timeout(self) -> float | None:
        return None

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = BaseRequest.DEFAULT_NONE,
        write_timeout: Any = BaseRequest.DEFAULT_NONE,
        connect_timeout: Any = BaseRequest.DEFAULT_NONE,
        pool_timeout: Any = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        if url.endswith("/sendMessage"):
            self.sent += 1
            return 200, SENT
        if url.endswith("/getMe"):
            return 200, GET_ME
        return 200, TRUE


async def ask_name(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    assert update.message is not None
    await update.message.reply_text("Hello! What is your name?")
    return ASK_NAME


async def ask_country(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    assert update.message is not None and context.user_data is not None
    context.user_data["name"] = update.message.text
    await update.message.reply_text("Which country do you grow rubber in?")
    return ASK_COUNTRY


async def done(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    assert update.message is not None and context.user_data is not None
    context.user_data["country"] = update.message.text
    await update.message.reply_text("Thank you, you are ready!")
    return ConversationHandler.END


def ptb_application(api: CannedBotApi) -> Application[Any, Any, Any, Any, Any, Any]:
    application = (
        ApplicationBuilder()
        .token("123456:bench")
        .request(api)
        .get_updates_request(CannedBotApi())
        .updater(None)
        .build()
    )
    text = filters.TEXT & ~filters.COMMAND
    application.add_handler(
        ConversationHandler(
            entry_points=[MessageHandler(text, ask_name)],
            states={
                ASK_NAME: [MessageHandler(text, ask_country)],
                ASK_COUNTRY: [MessageHandler(text, done)],
            },
            fallbacks=[],
        )
    )
    return application


def updates_for(users: Sequence[int], bot: Any) -> list[Update]:
    updates = []
    for r, text in enumerate(TEXTS):
        for u in users:
            number = len(updates) + 1
            person = {"id": 10_000 + u, "is_bot": False, "first_name": "Farmer"}
            data = {
                "update_id": number,
                "message": {
                    "message_id": number,
                    "date": 1_780_000_000 + r,
                    "chat": {"id": 10_000 + u, "type": "private", "first_name": "Farmer"},
                    "from": person,
                    "text": text,
                },
            }
            updates.append(Update.de_json(data, bot))
    return updates


async def run_baseline(users: int) -> tuple[int, float]:
    """(messages, seconds) through Application.process_update, after a warm-up."""
    api = CannedBotApi()
    application = ptb_application(api)
    await application.initialize()  # getMe
    for update in updates_for(range(users, users + WARM_UP_USERS), application.bot):
        await application.process_update(update)
    updates = updates_for(range(users), application.bot)
    before = api.sent
    started = time.perf_counter()
    for update in updates:
        await application.process_update(update)
    took = time.perf_counter() - started
    await application.shutdown()
    assert api.sent - before == len(updates), "every update must be answered once"
    return len(updates), took


# --- databases ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Database:
    label: str
    url: str
    schema: str | None = None

    def engine(self) -> sa.Engine:
        """As the web process makes it (SQLite's checkpoints in a thread of their own)."""
        if not self.schema:
            return make_engine(self.url, background_checkpoints=True)
        return make_engine(self.url, connect_args={"options": f"-csearch_path={self.schema}"})


@contextlib.contextmanager
def fresh_database(kind: str) -> Iterator[Database]:
    """A migrated, empty database holding the sample schedule and resolutions."""
    if kind == "sqlite":
        with tempfile.TemporaryDirectory() as folder:
            database = Database("SQLite (WAL)", f"sqlite:///{Path(folder) / 'bench.db'}")
            prepare(database)
            yield database
        return
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    admin = make_engine(POSTGRES)
    with admin.begin() as connection:
        connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        database = Database("PostgreSQL", POSTGRES, schema)
        prepare(database)
        yield database
    finally:
        with admin.begin() as connection:
            connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def prepare(database: Database) -> None:
    engine = database.engine()
    upgrade(engine)
    with Session(engine) as db, db.begin():
        import_schedule(db, SAMPLES / "schedule.yaml")
        import_resolutions(db, SAMPLES / "resolutions.yaml")
    engine.dispose()


# --- our side -----------------------------------------------------------------------------------


@dataclass
class Run:
    messages: int
    seconds: float
    cpu: float  # this process's CPU seconds (both threads): steadier than wall time
    statements: Counter[str] = field(default_factory=Counter)  # per message, over the warm-up
    batches: int = 0  # transactions' worth of work the writer took (K in flight)
    kept: float = 0.0  # share of the timed turns handed out as kept turns

    @property
    def rate(self) -> float:
        return self.messages / self.seconds


class StatementCounter:
    """Database calls by kind (SELECT, INSERT..., COMMIT, PING), and per message number."""

    def __init__(self) -> None:
        self.by_kind: Counter[str] = Counter()
        self.by_round: Counter[int] = Counter()
        self.round = 0
        self._lock = threading.Lock()

    def __call__(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        self.count(statement.split(None, 1)[0].upper())

    def count(self, kind: str) -> None:
        with self._lock:
            self.by_kind[kind] += 1
            self.by_round[self.round] += 1

    @contextlib.contextmanager
    def listening(self, engine: sa.Engine) -> Iterator[None]:
        """Statements, COMMITs and pool pre-pings (each a round trip on PostgreSQL)."""
        ping = engine.dialect.do_ping

        def counted_ping(connection: Any) -> bool:
            self.count("PING")
            return ping(connection)

        def commit(_connection: Any) -> None:
            self.count("COMMIT")

        sa.event.listen(engine, "before_cursor_execute", self)
        sa.event.listen(engine, "commit", commit)
        with mock.patch.object(engine.dialect, "do_ping", counted_ping):
            yield
        sa.event.remove(engine, "before_cursor_execute", self)
        sa.event.remove(engine, "commit", commit)


Around = Callable[[Callable[[], None]], None]  # runs the timed part (under a profiler)


def one_at_a_time(bot: Pipeline, rounds: list[list[InboundMessage]]) -> None:
    for messages in rounds:
        for message in messages:
            bot.handle(message)


def in_flight(commits: GroupCommit, rounds: list[list[InboundMessage]], window: int) -> None:
    """`window` concurrent senders on an event loop, as a web server's connections are, each
    awaiting its message's commit before sending the next; a person's next message goes once
    their previous one is stored (round by round)."""

    async def send(messages: Iterator[InboundMessage]) -> None:
        for message in messages:
            await commits.handle(message)  # raises what the pipeline could not store

    async def run() -> None:
        for messages in rounds:
            shared = iter(messages)
            await asyncio.gather(*(send(shared) for _ in range(window)))

    asyncio.run(run())


def in_batches(bot: Pipeline, rounds: list[list[InboundMessage]], size: int) -> None:
    """What the writer thread does with K in flight, in this thread (for the profiler)."""
    for messages in rounds:
        for start in range(0, len(messages), size):
            outcomes = bot.handle_many([(m, False) for m in messages[start : start + size]])
            for outcome in outcomes:
                if isinstance(outcome, Exception):
                    raise outcome


def run_ours(
    database: Database,
    flows: FlowSet,
    users: int,
    window: int,
    around: Around | None = None,
    profiled: bool = False,
) -> Run:
    """Warm up (counting statements), then time `users` x 4 messages with `window` in flight."""
    engine = database.engine()
    checkpoints = Checkpointer(engine)  # as the web app runs it
    checkpoints.start()
    bot = Pipeline(engine, flows, content=ContentCache())
    commits = GroupCommit(bot)

    def feed(rounds: list[list[InboundMessage]]) -> None:
        if window == 1:
            one_at_a_time(bot, rounds)
        elif profiled:
            in_batches(bot, rounds, window)
        else:
            in_flight(commits, rounds, window)

    counter = StatementCounter()
    with counter.listening(engine):
        feed(inbound_rounds(range(users, users + WARM_UP_USERS)))
    warm_batches = commits.batches
    warm_hits, warm_misses = bot.turns.hits, bot.turns.misses
    rounds = inbound_rounds(range(users))
    started, cpu = time.perf_counter(), time.process_time()
    (around or (lambda f: f()))(lambda: feed(rounds))
    took, cpu = time.perf_counter() - started, time.process_time() - cpu
    commits.close()
    checkpoints.stop()
    check(engine, users)
    engine.dispose()
    per_message = len(TEXTS) * WARM_UP_USERS
    statements = Counter({k: v / per_message for k, v in counter.by_kind.items()})
    hits, misses = bot.turns.hits - warm_hits, bot.turns.misses - warm_misses
    kept = hits / (hits + misses) if hits + misses else 0.0
    return Run(users * len(TEXTS), took, cpu, statements, commits.batches - warm_batches, kept)


def check(engine: sa.Engine, users: int) -> None:
    """Every message answered by one queued row; every timed conversation ends at the menu."""
    everyone = users + WARM_UP_USERS
    with Session(engine) as db:
        queued = db.exec(select(func.count()).where(col(OutboundMessage.status) == "queued")).one()
        at_menu = db.exec(select(func.count()).where(col(Conversation.flow) == "menu")).one()
    expected = everyone * len(TEXTS)
    if queued != expected or at_menu != everyone:
        raise SystemExit(
            f"wrong outcome: {queued} outbox rows queued (expected {expected}), "
            f"{at_menu} conversations at the menu (expected {everyone})"
        )


def describe(run: Run, window: int) -> str:
    kinds = ", ".join(f"{k} {v:.2f}" for k, v in run.statements.most_common())
    total = sum(run.statements.values())
    per_batch = f"{run.messages / run.batches:.1f} msgs/transaction, " if run.batches else ""
    cpu = run.cpu / run.messages * 1e6
    return (
        f"{per_batch}{cpu:,.0f} us CPU/msg; {run.kept:.0%} kept turns; "
        f"{total:.2f} database calls/msg ({kinds})"
    )


# --- profiling ----------------------------------------------------------------------------------


def library(filename: str) -> str:
    if "site-packages" in filename:
        return filename.split("site-packages" + os.sep, 1)[1].split(os.sep, 1)[0]
    if filename.startswith(REPO):
        return "/".join(filename[len(REPO) :].split(os.sep)[:2]).removesuffix(".py")
    if filename.startswith("~") or filename.startswith("<"):
        return "built-in (C: sqlite3, json, ...)"
    return "Python standard library"


def short(key: tuple[str, int, str]) -> str:
    filename, line, function = key
    if "site-packages" in filename:
        filename = filename.split("site-packages" + os.sep, 1)[1]
    elif filename.startswith(REPO):
        filename = filename[len(REPO) :]
    elif filename == "~":
        return function
    else:
        filename = Path(filename).name
    return f"{filename}:{line}({function})"


def profile_functions(title: str, measure: Callable[[Around], Run], top: int) -> None:
    """cProfile around the timed part of `measure`; prints own time per library, then the
    top functions of bot/ by cumulative time and the top functions overall by own time."""
    profiler = cProfile.Profile()

    def profiled(timed: Callable[[], None]) -> None:
        profiler.enable()
        try:
            timed()
        finally:
            profiler.disable()

    run = measure(profiled)
    table: dict[tuple[str, int, str], tuple[int, int, float, float, Any]]
    table = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    total = sum(own for _, _, own, _, _ in table.values())
    count = run.messages
    print(
        f"{title}: cProfile, {count} messages "
        f"({run.rate:,.0f} msgs/s under the profiler); shares are of the profiled time"
    )
    by_library: Counter[str] = Counter()
    for key, (_, _, own, _, _) in table.items():
        by_library[library(key[0])] += own
    print("  own time per library (share, us/msg):")
    for name, own in by_library.most_common(12):
        print(f"    {own / total:6.1%}  {own / count * 1e6:6.0f}  {name}")
    ours = {k: v for k, v in table.items() if k[0].startswith(REPO + "bot" + os.sep)}
    rankings = (
        (f"top {top} of bot/ by cumulative time", ours, 3),
        (f"top {top} of everything by own time", table, 2),
    )
    for title, rows, index in rankings:
        print(f"  {title} (share, us/msg, calls/msg):")
        ranked = sorted(rows.items(), key=lambda item: item[1][index], reverse=True)
        for key, (_, calls, own, cumulative, _) in ranked[:top]:
            spent = cumulative if index == 3 else own
            print(
                f"    {spent / total:6.1%}  {spent / count * 1e6:6.0f}  "
                f"{calls / count:5.1f}  {short(key)}"
            )


def run_without_database(
    database: Database, flows: FlowSet, users: int, around: Around | None = None
) -> Run:
    """What the turns cost with a free database: `Pipeline._respond` itself (normalising,
    the engine, effects, rendering, the outbox rows' values, the state as JSON) given each
    person's rows as the batch's SELECT hands them over, with the writes left in memory."""
    engine = database.engine()
    bot = Pipeline(engine, flows, content=ContentCache())
    with Session(engine) as db:
        bot.content._current(db)  # loaded once, as the real cache is (then every 60 s)
    engine.dispose()
    everyone = range(users + WARM_UP_USERS)
    rows = {phone(u): people_rows(u, bot.clock()) for u in everyone}

    def handle(messages: list[InboundMessage]) -> None:
        writes = PendingWrites(None)  # type: ignore[arg-type]  # never flushed: no database
        now = bot.clock()  # one moment per batch, as `handle_many` takes it
        for n, inbound in enumerate(messages, 1):
            contact, person, conversation = rows[inbound.address]
            message = bot._prepare(inbound, False, now)
            answered = bot._respond(None, writes, message, contact, person, conversation, n)  # type: ignore[arg-type]
            assert answered.reply is not None

    for messages in inbound_rounds(range(users, users + WARM_UP_USERS)):
        handle(messages)
    rounds = inbound_rounds(range(users))

    def timed() -> None:
        for messages in rounds:
            handle(messages)

    started, cpu = time.perf_counter(), time.process_time()
    (around or (lambda f: f()))(timed)
    took, cpu = time.perf_counter() - started, time.process_time() - cpu
    if sum(c.flow == "menu" for _, _, c in rows.values()) != len(rows):
        raise SystemExit("wrong outcome without a database: not every conversation at the menu")
    return Run(users * len(TEXTS), took, cpu)


def people_rows(user: int, now: datetime) -> tuple[ContactRow, PersonRow, ConversationRow]:
    """A newcomer's rows as `create_newcomers` leaves them and `turns.known` reads them."""
    address = phone(user)
    inbound = InboundMessage(channel="sms", address=address, dedupe_key="", phone=address)
    new = Person(id=user + 1, **person_values(inbound, now))
    person = PersonRow(**{name: getattr(new, name) for name in PERSON_COLUMNS})
    contact = ContactRow(user + 1, user + 1, "sms", address, None)
    conversation = ConversationRow(user + 1, None, 0, None, "{}", [], 0)
    return contact, person, conversation


# --- the baseline and our side, side by side ----------------------------------------------------


def compare(args: argparse.Namespace, flows: FlowSet) -> float:
    """Prints the baseline and our runs; returns the baseline's msgs/s."""
    # The best of three: the baseline run is short, and a slower one would flatter us.
    runs = [asyncio.run(run_baseline(args.users)) for _ in range(3)]
    messages, took = min(runs, key=lambda run: run[1])
    baseline = messages / took
    print(
        f"baseline: PTB {ptb_version} ConversationHandler (2 states, in memory), "
        f"process_update + reply_text to a canned Bot API: {messages} msgs in {took:.2f} s "
        f"= {baseline:,.0f} msgs/s (best of 3)"
    )
    with fresh_database("sqlite") as database:
        floor = run_without_database(database, flows, args.users)
    print(
        f"floor: the same turns with storage left out (Pipeline._respond, no database): "
        f"{floor.rate:,.0f} msgs/s = {floor.rate / baseline:.2f}x baseline"
    )
    for kind in kinds(args.database):
        for window in args.in_flight:
            with fresh_database(kind) as database:
                run = run_ours(database, flows, args.users, window)
            print(
                f"{database.label}: ours, {window} in flight: "
                f"{run.messages} msgs in {run.seconds:.2f} s = {run.rate:,.0f} msgs/s "
                f"= {run.rate / baseline:.2f}x baseline; {describe(run, window)}"
            )
    return baseline


def kinds(choice: str) -> list[str]:
    return ["sqlite", "postgres"] if choice == "both" else [choice]


def windows(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part.strip()]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--database", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument(
        "--in-flight", type=windows, default=[1, 64], help="e.g. 1,64 ('' skips our runs)"
    )
    parser.add_argument("--profile", action="store_true", help="cProfile of our side")
    parser.add_argument("--profile-users", type=int, default=500)
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    python = sys.version.split()[0]
    # bot/ is worked on while benchmarks run: say which state of it was measured.
    changed = max(path.stat().st_mtime for path in Path(REPO, "bot").rglob("*.py"))
    print(
        f"pipeline vs python-telegram-bot: {args.users} users x {len(TEXTS)} messages "
        f"= {args.users * len(TEXTS)} messages, Python {python}, {os.cpu_count()} cores, "
        f"bot/ last changed {datetime.fromtimestamp(changed, UTC):%Y-%m-%d %H:%M:%S} UTC"
    )
    flows = flow_set()
    compare(args, flows)
    if not args.profile:
        return
    users, window = args.profile_users, max(args.in_flight or [64])
    for kind in kinds(args.database):
        with fresh_database(kind) as database:
            profile_functions(
                f"{database.label}, batches of {window}",
                lambda around: run_ours(database, flows, users, window, around, profiled=True),
                args.top,
            )
    with fresh_database("sqlite") as database:
        profile_functions(
            "No database (the same turns, storage left out)",
            lambda around: run_without_database(database, flows, users, around),
            args.top,
        )


if __name__ == "__main__":
    main()
