"""Inbound throughput: our durable pipeline against a python-telegram-bot ConversationHandler.

    .venv/bin/python bench/pipeline_vs_ptb.py [--users 2000] [--database sqlite|postgres|both]
        [--threads 1,4] [--profile] [--what-if] [--profile-users 1000] [--top 25]

Both sides get the same N simulated users x 4 messages, interleaved (everyone's first message,
then everyone's second...), built before the clock starts:

- ours: `Pipeline.handle(InboundMessage)` on SMS, as a smallholder writes: "hello" (consent
  question), "1" (agree; country and time question), "1" (right; the menu), "menu" (the menu
  again). One transaction per message stores the inbound row, the person, the conversation
  and the answer as an outbox row; the channel is null: the rows are left queued. Run on SQLite
  (WAL, a temp file) and PostgreSQL (a schema of its own, dropped afterwards), from 1 thread
  and from several (the web server runs handlers in a thread pool; each user's messages stay
  in order on one thread).
- baseline: a PTB `ConversationHandler` with two states (ASK_NAME -> ASK_COUNTRY -> END; the
  4th message starts it again), each message answered with `reply_text`, fed `Update` objects
  through `Application.process_update`; its Bot talks to an in-memory `BaseRequest` returning
  canned JSON (no network); its state lives in memory only.

Prints msgs/s for both and the ratio ours/baseline (the target: at least 1.0x while our state
is durable), SQL statements per message (counted during the warm-up, untimed), and checks
that every message queued its answer and every conversation ended at the menu.

--profile: per phase of `Pipeline._handle` (exclusive time, from wrappers installed by this
script), own time per library, then cProfile's top functions by cumulative and by own time.
--what-if: the same single-thread run with one change monkeypatched at a time (nothing in
bot/ is edited), to estimate what each fix would gain.
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
from pathlib import Path
from typing import Any
from unittest import mock

import sqlalchemy as sa
from sqlalchemy.orm import Session as OrmSession
from sqlalchemy.orm import SessionTransaction
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

import bot.pipeline as pipeline_module
from bot.channels.base import InboundMessage
from bot.content_import import import_resolutions, import_schedule
from bot.demo import SAMPLES
from bot.flowfiles import FlowSet, flow_set
from bot.pipeline import Pipeline
from bot.storage.content import ContentCache
from bot.storage.db import make_engine, normalise_url
from bot.storage.migrate import upgrade
from bot.storage.models import Conversation, OutboundMessage

POSTGRES = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
TEXTS = ("hello", "1", "1", "menu")
# One-zone countries, so "1" always confirms the zone: (prefix, digits after it).
PHONES = (("+6681", 7), ("+8491", 7), ("+95942", 7), ("+22507", 8), ("+23324", 7))
WARM_UP_USERS = 50
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

    def engine(self, pre_ping: bool = True) -> sa.Engine:
        options: dict[str, Any] = {}
        if self.schema:
            options["connect_args"] = {"options": f"-csearch_path={self.schema}"}
            if not pre_ping:
                return sa.create_engine(normalise_url(self.url), **options)
        return make_engine(self.url, **options)


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
    statements: Counter[str] = field(default_factory=Counter)
    statements_per_round: list[float] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.messages / self.seconds


class StatementCounter:
    """SQL statements sent, by their first word (SELECT, INSERT...), per message number."""

    def __init__(self) -> None:
        self.by_kind: Counter[str] = Counter()
        self.by_round: Counter[int] = Counter()
        self.round = 0
        self._lock = threading.Lock()

    def __call__(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        with self._lock:
            self.by_kind[statement.split(None, 1)[0].upper()] += 1
            self.by_round[self.round] += 1


Handle = Callable[[Pipeline, list[InboundMessage]], None]


def one_at_a_time(bot: Pipeline, messages: list[InboundMessage]) -> None:
    for message in messages:
        bot.handle(message)


def feed(
    bot: Pipeline,
    rounds: list[list[InboundMessage]],
    threads: int,
    handle: Handle = one_at_a_time,
    counter: StatementCounter | None = None,
) -> None:
    """Each thread takes every n-th user and sends their messages round by round, in order."""
    if threads == 1:
        for number, messages in enumerate(rounds):
            if counter:
                counter.round = number
            handle(bot, messages)
        return

    def worker(index: int) -> None:
        for messages in rounds:
            handle(bot, messages[index::threads])

    workers = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()


def run_ours(
    database: Database,
    flows: FlowSet,
    users: int,
    threads: int,
    pre_ping: bool = True,
    handle: Handle = one_at_a_time,
    around: Callable[[Callable[[], None]], None] | None = None,
) -> Run:
    """Warm up (counting statements), then time `users` x 4 messages from `threads` threads."""
    engine = database.engine(pre_ping)
    bot = Pipeline(engine, flows, content=ContentCache())
    counter = StatementCounter()
    sa.event.listen(engine, "before_cursor_execute", counter)
    feed(bot, inbound_rounds(range(users, users + WARM_UP_USERS)), 1, handle, counter)
    sa.event.remove(engine, "before_cursor_execute", counter)
    rounds = inbound_rounds(range(users))

    def timed() -> None:
        feed(bot, rounds, threads, handle)

    started = time.perf_counter()
    (around or (lambda f: f()))(timed)
    took = time.perf_counter() - started
    check(engine, users)
    engine.dispose()
    per_message = len(TEXTS) * WARM_UP_USERS
    return Run(
        users * len(TEXTS),
        took,
        Counter({k: v / per_message for k, v in counter.by_kind.items()}),
        [counter.by_round[r] / WARM_UP_USERS for r in range(len(TEXTS))],
    )


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


def describe(run: Run) -> str:
    kinds = ", ".join(f"{k} {v:.1f}" for k, v in run.statements.most_common())
    rounds = "/".join(f"{n:.0f}" for n in run.statements_per_round)
    return f"{sum(run.statements.values()):.1f} SQL statements/msg ({kinds}; per turn {rounds})"


# --- profiling ----------------------------------------------------------------------------------


class Phases:
    """Exclusive wall time per wrapped function: a phase's time excludes the phases it calls."""

    def __init__(self) -> None:
        self.own: Counter[str] = Counter()
        self.calls: Counter[str] = Counter()
        self._stack: list[float] = []

    def wrap(self, name: str, function: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            self._stack.append(0.0)
            try:
                return function(*args, **kwargs)
            finally:
                took = time.perf_counter() - started
                children = self._stack.pop()
                self.own[name] += took - children
                self.calls[name] += 1
                if self._stack:
                    self._stack[-1] += took

        return timed


# What each wrapped name stands for in Pipeline._handle (bot/pipeline.py).
PHASES = {
    "normalise": "bot/text.py:normalise (Zawgyi check, digits)",
    "_seen": "bot/pipeline.py:_seen (SELECT by dedupe key)",
    "find_contact": "bot/storage/people.py:find_contact (SELECT contact)",
    "create_contact": "bot/storage/people.py:create_contact (1st msg: person + contact)",
    "_conversation": "bot/pipeline.py:_conversation (SELECT ... FOR UPDATE)",
    "statement_facts": "bot/storage/statements.py:statement_facts (SELECT statement)",
    "resolve_views": "bot/storage/views.py:resolve_views",
    "apply_fields": "bot/storage/people.py:apply_fields",
    "apply_effects": "bot/storage/effects.py:apply_effects",
    "render": "bot/render.py:render (answer text, Babel)",
    "enqueue_reply": "bot/storage/outbox.py:enqueue_reply (outbox INSERT)",
    "documents_for": "bot/storage/documents.py:documents_for",
    "_save": "bot/pipeline.py:_save (state to JSON)",
}
SESSION_PHASES = {
    "get": "Session.get (Person FOR UPDATE, and inside phases)",
    "flush": "Session.flush (inbound INSERT; final contact/person/conversation UPDATEs)",
    "_connection_for_bind": "Session connection checkout + BEGIN (pool, pre-ping)",
}


def phase_patches(phases: Phases, bot: Pipeline) -> list[Any]:
    patches = [
        mock.patch.object(pipeline_module, name, phases.wrap(name, getattr(pipeline_module, name)))
        for name in PHASES
    ]
    patches += [
        mock.patch.object(OrmSession, name, phases.wrap(name, getattr(OrmSession, name)))
        for name in SESSION_PHASES
    ]
    patches += [
        mock.patch.object(Pipeline, "handle", phases.wrap("handle", Pipeline.handle)),
        mock.patch.object(Pipeline, "_turn", phases.wrap("_turn", Pipeline._turn)),
        mock.patch.object(SessionTransaction, "commit", phases.wrap("commit", _commit)),
        mock.patch.object(
            bot.content, "collections", phases.wrap("collections", bot.content.collections)
        ),
    ]
    return patches


_commit = SessionTransaction.commit


def profile_phases(database: Database, flows: FlowSet, users: int) -> None:
    engine = database.engine()
    bot = Pipeline(engine, flows, content=ContentCache())
    one_at_a_time(bot, [m for r in inbound_rounds(range(users, users + WARM_UP_USERS)) for m in r])
    phases = Phases()
    rounds = inbound_rounds(range(users))
    with contextlib.ExitStack() as stack:
        for patch in phase_patches(phases, bot):
            stack.enter_context(patch)
        started = time.perf_counter()
        feed(bot, rounds, 1)
        took = time.perf_counter() - started
    engine.dispose()
    count = users * len(TEXTS)
    labels = {
        **PHASES,
        **SESSION_PHASES,
        "handle": "bot/pipeline.py:Pipeline.handle (Session, begin, rest of _handle)",
        "_turn": "bot/pipeline.py:Pipeline._turn (the engine: resume)",
        "commit": "COMMIT (SessionTransaction.commit)",
        "collections": "bot/storage/content.py:ContentCache.collections (items per turn)",
    }
    print(f"{database.label}: time per phase, 1 thread, {count} messages in {took:.2f} s")
    for name, own in phases.own.most_common():
        print(
            f"  {own / took:6.1%}  {own / count * 1e6:7.0f} us/msg  "
            f"{phases.calls[name] / count:4.1f} calls/msg  {labels[name]}"
        )


def library(filename: str) -> str:
    if filename.startswith(REPO):
        return "/".join(filename[len(REPO) :].split(os.sep)[:2]).removesuffix(".py")
    if "site-packages" in filename:
        return filename.split("site-packages" + os.sep, 1)[1].split(os.sep, 1)[0]
    if filename.startswith("~") or filename.startswith("<"):
        return "built-in (C: sqlite3, json, ...)"
    return "Python standard library"


def short(key: tuple[str, int, str]) -> str:
    filename, line, function = key
    if filename.startswith(REPO):
        filename = filename[len(REPO) :]
    elif "site-packages" in filename:
        filename = filename.split("site-packages" + os.sep, 1)[1]
    elif filename == "~":
        return function
    else:
        filename = Path(filename).name
    return f"{filename}:{line}({function})"


def profile_functions(database: Database, flows: FlowSet, users: int, top: int) -> None:
    profiler = cProfile.Profile()

    def profiled(timed: Callable[[], None]) -> None:
        profiler.enable()
        try:
            timed()
        finally:
            profiler.disable()

    run = run_ours(database, flows, users, 1, around=profiled)
    stats = pstats.Stats(profiler)
    table: dict[tuple[str, int, str], tuple[int, int, float, float, Any]]
    table = stats.stats  # type: ignore[attr-defined]
    total = sum(own for _, _, own, _, _ in table.values())
    count = run.messages
    print(
        f"{database.label}: cProfile, 1 thread, {count} messages "
        f"({run.rate:,.0f} msgs/s under the profiler)"
    )
    by_library: Counter[str] = Counter()
    for key, (_, _, own, _, _) in table.items():
        by_library[library(key[0])] += own
    print("  own time per library:")
    for name, own in by_library.most_common(12):
        print(f"    {own / total:6.1%}  {own / count * 1e6:6.0f} us/msg  {name}")
    for title, index in (("cumulative", 3), ("own", 2)):
        print(f"  top {top} by {title} time (share of profiled time, us per message, calls/msg):")
        ranked = sorted(table.items(), key=lambda item: item[1][index], reverse=True)
        for key, (_, calls, own, cumulative, _) in ranked[:top]:
            spent = cumulative if index == 3 else own
            print(
                f"    {spent / total:6.1%}  {spent / count * 1e6:6.0f} us  "
                f"{calls / count:6.1f}  {short(key)}"
            )


# --- the baseline and our side, side by side ----------------------------------------------------


def compare(args: argparse.Namespace, flows: FlowSet) -> None:
    messages, took = asyncio.run(run_baseline(args.users))
    baseline = messages / took
    print(
        f"baseline: PTB {ptb_version} ConversationHandler (2 states, in memory), "
        f"process_update + reply_text to a canned Bot API: {messages} msgs in {took:.2f} s "
        f"= {baseline:,.0f} msgs/s"
    )
    for kind in kinds(args.database):
        for threads in args.threads:
            with fresh_database(kind) as database:
                run = run_ours(database, flows, args.users, threads)
            print(
                f"{database.label}: ours, {threads} thread{'s' if threads > 1 else ''}: "
                f"{run.messages} msgs in {run.seconds:.2f} s = {run.rate:,.0f} msgs/s "
                f"= {run.rate / baseline:.2f}x baseline; {describe(run)}"
            )


def kinds(choice: str) -> list[str]:
    return ["sqlite", "postgres"] if choice == "both" else [choice]


def thread_counts(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part.strip()]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--users", type=int, default=2000)
    parser.add_argument("--database", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--threads", type=thread_counts, default=[1, 4], help="e.g. 1,4")
    parser.add_argument("--profile", action="store_true", help="phases and cProfile, our side")
    parser.add_argument("--what-if", action="store_true", help="monkeypatched variants, our side")
    parser.add_argument("--profile-users", type=int, default=1000)
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    python = sys.version.split()[0]
    print(
        f"pipeline vs python-telegram-bot: {args.users} users x {len(TEXTS)} messages "
        f"= {args.users * len(TEXTS)} messages, Python {python}, {os.cpu_count()} cores"
    )
    flows = flow_set()
    compare(args, flows)
    if args.profile:
        for kind in kinds(args.database):
            with fresh_database(kind) as database:
                profile_phases(database, flows, args.profile_users)
            with fresh_database(kind) as database:
                profile_functions(database, flows, args.profile_users, args.top)


if __name__ == "__main__":
    main()
