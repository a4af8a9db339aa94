"""Property tests: whatever a person sends, nothing crashes and they get exactly one answer."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.engine import Context, Input, Profile, State, resume
from bot.engine.events import SetField
from bot.flowfiles import FlowSet
from bot.i18n.catalogs import LANGUAGES
from bot.pipeline import Pipeline
from bot.storage.db import make_engine
from bot.storage.migrate import upgrade
from bot.storage.models import OutboundMessage
from bot.text import normalise
from tests.conftest import FIXED_NOW
from tests.storage.helpers import inbound

DIGITS = "0123456789๐๑๒๓๔๕๖๗๘๙၀၁၂၃၄၅၆၇၈၉ဝရ０１２３"
KEYWORD_WORDS = ["MENU", "help", "LANGUAGE", "stop", "START", "/start x", "เมนู", "ရပ်", "DỪNG"]

messages = st.one_of(
    st.text(max_size=300),  # any Unicode, control characters and unpaired surrogates included
    st.text(alphabet=DIGITS + " .)", min_size=1, max_size=6),
    st.sampled_from(KEYWORD_WORDS),
    st.text(alphabet="😀👩‍🌾🙏🏽\u200b\u200d\ufeff\x00\x1b\r\n\t ", max_size=40),
    st.integers(min_value=-5, max_value=12).map(str),
    st.just("x" * 10_000),
)
profiles = st.builds(
    Profile,
    language=st.sampled_from([None, *LANGUAGES]),
    country=st.sampled_from([None, "BR", "CI", "GH", "ID", "MM", "TH", "VN", "GB"]),
    timezone=st.sampled_from([None, "Asia/Jakarta", "America/Manaus", "Asia/Yangon"]),
    consent=st.booleans(),
    onboarded=st.booleans(),
)


def _input(text: str) -> Input:
    clean = normalise(text, 1600)
    kind = "too_long" if clean.too_long else ("text" if clean.text else "empty")
    return Input(clean.text, kind, clean.number, clean.length, 1600)


@settings(max_examples=300, deadline=None)
@given(profile=profiles, conversation=st.lists(messages, min_size=1, max_size=10))
def test_the_engine_never_crashes_and_always_answers(
    flows: FlowSet, profile: Profile, conversation: list[str]
) -> None:
    state = State()
    for text in conversation:
        context = Context(profile, FIXED_NOW, "sms", flows.flows, flows.keywords)
        turn = resume(state, _input(text), context)
        if profile.opted_out:
            assert len(turn.visible) <= 2  # silence, or START/HELP's short answer
        else:
            assert turn.visible, f"no answer to {text!r}"
        for event in turn.events:
            if isinstance(event, SetField):
                profile = profile.with_field(event.name, event.value)
        state = State.from_json(turn.state.to_json())  # and the state survives storage


@pytest.fixture(scope="module")
def shared_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('prop') / 'bot.db'}")
    upgrade(engine)
    yield engine
    engine.dispose()


_numbers = itertools.count(1_000_000)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    conversation=st.lists(messages, min_size=1, max_size=8),
    channel=st.sampled_from(["sms", "whatsapp", "telegram"]),
)
def test_every_message_through_the_pipeline_gets_exactly_one_answer(
    shared_engine: Engine, flows: FlowSet, conversation: list[str], channel: str
) -> None:
    pipeline = Pipeline(shared_engine, flows, clock=lambda: FIXED_NOW)
    phone = f"+6681{next(_numbers):07d}"
    stopped = False
    for text in conversation:
        handled = pipeline.handle(inbound(text, channel=channel, address=phone, phone=phone))
        keyword = flows.keywords.match(normalise(text, 1600).text)
        with Session(shared_engine) as db:
            rows = db.exec(
                select(OutboundMessage).where(OutboundMessage.in_reply_to == handled.inbound_id)
            ).all()
        if stopped and (keyword is None or keyword.value not in ("start", "help")):
            assert rows == [], "an opted-out person got an answer"
        else:
            assert rows, f"no answer to {text!r}"
            assert {r.payload["parts"] for r in rows} == {len(rows)}  # one answer, in parts
        stopped = (stopped or (keyword is not None and keyword.value == "stop")) and not (
            keyword is not None and keyword.value == "start"
        )
