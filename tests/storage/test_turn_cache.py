"""Kept turns: the next person in the same place with the same message gets exactly what the
engine would have given them, and turns that read the clock or the schedule are never kept."""

from __future__ import annotations

import random
from collections import defaultdict
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.flowfiles import FlowSet
from bot.pipeline import Handled, Pipeline
from bot.storage.db import make_engine
from bot.storage.migrate import upgrade
from bot.storage.models import Completion, Contact, Conversation, OutboundMessage, Person
from bot.text import is_zawgyi
from bot.turncache import TurnCache
from tests.conftest import FIXED_NOW
from tests.storage.helpers import Clock, inbound, pipeline

# Many people in a few countries, so that most steps are taken by several of them.
PHONES = [f"+6681234{n:04d}" for n in range(6)] + [f"+8491234{n:04d}" for n in range(6)]
WORDS = ("hello", "1", "1", "2", "1", "menu", "3", "1", "2", "9", "help", "menu", "4", "1")


def _outcome(engine: Engine) -> tuple[dict[str, list[str]], dict[str, tuple[object, ...]]]:
    """Every answer by phone, in order; each person's fields, place and completed flows."""
    answers: dict[str, list[str]] = defaultdict(list)
    people: dict[str, tuple[object, ...]] = {}
    with Session(engine) as db:
        for address, text in db.exec(
            select(Contact.address, OutboundMessage.text)
            .join(Contact, Contact.id == OutboundMessage.contact_id)  # type: ignore[arg-type]
            .order_by(OutboundMessage.id)  # type: ignore[arg-type]
        ).all():
            answers[address].append(text)
        for person, conversation in db.exec(
            select(Person, Conversation).join(
                Conversation,
                Conversation.person_id == Person.id,  # type: ignore[arg-type]
            )
        ).all():
            done = db.exec(select(Completion).where(Completion.person_id == person.id)).all()
            people[str(person.phone)] = (
                person.language,
                person.consent_at,
                person.onboarded_at,
                person.updated_at,
                conversation.state,
                conversation.labels,
                conversation.revision,
                sorted((c.flow, c.first_at, c.last_at) for c in done),
            )
    return dict(answers), people


def _uncached(engine: Engine, flows: FlowSet, clock: Clock) -> Pipeline:
    bot = pipeline(engine, flows, clock)
    bot.turns = TurnCache(size=0)
    return bot


def test_kept_turns_answer_and_store_exactly_what_the_engine_gives(
    db_engine: Engine, tmp_path: Path, flows: FlowSet
) -> None:
    rng = random.Random(7)
    script = [(rng.choice(PHONES), rng.choice(WORDS)) for _ in range(240)]
    reference = make_engine(f"sqlite:///{tmp_path / 'engine-every-time.db'}")
    upgrade(reference)
    outcomes = []
    for engine, make in ((db_engine, pipeline), (reference, _uncached)):
        clock = Clock(FIXED_NOW)
        bot = make(engine, flows, clock)
        for n, (phone, text) in enumerate(script):
            clock.advance(seconds=13)
            bot.handle(inbound(text, key=f"k{n}", address=phone, phone=phone))
        outcomes.append((_outcome(engine), bot.turns.hits))
    reference.dispose()
    (kept, hits), (computed, no_hits) = outcomes
    assert hits > len(script) // 5 and no_hits == 0  # the comparison means something
    assert kept == computed


def test_a_turn_that_shows_the_time_is_not_kept(db_engine: Engine, flows: FlowSet) -> None:
    clock = Clock(FIXED_NOW)
    bot = pipeline(db_engine, flows, clock)
    first, second = PHONES[0], PHONES[1]
    for phone in (first, second):
        bot.handle(inbound("hello", address=phone, phone=phone))
    answers = []
    for phone in (first, second):
        clock.advance(minutes=7)
        handled = bot.handle(inbound("1", address=phone, phone=phone))  # agree: "is it 10:07?"
        assert handled.reply is not None
        answers.append(handled.reply.text)
    assert answers[0] != answers[1]  # each shows the time it was asked at
    assert bot.turns.hits == 1  # only the second "hello" was kept from the first


def test_kept_turns_set_each_persons_own_times(db_engine: Engine, flows: FlowSet) -> None:
    clock = Clock(FIXED_NOW)
    bot = pipeline(db_engine, flows, clock)
    for phone in PHONES[:3]:
        clock.advance(minutes=1)
        bot.handle(inbound("hello", address=phone, phone=phone))
        outcome = bot.handle(inbound("1", address=phone, phone=phone))
        assert isinstance(outcome, Handled) and not outcome.duplicate
    with Session(db_engine) as db:
        consents = [p.consent_at for p in db.exec(select(Person).order_by(Person.id)).all()]  # type: ignore[arg-type]
    assert consents == [FIXED_NOW.replace(minute=FIXED_NOW.minute + n) for n in (1, 2, 3)]


def test_zawgyi_and_unicode_writers_in_one_place_each_get_their_script(
    db_engine: Engine, flows: FlowSet
) -> None:
    bot = pipeline(db_engine, flows, Clock(FIXED_NOW))
    zawgyi, unicode = "+959421234567", "+959421234568"
    bot.handle(inbound("ေက်းဇူးတင္ပါတယ္", address=zawgyi, phone=zawgyi))
    bot.handle(inbound("ကျေးဇူးတင်ပါတယ်", address=unicode, phone=unicode))
    replies = {}
    for phone in (zawgyi, unicode):
        handled = bot.handle(inbound("help", address=phone, phone=phone))
        assert handled.reply is not None
        replies[phone] = handled.reply.text
    assert is_zawgyi(replies[zawgyi]) and not is_zawgyi(replies[unicode])
