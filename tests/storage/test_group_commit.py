"""Several messages per transaction: the same answers as one at a time, fewer commits."""

from __future__ import annotations

import asyncio
import random
import threading
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

import bot.pipeline as pipeline_module
from bot.channels.base import InboundMessage
from bot.flowfiles import FlowSet
from bot.groupcommit import GroupCommit
from bot.pipeline import Handled, Pipeline
from bot.storage.db import make_engine
from bot.storage.migrate import upgrade
from bot.storage.models import Contact, Conversation, OutboundMessage, Person
from bot.storage.models import InboundMessage as InboundRow
from tests.conftest import FIXED_NOW
from tests.storage.helpers import Clock, count, inbound, pipeline
from tests.waiting import wait_until_async

# Three people on SMS; the first also writes on WhatsApp from the same number.
SENDERS = (
    ("sms", "+66812345001"),
    ("whatsapp", "+66812345001"),
    ("sms", "+84912345002"),
    ("sms", "+233241234003"),
)
WORDS = ("hello", "1", "2", "1", "3", "menu", "help", "9", "what?", "stop", "start", "1")


@pytest.fixture
def clock() -> Clock:
    return Clock(FIXED_NOW)


@pytest.fixture
def reference_engine(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'one-by-one.db'}")
    upgrade(engine)
    yield engine
    engine.dispose()


def _script(seed: int, length: int = 60) -> list[InboundMessage]:
    """Messages from everyone, interleaved; now and then a redelivery of an earlier one."""
    rng = random.Random(seed)
    messages: list[InboundMessage] = []
    for n in range(length):
        if messages and rng.random() < 0.1:
            messages.append(rng.choice(messages))
            continue
        channel, address = rng.choice(SENDERS)
        messages.append(
            inbound(rng.choice(WORDS), key=f"k{n}", channel=channel, address=address, phone=address)
        )
    return messages


def _batches(messages: list[InboundMessage], seed: int) -> Iterator[list[InboundMessage]]:
    rng = random.Random(seed)
    start = 0
    while start < len(messages):
        size = rng.randint(1, 12)
        yield messages[start : start + size]
        start += size


def _answers(engine: Engine) -> dict[tuple[str, str], list[str]]:
    """Every answer by the address it went to, in order."""
    found: dict[tuple[str, str], list[str]] = defaultdict(list)
    with Session(engine) as db:
        rows = db.exec(
            select(Contact.channel, Contact.address, OutboundMessage.text)
            .join(Contact, Contact.id == OutboundMessage.contact_id)  # type: ignore[arg-type]
            .order_by(OutboundMessage.id)  # type: ignore[arg-type]
        ).all()
    for channel, address, text in rows:
        found[(channel, address)].append(text)
    return dict(found)


def _places(engine: Engine) -> set[tuple[str | None, str | None, str | None]]:
    with Session(engine) as db:
        rows = db.exec(
            select(Person.phone, Conversation.flow, Conversation.step).join(
                Conversation,
                Conversation.person_id == Person.id,  # type: ignore[arg-type]
            )
        ).all()
    return {tuple(row) for row in rows}  # type: ignore[misc]


def _commits(engine: Engine) -> list[int]:
    counter = [0]

    def on_commit(_connection: object) -> None:
        counter[0] += 1

    sa.event.listen(engine, "commit", on_commit)
    return counter


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_batches_answer_exactly_as_one_message_at_a_time(
    db_engine: Engine, reference_engine: Engine, flows: FlowSet, clock: Clock, seed: int
) -> None:
    script = _script(seed)
    one_by_one = pipeline(reference_engine, flows, clock)
    for message in script:
        one_by_one.handle(message)
    batched = pipeline(db_engine, flows, clock)
    outcomes: list[Handled | Exception] = []
    for batch in _batches(script, seed):
        outcomes += batched.handle_many([(m, False) for m in batch])
    assert not [o for o in outcomes if isinstance(o, Exception)]
    assert _answers(db_engine) == _answers(reference_engine)
    assert _places(db_engine) == _places(reference_engine)
    for model in (Person, Contact, InboundRow, OutboundMessage):
        assert count(db_engine, model) == count(reference_engine, model)
    redelivered = len(script) - len({m.dedupe_key for m in script})
    assert sum(isinstance(o, Handled) and o.duplicate for o in outcomes) == redelivered


def test_people_who_wrote_before_share_one_transaction(
    db_engine: Engine, flows: FlowSet, clock: Clock
) -> None:
    bot = pipeline(db_engine, flows, clock)
    phones = [f"+6681234{n:04d}" for n in range(20)]
    for phone in phones:
        bot.handle(inbound("hello", address=phone, phone=phone))
    commits = _commits(db_engine)
    outcomes = bot.handle_many(
        [(inbound("1", address=phone, phone=phone), False) for phone in phones]
    )
    assert commits == [1]
    assert all(isinstance(o, Handled) and len(o.outbound_ids) == 1 for o in outcomes)
    assert len({o.outbound_ids for o in outcomes if isinstance(o, Handled)}) == 20
    assert count(db_engine, OutboundMessage) == 40


def test_a_second_message_of_the_same_person_sees_the_first(
    db_engine: Engine, flows: FlowSet, clock: Clock
) -> None:
    bot = pipeline(db_engine, flows, clock)
    bot.handle(inbound("hello"))
    commits = _commits(db_engine)
    first, second = bot.handle_many([(inbound("1"), False), (inbound("1"), False)])
    assert commits == [2]  # the second waited for the first's commit
    assert isinstance(first, Handled) and isinstance(second, Handled)
    with Session(db_engine) as db:
        person = db.exec(select(Person)).one()
        conversation = db.exec(select(Conversation)).one()
    assert person.consent_at is not None  # "1" agreed, then "1" confirmed the place
    assert conversation.flow == "menu"


def test_a_redelivery_within_one_batch_is_answered_once(
    db_engine: Engine, flows: FlowSet, clock: Clock
) -> None:
    bot = pipeline(db_engine, flows, clock)
    bot.handle(inbound("hello", address="+66812340001", phone="+66812340001"))
    known = inbound("1", key="SM-known", address="+66812340001", phone="+66812340001")
    new = inbound("hello", key="SM-new", address="+66812340002", phone="+66812340002")
    outcomes = bot.handle_many([(known, False), (new, False), (known, False), (new, False)])
    assert [isinstance(o, Handled) and o.duplicate for o in outcomes] == [
        False,
        False,
        True,
        True,
    ]
    assert count(db_engine, InboundRow) == 3
    assert count(db_engine, OutboundMessage) == 3
    assert count(db_engine, Person) == 2


def test_a_message_that_fails_is_not_stored_and_the_others_are(
    db_engine: Engine, flows: FlowSet, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    bot = pipeline(db_engine, flows, clock)
    phones = [f"+6681234{n:04d}" for n in range(4)]
    render = pipeline_module.render

    def broken_for_one(events, reader, channel):  # type: ignore[no-untyped-def]
        reply = render(events, reader, channel)
        if reader.language == "vi":
            raise RuntimeError("a bug that only one person meets")
        return reply

    monkeypatch.setattr(pipeline_module, "render", broken_for_one)
    batch = [(inbound("hi", address=p, phone=p), False) for p in phones]
    batch.insert(2, (inbound("hi", address="+84912345678", phone="+84912345678"), False))
    outcomes = bot.handle_many(batch)
    assert isinstance(outcomes[2], RuntimeError)
    assert all(isinstance(o, Handled) and not o.duplicate for i, o in enumerate(outcomes) if i != 2)
    assert count(db_engine, Person) == 4  # nothing of the failed message is left
    assert count(db_engine, InboundRow) == 4
    assert count(db_engine, OutboundMessage) == 4


def test_a_database_failure_fails_the_whole_batch_at_once(
    tmp_path: Path, flows: FlowSet, clock: Clock
) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'never-migrated.db'}")
    bot = Pipeline(engine, flows, clock=clock)
    commits = _commits(engine)
    outcomes = bot.handle_many([(inbound("hi", key=f"k{n}"), False) for n in range(5)])
    assert all(isinstance(o, sa.exc.OperationalError) for o in outcomes)
    assert len({id(o) for o in outcomes}) == 1  # one attempt, not one per message
    assert commits == [0]
    engine.dispose()


def test_an_erasure_in_a_batch_erases_only_that_person(
    db_engine: Engine, flows: FlowSet, clock: Clock
) -> None:
    bot = pipeline(db_engine, flows, clock)
    leaving, staying = "+66812340001", "+66812340002"
    for phone in (leaving, staying):
        for text in ("hello", "1", "1"):
            bot.handle(inbound(text, address=phone, phone=phone))
    bot.handle(inbound("delete my data", address=leaving, phone=leaving))
    outcomes = bot.handle_many(
        [
            (inbound("menu", address=staying, phone=staying), False),
            (inbound("1", address=leaving, phone=leaving), False),  # yes, erase
            (inbound("help", address=staying, phone=staying), False),
        ]
    )
    assert all(isinstance(o, Handled) and not o.duplicate for o in outcomes)
    with Session(db_engine) as db:
        people = {p.phone: p for p in db.exec(select(Person)).all()}
    assert leaving not in people and people[staying].forgotten_at is None
    assert [p.forgotten_at is not None for p in people.values()].count(True) == 1


def test_the_writer_thread_gathers_concurrent_messages(
    db_engine: Engine, flows: FlowSet, clock: Clock
) -> None:
    bot = pipeline(db_engine, flows, clock)
    commits = GroupCommit(bot)
    phones = [f"+6681234{n:04d}" for n in range(40)]
    barrier = threading.Barrier(len(phones))
    results: list[Handled] = []

    def write(phone: str) -> None:
        barrier.wait()
        results.append(commits.submit(inbound("hello", address=phone, phone=phone)).result(30))

    threads = [threading.Thread(target=write, args=(p,)) for p in phones]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    commits.close()
    assert len(results) == 40 and all(not r.duplicate and r.outbound_ids for r in results)
    assert commits.messages == 40 and commits.batches < 40
    assert count(db_engine, OutboundMessage) == 40


def test_a_new_address_of_someone_known_goes_before_their_known_one(
    db_engine: Engine, reference_engine: Engine, flows: FlowSet, clock: Clock
) -> None:
    phone = "+66812345001"
    before = [inbound(text, channel="sms", address=phone, phone=phone) for text in ("hi", "1")]
    together = [
        inbound("1", channel="whatsapp", address=phone, phone=phone),  # their first WhatsApp
        inbound("menu", channel="sms", address=phone, phone=phone),
    ]
    one_by_one = pipeline(reference_engine, flows, clock)
    for message in before + together:
        one_by_one.handle(message)
    batched = pipeline(db_engine, flows, clock)
    for message in before:
        batched.handle(message)
    commits = _commits(db_engine)
    outcomes = batched.handle_many([(m, False) for m in together])
    assert commits == [2]  # the known address waited: its rows were read before the new one
    assert all(isinstance(o, Handled) and not o.duplicate for o in outcomes)
    assert _answers(db_engine) == _answers(reference_engine)
    assert _places(db_engine) == _places(reference_engine)


def _hold_batches(bot: Pipeline) -> threading.Event:
    """The first batch waits until the event is set, while the others queue behind it."""
    held = threading.Event()
    handle_many = bot.handle_many

    def slow(batch):  # type: ignore[no-untyped-def]
        held.wait(10)
        return handle_many(batch)

    bot.handle_many = slow  # type: ignore[method-assign]
    return held


def test_closing_stores_what_was_submitted_and_a_cancelled_message_is_not_stored(
    db_engine: Engine, flows: FlowSet, clock: Clock
) -> None:
    bot = pipeline(db_engine, flows, clock)
    commits = GroupCommit(bot)
    held = _hold_batches(bot)
    first = commits.submit(inbound("hello", address="+66812340001", phone="+66812340001"))
    given_up = commits.submit(inbound("hello", address="+66812340002", phone="+66812340002"))
    queued = commits.submit(inbound("hello", address="+66812340003", phone="+66812340003"))
    assert given_up.cancel()  # its request went away before its turn came
    held.set()
    commits.close()
    assert first.done() and queued.done() and given_up.cancelled()
    assert not first.result().duplicate and not queued.result().duplicate
    assert count(db_engine, Person) == 2
    assert count(db_engine, InboundRow) == 2


@pytest.mark.postgres
def test_two_processes_batching_the_same_people_in_opposite_orders_never_deadlock(
    postgres_engine: Engine, flows: FlowSet, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    """Two web processes (two engines) each take everyone's messages in one batch: the rows
    are locked in person order, so each waits for the other instead of deadlocking."""
    phones = [f"+6681234{n:04d}" for n in range(30)]
    setup = pipeline(postgres_engine, flows, clock)
    setup.handle_many([(inbound("hello", address=p, phone=p), False) for p in phones])
    url = postgres_engine.url.render_as_string(hide_password=False)
    options = {"connect_args": {"options": _search_path(postgres_engine)}}
    others = [make_engine(url, **options) for _ in range(2)]
    bots = [pipeline(engine, flows, clock) for engine in others]
    orders = [phones, phones[::-1]]
    outcomes: list[list[Handled | Exception]] = [[], []]
    barrier = threading.Barrier(2)

    def process(n: int) -> None:
        barrier.wait()
        for round_ in range(20):
            batch = [
                (inbound("menu", key=f"p{n}r{round_}{p}", address=p, phone=p), False)
                for p in orders[n]
            ]
            outcomes[n] += bots[n].handle_many(batch)

    caplog.set_level("INFO", logger="bot.pipeline")
    threads = [threading.Thread(target=process, args=(n,)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for engine in others:
        engine.dispose()
    flat = outcomes[0] + outcomes[1]
    assert len(flat) == 1200 and all(isinstance(o, Handled) and not o.duplicate for o in flat)
    assert "one by one" not in caplog.text  # no batch failed, none deadlocked
    assert count(postgres_engine, InboundRow) == 30 + 1200


def _search_path(engine: Engine) -> str:
    with engine.connect() as connection:
        schema = connection.execute(sa.text("SELECT current_schema()")).scalar_one()
    return f"-csearch_path={schema}"


def test_someone_erased_who_writes_again_before_the_goodbye_went_starts_afresh(
    db_engine: Engine, flows: FlowSet, clock: Clock
) -> None:
    bot = pipeline(db_engine, flows, clock)
    phone, other = "+66812340001", "+66812340002"
    for text in ("hello", "1", "1", "delete my data"):
        bot.handle(inbound(text, address=phone, phone=phone))
    erase = inbound("1", key="SM-erase", address=phone, phone=phone)
    bot.handle(erase)  # yes, erase; the goodbye is still queued: the address stays for now
    people = count(db_engine, Person)
    again = bot.handle_many(
        [
            (erase, False),  # the provider delivers the confirmation again
            (inbound("hello", address=other, phone=other), False),
        ]
    )
    assert isinstance(again[0], Handled) and again[0].duplicate
    assert count(db_engine, Person) == people + 1  # the other sender only: nothing left behind
    (afresh,) = bot.handle_many([(inbound("hello", address=phone, phone=phone), False)])
    assert isinstance(afresh, Handled) and not afresh.duplicate and afresh.reply is not None
    assert afresh.reply.text.startswith("สวัสดี")  # a new person, greeted from the number
    with Session(db_engine) as db:
        found = db.exec(select(Person).where(Person.phone == phone)).all()
    assert len(found) == 1 and found[0].consent_at is None


async def test_callers_on_an_event_loop_get_a_batch_outcomes_in_one_wake_up(
    db_engine: Engine, flows: FlowSet, clock: Clock
) -> None:
    bot = pipeline(db_engine, flows, clock)
    commits = GroupCommit(bot)
    loop = asyncio.get_running_loop()
    wake_ups = 0
    call_soon_threadsafe = loop.call_soon_threadsafe

    def counted(*args):  # type: ignore[no-untyped-def]
        nonlocal wake_ups
        wake_ups += 1
        return call_soon_threadsafe(*args)

    held = _hold_batches(bot)
    loop.call_soon_threadsafe = counted  # type: ignore[method-assign]
    phones = [f"+6681234{n:04d}" for n in range(21)]
    tasks = [
        asyncio.create_task(commits.handle(inbound("hello", address=p, phone=p))) for p in phones
    ]

    def all_queued() -> bool:
        """Every task has queued its message: in the held batch, or behind it."""
        waiting = sum(q.qsize() for q in commits._queues)
        return commits.messages + waiting == len(phones)

    await wait_until_async(all_queued, message="every task to queue its message")
    tasks[7].cancel()  # that request went away while waiting
    held.set()
    done = await asyncio.gather(*tasks, return_exceptions=True)
    commits.close()
    assert isinstance(done[7], asyncio.CancelledError)
    handled = [d for i, d in enumerate(done) if i != 7]
    assert all(isinstance(h, Handled) and not h.duplicate for h in handled)
    assert commits.batches <= 3 and wake_ups == commits.batches  # not one per message
    assert count(db_engine, InboundRow) in (20, 21)  # cancelled before or after its batch began


@pytest.mark.parametrize("writers", [1, 3])
def test_several_writers_store_each_persons_messages_in_order(
    db_engine: Engine, reference_engine: Engine, flows: FlowSet, clock: Clock, writers: int
) -> None:
    script = _script(seed=4, length=90)
    one_by_one = pipeline(reference_engine, flows, clock)
    for message in script:
        one_by_one.handle(message)
    commits = GroupCommit(pipeline(db_engine, flows, clock), writers=writers)
    futures = [commits.submit(message) for message in script]  # all at once, in order
    outcomes = [future.result(30) for future in futures]
    commits.close()
    assert commits.writers == writers
    assert _answers(db_engine) == _answers(reference_engine)
    assert _places(db_engine) == _places(reference_engine)
    redelivered = len(script) - len({m.dedupe_key for m in script})
    assert sum(o.duplicate for o in outcomes) == redelivered


def test_postgresql_gets_several_writers_and_sqlite_one(db_engine: Engine, flows: FlowSet) -> None:
    commits = GroupCommit(pipeline(db_engine, flows, Clock(FIXED_NOW)))
    assert commits.writers == (2 if db_engine.dialect.name == "postgresql" else 1)
