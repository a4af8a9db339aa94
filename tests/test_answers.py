"""Realistic answers at every free-text question, in every language: names, places, roles,
challenges, and every word that is also a command somewhere. Each is stored as typed; nobody
is opted out by their own name; STOP alone still stops, after asking."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import cycle
from pathlib import Path

import pytest
import yaml
from sqlmodel import Session, select

from bot.engine import texts
from bot.engine.keywords import Keyword
from bot.flowfiles import flow_set
from bot.i18n.catalogs import LANGUAGES
from bot.i18n.formatting import Reader
from bot.render import to_text
from bot.storage.models import Conversation, Person
from bot.text import normalise
from bot.tour import Tour, tour

EVERYDAY = yaml.safe_load((Path(__file__).parent / "data" / "everyday_words.yaml").read_text())
# Each question (answer key) and how to reach it from the draft's "Which answer?".
QUESTIONS = {
    "name": ["name"],
    "place": ["place"],
    "role": ["role", "has_role"],
    "challenges": ["challenges"],
    "vision": ["vision"],
    "why": ["why"],
}
# Found by people, each once taken as a command at a question.
FOUND = ["Huy", "huy.", "HUY!", "Huỷ", "sair", "Socorro", "Ajudar", "Bantu", "Tolong", "Giúp"]
FOUND += ["Language", "Idioma", "Bahasa", "Mulai", '"หยุด"', "Stop", "Menu of my shop"]


def _answers(language: str) -> list[str]:
    """The language's own names, places and answers, then every command word of every
    language (anyone may write "Language" as their challenge)."""
    own = [str(w) for kind in ("names", "places", "answers") for w in EVERYDAY[kind][language]]
    words = flow_set().keyword_words
    commands = sorted(
        {w for by_keyword in words.values() for ws in by_keyword.values() for w in ws}
    )
    menu = {w for by_language in words.values() for w in by_language[Keyword.MENU]}
    return own + FOUND + [w for w in commands if w not in menu]  # MENU alone leaves, by design


def _state(t: Tour) -> dict:  # type: ignore[type-arg]
    with Session(t.pipeline.engine) as db:
        return dict(db.exec(select(Conversation.state)).one())


def _opted_out(t: Tour) -> bool:
    with Session(t.pipeline.engine) as db:
        return db.exec(select(Person.opted_out_at)).one() is not None


@pytest.fixture
def at_draft(request: pytest.FixtureRequest) -> Iterator[Tour]:
    with tour(request.param) as t:
        t.send("menu")
        t.choose("statement")
        for answer in ["Ama Mensah", "Ghana, Western Region", "12 years, 3 ha"]:
            t.send(answer)
        t.choose("has_role")
        for answer in ["treasurer", "low prices", "fair prices", "I lead our group"]:
            t.send(answer)
        assert _state(t)["step"] == "draft"
        yield t


@pytest.mark.parametrize("at_draft", LANGUAGES, indirect=True)
def test_every_realistic_answer_is_stored_as_typed_and_stops_nobody(at_draft: Tour) -> None:
    t = at_draft
    stop_checks = 0
    answers = _answers(t.language)
    for answer, (key, path) in zip(answers, cycle(QUESTIONS.items()), strict=False):
        t.choose("change")
        for option in path:
            t.choose(option)
        asked = t.send(answer)[-1]  # a long draft comes in several SMS
        if _state(t).get("waiting", {}).get("kind") == "stop_check":
            stop_checks += 1
            assert not _opted_out(t), answer
            asked = t.send("2")[-1]  # "No, this was my answer"
        state = _state(t)
        assert state["step"] == "draft", (answer, asked.text)
        assert state["answers"][key] == normalise(answer, 1600).text, answer
        assert not _opted_out(t), answer
    assert stop_checks >= 10  # every STOP word (of every language) was asked about
    assert len(answers) > 150


@pytest.mark.parametrize("language", LANGUAGES)
def test_stop_alone_at_a_question_still_stops_after_asking(language: str) -> None:
    stop_word = flow_set().keyword_words[language][Keyword.STOP][0]
    with tour(language) as t:
        t.send("menu")
        t.choose("statement")
        (asked,) = t.send(stop_word)
        assert not _opted_out(t)
        assert asked.text.startswith(Reader(language=language).gettext(texts.stop_check().msgid))
        (stopped,) = t.send("1")
        assert _opted_out(t)
        assert stopped.text == to_text(texts.stopped(), Reader(language=language))
        assert t.send("Huy") == []  # nothing more is sent after STOP
