"""Whole conversations through the console phone, in every language: input lines -> replies.

The expected replies live in tests/transcripts/*.txt. After changing wording on purpose, run
`pytest tests/test_transcripts.py --update-transcripts` and review the diff.
"""

from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from bot.channels.console import ConsolePhone, ConsoleSender
from bot.dispatcher import Dispatcher
from bot.flowfiles import FlowSet
from bot.pipeline import Pipeline
from tests.conftest import FIXED_NOW

TRANSCRIPTS = Path(__file__).parent / "transcripts"

# name: (phone, channel, lines the person sends)
SCRIPTS: dict[str, tuple[str, str, list[str]]] = {
    "en-ghana-sms": (
        "+233241234567",
        "sms",
        ["Hi", "1", "2", "3", "help", "menu", "1", "1", "STOP", "are you there?", "start"],
    ),
    "pt_BR-acre-whatsapp": ("+5568999123456", "whatsapp", ["Olá", "1", "3", "AJUDA", "PARAR"]),
    "fr-cote-divoire-sms": ("+2250701234567", "sms", ["Bonjour", "oui", "1", "1", "::voice", "2"]),
    "id-papua-sms": ("+6281344556677", "sms", ["Halo", "1", "3", "BAHASA", "4"]),
    "my-unicode-sms": ("+959421234567", "sms", ["မင်္ဂလာပါ", "ရ", "၁", "၁", "မီနူး", "၃"]),
    "my-zawgyi-sms": ("+959421234568", "sms", ["ေက်းဇူးတင္ပါတယ္", "၁", "၁"]),
    "th-telegram": ("+66812345678", "telegram", ["สวัสดี", "ได้ ยินยอม", "๑", "เมนู", "ภาษา", "ไทย"]),
    "vi-sms": ("+84912345678", "sms", ["Xin chào", "1", "1", "NGÔN NGỮ", "3", "DỪNG"]),
    "unknown-country-sms": ("+447911123456", "sms", ["Hello", "2", "1", "4", "3", "1"]),
}


def play(engine: Engine, flows: FlowSet, phone: str, channel: str, lines: list[str]) -> str:
    clock_now = [FIXED_NOW]
    out = io.StringIO()
    sender = ConsoleSender(channel, out, pretty=False)
    dispatcher = Dispatcher(engine, {channel: sender}, clock=lambda: clock_now[0])
    pipeline = Pipeline(engine, flows, clock=lambda: clock_now[0])
    console = ConsolePhone(pipeline, dispatcher, channel, phone)
    transcript = []
    for line in lines:
        start = out.tell()
        console.say(line)
        transcript.append(f"> {line}\n{out.getvalue()[start:]}")
        clock_now[0] += timedelta(minutes=1)
    return "".join(transcript)


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_transcript(
    name: str, sqlite_engine: Engine, flows: FlowSet, request: pytest.FixtureRequest
) -> None:
    phone, channel, lines = SCRIPTS[name]
    actual = play(sqlite_engine, flows, phone, channel, lines)
    path = TRANSCRIPTS / f"{name}.txt"
    if request.config.getoption("--update-transcripts"):
        path.write_text(actual, encoding="utf-8")
    assert path.exists(), f"run with --update-transcripts to create {path.name}"
    assert actual == path.read_text(encoding="utf-8")


def test_every_language_has_a_transcript() -> None:
    from bot.i18n.catalogs import LANGUAGES

    covered = {name.split("-")[0] for name in SCRIPTS}
    assert set(LANGUAGES) <= covered
