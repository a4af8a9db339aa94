"""Inbound throughput: our durable pipeline against a python-telegram-bot ConversationHandler.

    .venv/bin/python bench/pipeline_vs_ptb.py [--users 1000] [--database sqlite|postgres|both]
        [--threads 1,4] [--profile] [--what-if] [--profile-users 500] [--repeat 2]
        [--only TEXT] [--top 25]

Both sides get the same N simulated users x 4 messages, interleaved (everyone's first message,
then everyone's second...), built before the clock starts (~75 s at the defaults):

- ours: `Pipeline.handle(InboundMessage)` on SMS, as a smallholder writes: "hello" (consent
  question), "1" (agree; country and time question), "1" (right; the menu), "menu" (the menu
  again). One transaction per message stores the inbound row, the person, the conversation
  and the answer as an outbox row; the channel is null: the rows are left queued. Run on SQLite
  (WAL, a temp file) and PostgreSQL (a schema of its own, dropped afterwards), each run on a
  fresh database holding the sample schedule, from 1 thread and from several (the web server
  runs handlers in a thread pool; each user's messages stay in order on one thread).
- baseline: a PTB `ConversationHandler` with two states (ASK_NAME -> ASK_COUNTRY -> END; the
  4th message starts it again), each message answered with `reply_text`, fed `Update` objects
  through `Application.process_update`; its Bot talks to an in-memory `BaseRequest` returning
  canned JSON (no network); its state lives in memory only. Best of 3 runs.

Prints msgs/s for both and the ratio ours/baseline (the target: at least 1.0x while our state
is durable); database calls per message (statements, COMMIT and pool pre-pings, counted during
the warm-up, untimed; psycopg's implicit BEGIN is one more round trip on PostgreSQL); and
checks that every message queued one answer and every conversation ended at the menu.

--profile (our side, 1 thread, --profile-users people): time per phase of `Pipeline._handle`
(exclusive, from wrappers this script installs), then cProfile: own time per library, the top
bot/ functions by cumulative time, the top functions by own time; last, the same turn with no
database at all.
--what-if (same size): one change at a time, monkeypatched here (nothing in bot/ is edited),
each on a fresh database, best of --repeat (~10 min for both databases; --only narrows it):
msgs/s (all messages, and messages 2-4 of people already stored), CPU per message, database
calls. Ends with two prototypes (a Core path, per message and grouped) and the floor: the
same turn without storage.
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
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from unittest import mock

import sqlalchemy as sa
from babel.messages.pofile import read_po
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session as OrmSession
from sqlalchemy.orm import SessionTransaction
from sqlalchemy.orm.util import identity_key
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
import bot.sms as sms_module
import bot.storage.effects as effects_module
import bot.storage.outbox as outbox_module
import bot.storage.statements as statements_module
from bot.channels.base import InboundMessage, capabilities
from bot.content_import import import_resolutions, import_schedule
from bot.demo import SAMPLES
from bot.flowfiles import FlowSet, flow_set
from bot.phones import parse_phone
from bot.pipeline import Pipeline
from bot.render import render
from bot.sms import Segments
from bot.storage.content import ContentCache, LazyData, event_item, resolution_item, upcoming
from bot.storage.db import make_engine, normalise_url
from bot.storage.documents import documents_for
from bot.storage.effects import apply_effects
from bot.storage.migrate import upgrade
from bot.storage.models import Completion, Contact, Conversation, OutboundMessage, Person
from bot.storage.models import InboundMessage as InboundRow
from bot.storage.people import apply_fields, reader_of
from bot.storage.views import resolve_views
from bot.text import normalise

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
        if not self.schema:
            return make_engine(self.url)
        options: dict[str, Any] = {"connect_args": {"options": f"-csearch_path={self.schema}"}}
        if pre_ping:
            return make_engine(self.url, **options)
        # make_engine always pre-pings on PostgreSQL: the what-if without it builds its own.
        return sa.create_engine(normalise_url(self.url), **options)


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
    cpu: float  # this process's CPU seconds: steadier than wall time on a busy machine
    statements: Counter[str] = field(default_factory=Counter)
    statements_per_round: list[float] = field(default_factory=list)
    round_seconds: list[float] = field(default_factory=list)  # 1 thread only

    @property
    def known_rate(self) -> float:
        """Messages 2-4: people already stored, the common case once a bot is known."""
        later = self.round_seconds[1:]
        return self.messages / len(TEXTS) * len(later) / sum(later) if later else float("nan")

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


Handle = Callable[[Pipeline, list[InboundMessage]], None]
Around = Callable[[Callable[[], None]], None]  # runs the timed part (under a profiler)


def one_at_a_time(bot: Pipeline, messages: list[InboundMessage]) -> None:
    for message in messages:
        bot.handle(message)


def feed(
    bot: Pipeline,
    rounds: list[list[InboundMessage]],
    threads: int,
    handle: Handle = one_at_a_time,
    counter: StatementCounter | None = None,
    round_seconds: list[float] | None = None,
) -> None:
    """Each thread takes every n-th user and sends their messages round by round, in order."""
    if threads == 1:
        for number, messages in enumerate(rounds):
            if counter:
                counter.round = number
            started = time.perf_counter()
            handle(bot, messages)
            if round_seconds is not None:
                round_seconds.append(time.perf_counter() - started)
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
    around: Around | None = None,
) -> Run:
    """Warm up (counting statements), then time `users` x 4 messages from `threads` threads."""
    engine = database.engine(pre_ping)
    bot = Pipeline(engine, flows, content=ContentCache())
    counter = StatementCounter()
    with counter.listening(engine):
        feed(bot, inbound_rounds(range(users, users + WARM_UP_USERS)), 1, handle, counter)
    rounds = inbound_rounds(range(users))

    round_seconds: list[float] = []

    def timed() -> None:
        feed(bot, rounds, threads, handle, round_seconds=round_seconds)

    started, cpu = time.perf_counter(), time.process_time()
    (around or (lambda f: f()))(timed)
    took, cpu = time.perf_counter() - started, time.process_time() - cpu
    check(engine, users)
    engine.dispose()
    per_message = len(TEXTS) * WARM_UP_USERS
    return Run(
        users * len(TEXTS),
        took,
        cpu,
        Counter({k: v / per_message for k, v in counter.by_kind.items()}),
        [counter.by_round[r] / WARM_UP_USERS for r in range(len(TEXTS))],
        round_seconds,
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
    total = sum(run.statements.values())
    return f"{total:.1f} database calls/msg ({kinds}; per message number {rounds})"


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
    "_known": "bot/pipeline.py:_known (contact + person + conversation, one SELECT)",
    "find_contact": "bot/storage/people.py:find_contact (SELECT contact)",
    "create_contact": "bot/storage/people.py:create_contact (1st msg: person + contact)",
    "_conversation": "bot/pipeline.py:_conversation (SELECT ... FOR UPDATE)",
    "statement_facts": "bot/storage/statements.py:statement_facts (its SELECT, unless lazy)",
    "resolve_views": "bot/storage/views.py:resolve_views",
    "apply_fields": "bot/storage/people.py:apply_fields",
    "apply_effects": "bot/storage/effects.py:apply_effects",
    "render": "bot/render.py:render (answer text, Babel)",
    "enqueue_reply": "bot/storage/outbox.py:enqueue_reply (outbox INSERT)",
    "documents_for": "bot/storage/documents.py:documents_for",
    "_save": "bot/pipeline.py:_save (state to JSON)",
}
SESSION_PHASES = {
    "get": "Session.get (Person, Conversation FOR UPDATE; Completion: a SELECT each)",
    "flush": "Session.flush (unit of work: inbound INSERT, contact/person/conv. UPDATEs)",
    "_connection_for_bind": "Session connection checkout + BEGIN (pool, pre-ping)",
}


def phase_patches(phases: Phases, bot: Pipeline) -> list[Any]:
    # bot/pipeline.py changes under us: wrap the names it has today.
    patches = [
        mock.patch.object(pipeline_module, name, phases.wrap(name, getattr(pipeline_module, name)))
        for name in PHASES
        if hasattr(pipeline_module, name)
    ]
    patches += [
        mock.patch.object(OrmSession, name, phases.wrap(name, getattr(OrmSession, name)))
        for name in SESSION_PHASES
    ]
    timed_commit = phases.wrap("commit", _commit)

    def commit(transaction: SessionTransaction, _to_root: bool = False) -> None:
        # A flush commits a sub-transaction of its own: only the real COMMIT is timed here.
        if transaction._parent is None:
            timed_commit(transaction, _to_root)
        else:
            _commit(transaction, _to_root)

    patches += [
        mock.patch.object(Pipeline, "handle", phases.wrap("handle", Pipeline.handle)),
        mock.patch.object(Pipeline, "_turn", phases.wrap("_turn", Pipeline._turn)),
        mock.patch.object(SessionTransaction, "commit", commit),
        mock.patch.object(
            bot.content, "collections", phases.wrap("collections", bot.content.collections)
        ),
    ]
    return patches


_commit = SessionTransaction.commit


def profile_phases(database: Database, flows: FlowSet, users: int) -> None:
    engine = database.engine()
    bot = Pipeline(engine, flows, content=ContentCache())
    feed(bot, inbound_rounds(range(users, users + WARM_UP_USERS)), 1)
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
        "handle": "bot/pipeline.py:Pipeline.handle (new Session, begin, rest of _handle)",
        "_turn": "bot/pipeline.py:Pipeline._turn (the engine: State.from_json, resume)",
        "commit": "COMMIT (the outer SessionTransaction.commit)",
        "collections": "bot/storage/content.py:ContentCache.collections (items every turn)",
    }
    print(
        f"{database.label}: time per phase (exclusive), 1 thread, {count} messages in "
        f"{took:.2f} s = {count / took:,.0f} msgs/s with the timers"
    )
    for name, own in phases.own.most_common():
        print(
            f"  {own / took:6.1%}  {own / count * 1e6:6.0f} us/msg  "
            f"{phases.calls[name] / count:4.1f} calls/msg  {labels[name]}"
        )


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
        f"{title}: cProfile, 1 thread, {count} messages "
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


# --- what if: one change at a time, monkeypatched (nothing in bot/ is edited) ------------------

_statement_facts = getattr(pipeline_module, "statement_facts", None)
_segments = sms_module.segments
_enqueue_reply = getattr(pipeline_module, "enqueue_reply", None)
_collections = ContentCache.collections


class LazyFacts(Mapping[str, Any]):
    """statement_facts with its SELECT deferred until a flow reads a statement fact."""

    loads = 0
    turns = 0

    def __init__(self, *args: Any) -> None:
        self._args = args
        self._facts: dict[str, Any] | None = None
        LazyFacts.turns += 1

    def _load(self) -> dict[str, Any]:
        if self._facts is None:
            LazyFacts.loads += 1
            self._facts = _statement_facts(*self._args)
        return self._facts

    def __getitem__(self, name: str) -> Any:
        return self._load()[name]

    def __contains__(self, name: object) -> bool:
        # Every fact is named statement_*; the engine asks about every placeholder name.
        return isinstance(name, str) and name.startswith("statement_") and name in self._load()

    def __iter__(self) -> Iterator[str]:
        return iter(self._load())

    def __len__(self) -> int:
        return len(self._load())


def lazy_collections(self: ContentCache, db: Session, person: Person, now: datetime) -> LazyData:
    """Events and resolutions as items only when a flow reads them (menus and onboarding don't)."""
    if person.role != "smallholder":
        return _collections(self, db, person, now)
    events, resolutions = self._current(db)
    return LazyData(
        {},
        {
            "events": lambda: [
                event_item(e, person) for e in upcoming(events, person.country, now)
            ],
            "resolutions": lambda: [resolution_item(r) for r in resolutions],
        },
    )


def fast_is_gsm7(text: str) -> bool:
    return sms_module._GSM7.issuperset(text)


def fast_segments(text: str) -> Segments:
    """bot/sms.py:segments without a Python loop per character when no character takes two
    units (GSM-7 escapes, UTF-16 surrogate pairs): then parts are a plain division."""
    gsm7 = fast_is_gsm7(text)
    if gsm7:
        units = len(text) + sum(text.count(ch) for ch in sms_module.GSM7_EXTENSION)
        single, part = 160, 153
    else:
        units = len(text.encode("utf-16-le")) // 2
        single, part = 70, 67
    if units != len(text) and units > single:
        return _segments(text)  # a pair must not straddle two parts: count them one by one
    count = (1 if units else 0) if units <= single else -(-units // part)
    return Segments("GSM-7" if gsm7 else "UCS-2", units, count)


def check_fast_segments() -> None:
    """fast_segments must agree with bot/sms.py on every catalog text, alone and run together."""
    texts = [
        str(m.string)
        for po in Path(REPO, "locales").glob("*/LC_MESSAGES/*.po")
        for m in read_po(po.open("rb"))
        if isinstance(m.string, str) and m.string
    ]
    texts += ["\n".join(texts[i : i + 6]) for i in range(len(texts))]
    texts += ["€" * 200, "😀" * 50, "a" * 161, "ก" * 71, ""]
    wrong = [t for t in texts if fast_segments(t) != _segments(t)]
    if wrong:
        raise SystemExit(f"fast_segments disagrees with bot/sms.py on {wrong[0]!r}")


def complete_upsert(db: Session, person_id: int, flow: str, now: datetime) -> None:
    """Completion in one INSERT ... ON CONFLICT DO UPDATE instead of a SELECT then a write."""
    table = Completion.__table__  # type: ignore[attr-defined]
    insert = pg_insert if db.get_bind().dialect.name == "postgresql" else sqlite_insert
    db.exec(
        insert(table)
        .values(person_id=person_id, flow=flow, first_at=now, last_at=now)
        .on_conflict_do_update(index_elements=["person_id", "flow"], set_={"last_at": now})
    )


class _Collect:
    """Stands in for the Session so enqueue_reply builds its rows and stores nothing."""

    def __init__(self) -> None:
        self.rows: list[OutboundMessage] = []

    def add_all(self, rows: list[OutboundMessage]) -> None:
        self.rows = rows

    def flush(self) -> None:
        return None


def enqueue_reply_core(
    db: Session, contact: Contact, *args: Any, **kwargs: Any
) -> list[OutboundMessage]:
    """The same rows as bot/storage/outbox.py:enqueue_reply, written by a pre-built Core
    INSERT ... RETURNING instead of the unit of work."""
    collect = _Collect()
    rows = _enqueue_reply(collect, contact, *args, **kwargs)  # type: ignore[arg-type]
    columns = [c.name for c in OUTBOX.columns if c.name != "id"]
    values = [{name: getattr(row, name) for name in columns} for row in rows]
    ids = db.connection().execute(INSERT_OUTBOX, values).scalars().all()
    for row, row_id in zip(rows, ids, strict=True):
        row.id = row_id
    return rows


def find_contact_locked(db: Session, channel: str, address: str) -> Contact | None:
    """Contact, person (locked) and conversation in one SELECT, instead of three."""
    row = db.exec(
        select(Contact, Person, Conversation)
        .join(Person, col(Person.id) == Contact.person_id)
        .outerjoin(Conversation, col(Conversation.person_id) == Person.id)
        .where(Contact.channel == channel, Contact.address == address)
        .with_for_update(of=Person)  # type: ignore[arg-type]
    ).first()
    if row is None:
        return None
    contact, person, conversation = row
    # The identity map holds rows weakly: keep them here until LockedOnce.get asks for them.
    locked = db.info.setdefault("locked", {})
    locked[identity_key(Person, person.id)] = person
    if conversation is not None:
        locked[identity_key(Conversation, conversation.person_id)] = conversation
    return contact


class LockedOnce(Session):
    """A get ... FOR UPDATE of a row find_contact_locked already locked is answered from memory."""

    def get(self, entity: Any, ident: Any, *args: Any, **kwargs: Any) -> Any:
        if kwargs.get("with_for_update"):
            found = self.info.get("locked", {}).get(identity_key(entity, ident))
            if found is not None:
                return found
        return super().get(entity, ident, *args, **kwargs)


def grouped(size: int) -> Handle:
    """Group commit: `size` messages (of different people) per transaction."""

    def handle(bot: Pipeline, messages: list[InboundMessage]) -> None:
        session = pipeline_module.Session  # LockedOnce when that change is on too
        for start in range(0, len(messages), size):
            with session(bot.engine, expire_on_commit=False) as db, db.begin():
                for message in messages[start : start + size]:
                    text = normalise(message.text, bot.max_input_chars)
                    bot._handle(db, message, text, bot.clock(), False)

    return handle


# --- what if: a Core path (a few pre-built statements, no unit of work), grouped -------------

CONTACTS = Contact.__table__  # type: ignore[attr-defined]
PEOPLE = Person.__table__  # type: ignore[attr-defined]
CONVERSATIONS = Conversation.__table__  # type: ignore[attr-defined]
INBOUND = InboundRow.__table__  # type: ignore[attr-defined]
OUTBOX = OutboundMessage.__table__  # type: ignore[attr-defined]
CHANGING = ("language", "country", "timezone", "consent_at", "opted_out_at", "onboarded_at")
CHANGING += ("zawgyi", "reminders", "updated_at")
SAVED = ("state", "flow", "flow_version", "step", "labels", "revision", "updated_at")


def _labelled(table: sa.Table, prefix: str) -> list[Any]:
    return [column.label(prefix + column.name) for column in table.columns]


def _set(table: sa.Table, names: Sequence[str]) -> dict[str, Any]:
    return {n: sa.bindparam("b_" + n, type_=table.c[n].type) for n in names}


# Contact, person (locked; in id order, so concurrent groups cannot deadlock) and
# conversation for every address of a group, in one SELECT.
FIND = (
    sa.select(*_labelled(CONTACTS, "c_"), *_labelled(PEOPLE, "p_"), *_labelled(CONVERSATIONS, "v_"))
    .join_from(CONTACTS, PEOPLE, PEOPLE.c.id == CONTACTS.c.person_id)
    .outerjoin(CONVERSATIONS, CONVERSATIONS.c.person_id == PEOPLE.c.id)
    .where(
        CONTACTS.c.channel == sa.bindparam("channel"),
        CONTACTS.c.address.in_(sa.bindparam("addresses", expanding=True)),
    )
    .order_by(PEOPLE.c.id)
    .with_for_update(of=PEOPLE)
)
INSERT_OUTBOX = sa.insert(OUTBOX).returning(OUTBOX.c.id)
UPDATE_CONTACT = (
    sa.update(CONTACTS)
    .where(CONTACTS.c.id == sa.bindparam("b_id"))
    .values(
        last_inbound_at=sa.bindparam("b_now", type_=CONTACTS.c.last_inbound_at.type),
        unreachable_at=None,
        unreachable_reason=None,
        display_name=sa.func.coalesce(sa.bindparam("b_name"), CONTACTS.c.display_name),
    )
)
UPDATE_CONVERSATION = (
    sa.update(CONVERSATIONS)
    .where(CONVERSATIONS.c.person_id == sa.bindparam("b_id"))
    .values(_set(CONVERSATIONS, SAVED))
)
UPDATE_PERSON = (
    sa.update(PEOPLE).where(PEOPLE.c.id == sa.bindparam("b_id")).values(_set(PEOPLE, CHANGING))
)


def insert_inbound(engine: sa.Engine) -> Any:
    """INSERT ... ON CONFLICT DO NOTHING RETURNING: the dedupe check and the insert in one."""
    insert = pg_insert if engine.dialect.name == "postgresql" else sqlite_insert
    return (
        insert(INBOUND)
        .on_conflict_do_nothing(index_elements=["channel", "dedupe_key"])
        .returning(INBOUND.c.id, INBOUND.c.dedupe_key)
    )


def _row(found: Any, table: sa.Table, prefix: str) -> Any:
    """A plain object with the row's columns as attributes: bot/ functions read and set them."""
    return SimpleNamespace(**{c.name: found._mapping[prefix + c.name] for c in table.columns})


def core_path(size: int) -> Handle:
    """`size` messages per transaction, each statement run once for the whole group."""

    def handle(bot: Pipeline, messages: list[InboundMessage]) -> None:
        for start in range(0, len(messages), size):
            for message in _core_group(bot, messages[start : start + size]):
                bot.handle(message)  # someone new: the existing path creates them

    return handle


def _core_group(bot: Pipeline, messages: list[InboundMessage]) -> list[InboundMessage]:
    """Handles the messages of people already known; returns the others."""
    (channel,) = {m.channel for m in messages}  # the benchmark sends SMS only
    now = bot.clock()
    with Session(bot.engine, expire_on_commit=False) as db, db.begin():
        connection = db.connection()
        found = {
            row.c_address: row
            for row in connection.execute(
                FIND, {"channel": channel, "addresses": [m.address for m in messages]}
            )
        }
        known = [
            m
            for m in messages
            if m.address in found
            and found[m.address].p_forgotten_at is None
            and found[m.address].v_person_id is not None
        ]
        if not known:
            return messages
        texts = {m.dedupe_key: normalise(m.text, bot.max_input_chars) for m in known}
        stored = connection.execute(
            insert_inbound(bot.engine),
            [
                {
                    "contact_id": found[m.address].c_id,
                    "channel": m.channel,
                    "dedupe_key": m.dedupe_key,
                    "text": texts[m.dedupe_key].text[: bot.max_input_chars * 2],
                    "media_url": m.media_url,
                    "received_at": now,
                }
                for m in known
            ],
        ).all()
        inbound_ids = {row.dedupe_key: row.id for row in stored}  # missing: a redelivery
        writes = Writes()
        for message in known:
            if message.dedupe_key in inbound_ids:
                _core_turn(
                    bot,
                    db,
                    message,
                    texts[message.dedupe_key],
                    found[message.address],
                    inbound_ids[message.dedupe_key],
                    now,
                    writes,
                )
        writes.run(connection)
    return [m for m in messages if m not in known]


@dataclass
class Writes:
    outbox: list[dict[str, Any]] = field(default_factory=list)
    contacts: list[dict[str, Any]] = field(default_factory=list)
    conversations: list[dict[str, Any]] = field(default_factory=list)
    people: list[dict[str, Any]] = field(default_factory=list)

    def run(self, connection: sa.Connection) -> None:
        """One executemany per statement (psycopg pipelines it; one INSERT for the outbox)."""
        if self.outbox:
            connection.execute(INSERT_OUTBOX, self.outbox).all()
        for statement, rows in (
            (UPDATE_CONTACT, self.contacts),
            (UPDATE_CONVERSATION, self.conversations),
            (UPDATE_PERSON, self.people),
        ):
            if rows:
                connection.execute(statement, rows)


def _core_turn(
    bot: Pipeline,
    db: Session,
    message: InboundMessage,
    normalised: Any,
    found: Any,
    inbound_id: int,
    now: datetime,
    writes: Writes,
) -> None:
    """Pipeline._handle for someone known, minus the ORM: the same calls in the same order."""
    contact = _row(found, CONTACTS, "c_")
    person = _row(found, PEOPLE, "p_")
    conversation = _row(found, CONVERSATIONS, "v_")
    before = {name: getattr(person, name) for name in CHANGING}
    pipeline_module._touch(contact, message, now)
    pipeline_module._remember_script(person, normalised)
    inp = pipeline_module._input(message, normalised, conversation, bot.max_input_chars)
    data = bot.content.collections(db, person, now)
    facts = LazyFacts(db, person.id, now, bot.statement_deadline)
    turn = bot._turn(conversation, person, inp, now, message.channel, data, facts)
    events = resolve_views(db, person, turn.events, now, bot.prices)
    apply_fields(person, events, now)
    reader = reader_of(person)
    apply_effects(db, person, events, now, message.channel, bot.statement_deadline, contact.id)
    reply = render(events, reader, capabilities(message.channel))
    if reply is not None:
        rows = _enqueue_reply(_Collect(), contact, reply, inbound_id, now)
        columns = [c.name for c in OUTBOX.columns if c.name != "id"]
        writes.outbox += [{name: getattr(row, name) for name in columns} for row in rows]
    if documents_for(db, person, events) or person.forgotten_at is not None:
        raise NotImplementedError("calendar files and erasure: not in this benchmark's path")
    pipeline_module._save(conversation, turn, reply, now)
    writes.contacts.append({"b_id": contact.id, "b_now": now, "b_name": message.display_name})
    writes.conversations.append(
        {"b_id": person.id, **{"b_" + n: getattr(conversation, n) for n in SAVED}}
    )
    if any(getattr(person, name) != value for name, value in before.items()):
        writes.people.append(
            {"b_id": person.id, **{"b_" + n: getattr(person, n) for n in CHANGING}}
        )


@dataclass(frozen=True)
class WhatIf:
    name: str
    patches: tuple[tuple[Any, str, Any], ...] = ()
    handle: Handle = one_at_a_time
    pre_ping: bool = True
    only_on: str | None = None  # "sqlite" or "postgres"
    threads: int = 1
    done_if: Callable[[], bool] = lambda: False  # bot/ already does this: expect no gain
    combined: bool = False  # several changes: apply those bot/ still has a place for

    def missing(self) -> list[str]:
        """What the patches need and bot/ no longer has (it changes while we measure)."""
        return [f"{getattr(t, '__name__', t)}.{n}" for t, n, _ in self.patches if not hasattr(t, n)]

    def applicable(self) -> tuple[tuple[Any, str, Any], ...]:
        return tuple(patch for patch in self.patches if hasattr(patch[0], patch[1]))


_handle_unlocked = Pipeline.handle
_writer = threading.Lock()


def handle_locked(bot: Pipeline, *args: Any, **kwargs: Any) -> Any:
    """One SQLite writer at a time, queued on a lock: BEGIN IMMEDIATE makes the others wait
    in SQLite's busy handler, which sleeps and polls instead of handing over."""
    with _writer:
        return _handle_unlocked(bot, *args, **kwargs)


NO_SEEN = (pipeline_module, "_seen", lambda _db, _inbound: False)
LAZY_FACTS = (pipeline_module, "statement_facts", LazyFacts)
LAZY_CONTENT = (ContentCache, "collections", lazy_collections)
UPSERT = (effects_module, "complete", complete_upsert)
CORE_OUTBOX = (pipeline_module, "enqueue_reply", enqueue_reply_core)
FAST_SMS = ((sms_module, "is_gsm7", fast_is_gsm7), (outbox_module, "segments", fast_segments))
ONE_SELECT = (
    (pipeline_module, "find_contact", find_contact_locked),
    (pipeline_module, "Session", LockedOnce),
)
ALL = (NO_SEEN, LAZY_FACTS, LAZY_CONTENT, UPSERT, *ONE_SELECT, CORE_OUTBOX, *FAST_SMS)
CPU_FIXES = (LAZY_CONTENT, UPSERT, *FAST_SMS)
GROUP = 16
WHAT_IFS = (
    WhatIf("as is"),
    WhatIf("bot/pipeline.py:_seen: no SELECT, the unique key decides", (NO_SEEN,)),
    WhatIf(
        "bot/storage/statements.py:statement_facts: SELECT on demand",
        (LAZY_FACTS,),
        done_if=lambda: hasattr(statements_module, "StatementFacts"),
    ),
    WhatIf("bot/storage/content.py:ContentCache.collections: items on demand", (LAZY_CONTENT,)),
    WhatIf("bot/storage/effects.py:complete: one upsert", (UPSERT,)),
    WhatIf("bot/sms.py:is_gsm7, segments: set operations, no loop per character", FAST_SMS),
    WhatIf(
        "contact + person + conversation in one SELECT",
        ONE_SELECT,
        done_if=lambda: hasattr(pipeline_module, "_known"),
    ),
    WhatIf("bot/storage/outbox.py:enqueue_reply: a Core INSERT, no flush", (CORE_OUTBOX,)),
    WhatIf("bot/storage/db.py:make_engine: no pool_pre_ping", pre_ping=False, only_on="postgres"),
    WhatIf("all of the above", ALL, pre_ping=False, combined=True),
    WhatIf(f"group commit, {GROUP} messages per transaction", handle=grouped(GROUP)),
    WhatIf(
        f"all of the above + group commit of {GROUP}",
        ALL,
        grouped(GROUP),
        pre_ping=False,
        combined=True,
    ),
    WhatIf("4 threads, as is", threads=4),
    WhatIf(
        "4 threads, a process-wide lock around each transaction",
        ((Pipeline, "handle", handle_locked),),
        threads=4,
        only_on="sqlite",
    ),
    WhatIf("Core path, 1 message per transaction", CPU_FIXES, core_path(1), pre_ping=False),
    WhatIf(f"Core path, {GROUP} per transaction", CPU_FIXES, core_path(GROUP), pre_ping=False),
)


FLOORS = (
    ("no database at all: normalise, engine, render, SMS segments, state to JSON", ()),
    ("no database, + items on demand + SMS segments without a loop", (LAZY_CONTENT, *FAST_SMS)),
)


def what_if(kind: str, flows: FlowSet, users: int, baseline: float, repeat: int, only: str) -> None:
    count = users * len(TEXTS)
    label = "SQLite (WAL)" if kind == "sqlite" else "PostgreSQL"
    check_fast_segments()
    variants = [
        v
        for v in WHAT_IFS
        if v.only_on in (None, kind) and (v is WHAT_IFS[0] or only.lower() in v.name.lower())
    ]
    best: dict[str, Run] = {}
    notes = {v.name: " (bot/ already does this)" for v in variants if v.done_if()}
    for variant in variants:
        if variant.missing():
            gone = ", ".join(variant.missing())
            notes[variant.name] = f" (without {gone}: gone from bot/)"
            if not variant.combined:
                notes[variant.name] = f" (n/a: bot/ has no {gone})"
    failed: dict[str, str] = {}
    facts: dict[str, str] = {}
    runnable = [v for v in variants if v.combined or not v.missing()]
    for _ in range(repeat):  # round-robin, so a busy spell hurts every variant alike
        for variant in runnable:
            LazyFacts.loads = LazyFacts.turns = 0
            try:
                with fresh_database(kind) as database, contextlib.ExitStack() as stack:
                    for target, name, value in variant.applicable():
                        stack.enter_context(mock.patch.object(target, name, value))
                    run = run_ours(
                        database, flows, users, variant.threads, variant.pre_ping, variant.handle
                    )
            except Exception as error:  # a prototype that no longer fits bot/: say so, go on
                failed[variant.name] = f" (failed: {type(error).__name__}: {error})"[:200]
                continue
            if variant.name not in best or run.rate > best[variant.name].rate:
                best[variant.name] = run
            if LazyFacts.turns:
                share = LazyFacts.loads / LazyFacts.turns
                facts[variant.name] = f" (the statement SELECT ran on {share:.0%} of turns)"
        for name, patches in FLOORS:
            with fresh_database(kind) as database, contextlib.ExitStack() as stack:
                for target, attribute, value in patches:
                    stack.enter_context(mock.patch.object(target, attribute, value))
                floor = run_without_database(database, flows, users)
            if name not in best or floor.rate > best[name].rate:
                best[name] = floor
    print(
        f"{label}: what if ({count} messages, 1 thread unless said, a fresh database each, best of "
        f"{repeat}; gains against 'as is'; CPU = this process only):"
    )
    reference = best[variants[0].name]
    rows = [
        (
            v.name + notes.get(v.name, "") + facts.get(v.name, "") + failed.get(v.name, ""),
            best.get(v.name),
        )
        for v in variants
    ]
    rows += [(name, best[name]) for name, _ in FLOORS]
    print(
        "  all msgs/s, gain | known people (messages 2-4) msgs/s, gain | CPU us/msg, gain | "
        "x baseline | db calls/msg (per message number) | change"
    )
    for name, run in rows:
        if run is None:
            print(f"  {'-':>12} | {'-':>12} | {'-':>12} | {'-':>6} | {'-':>4} | {name}")
            continue
        per_message = run.cpu / run.messages * 1e6
        known = run.known_rate
        calls = "/".join(f"{n:.0f}" for n in run.statements_per_round) or "-"
        gain = f"{known:6,.0f} {known / reference.known_rate - 1:+5.0%}"
        print(
            f"  {run.rate:6,.0f} {run.rate / reference.rate - 1:+5.0%} | "
            f"{gain if run.round_seconds else '     -      '} | "
            f"{per_message:6,.0f} {run.cpu / reference.cpu - 1:+5.0%} | "
            f"{run.rate / baseline:5.2f}x | {sum(run.statements.values()):4.1f} ({calls}) | {name}"
        )


def run_without_database(
    database: Database, flows: FlowSet, users: int, around: Around | None = None
) -> Run:
    """What a turn costs with a free database: the same code as Pipeline._handle minus storage."""
    engine = database.engine()
    bot = Pipeline(engine, flows, content=ContentCache())
    with Session(engine) as db:
        bot.content._current(db)  # loaded once, as the real cache is (then every 60 s)
    engine.dispose()
    people: dict[str, tuple[Person, Conversation]] = {}
    no_statement = {
        "statement_open": True,
        "statement_has_deadline": False,
        "statement_deadline": None,
        "statement_submitted": False,
        "statement_submitted_at": None,
        "statement_text": "",
        "statement_answers": {},
    }

    def handle(message: InboundMessage) -> None:
        normalised = normalise(message.text, bot.max_input_chars)
        now = bot.clock()
        if message.address not in people:
            info = parse_phone(message.phone or "")
            assert info is not None
            person = Person(
                id=len(people) + 1,
                phone=info.e164,
                language=info.language,
                country=info.country,
                timezone=info.timezone,
                created_at=now,
                updated_at=now,
            )
            people[message.address] = person, Conversation(person_id=len(people) + 1)
        person, conversation = people[message.address]
        inp = pipeline_module._input(message, normalised, conversation, bot.max_input_chars)
        data = bot.content.collections(None, person, now)  # type: ignore[arg-type]
        turn = bot._turn(conversation, person, inp, now, message.channel, data, no_statement)
        apply_fields(person, turn.events, now)
        reply = render(turn.events, reader_of(person), capabilities(message.channel))
        assert reply is not None
        for part in reply.parts:
            outbox_module.segments(part)  # enqueue_reply stores each SMS part's cost
        pipeline_module._save(conversation, turn, reply, now)

    for messages in inbound_rounds(range(users, users + WARM_UP_USERS)):
        for message in messages:
            handle(message)
    rounds = inbound_rounds(range(users))

    round_seconds: list[float] = []

    def timed() -> None:
        for messages in rounds:
            started = time.perf_counter()
            for message in messages:
                handle(message)
            round_seconds.append(time.perf_counter() - started)

    started, cpu = time.perf_counter(), time.process_time()
    (around or (lambda f: f()))(timed)
    took, cpu = time.perf_counter() - started, time.process_time() - cpu
    if sum(c.flow == "menu" for _, c in people.values()) != len(people):
        raise SystemExit("wrong outcome without a database: not every conversation at the menu")
    return Run(users * len(TEXTS), took, cpu, round_seconds=round_seconds)


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
    for kind in kinds(args.database):
        for threads in args.threads:
            with fresh_database(kind) as database:
                run = run_ours(database, flows, args.users, threads)
            print(
                f"{database.label}: ours, {threads} thread{'s' if threads > 1 else ''}: "
                f"{run.messages} msgs in {run.seconds:.2f} s = {run.rate:,.0f} msgs/s "
                f"= {run.rate / baseline:.2f}x baseline; {describe(run)}"
            )
    return baseline


def kinds(choice: str) -> list[str]:
    return ["sqlite", "postgres"] if choice == "both" else [choice]


def thread_counts(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part.strip()]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--database", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument(
        "--threads", type=thread_counts, default=[1, 4], help="e.g. 1,4 ('' skips our runs)"
    )
    parser.add_argument("--profile", action="store_true", help="phases and cProfile, our side")
    parser.add_argument("--what-if", action="store_true", help="monkeypatched variants, our side")
    parser.add_argument("--profile-users", type=int, default=500, help="for both options")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--repeat", type=int, default=2, help="--what-if runs, best kept")
    parser.add_argument("--only", default="", help="--what-if variants whose name has this")
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
    baseline = compare(args, flows)
    users = args.profile_users
    for kind in kinds(args.database):
        if args.profile:
            with fresh_database(kind) as database:
                profile_phases(database, flows, users)
            with fresh_database(kind) as database:
                profile_functions(
                    database.label,
                    lambda around: run_ours(database, flows, users, 1, around=around),
                    args.top,
                )
            if kind == kinds(args.database)[-1]:
                with fresh_database(kind) as database:
                    profile_functions(
                        "No database (the same turn, storage left out)",
                        lambda around: run_without_database(database, flows, users, around),
                        args.top,
                    )
        if args.what_if:
            what_if(kind, flows, users, baseline, args.repeat, args.only)


if __name__ == "__main__":
    main()
