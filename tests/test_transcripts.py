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
from sqlmodel import Session

from bot.channels.console import ConsolePhone, ConsoleSender
from bot.content_import import import_resolutions, import_schedule
from bot.demo import SAMPLES
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
    # Words instead of numbers at choices: plain yes and no, a label's start, without accents.
    "en-words-sms": (
        "+233241230002",
        "sms",
        ["Hello", "yes", "Yes!", "calls", "1", "agenda", "remind", "no"],
    ),
    "pt_BR-words-sms": (
        "+5511987650002",
        "sms",
        ["Oi", "SIM!", "1", "reunioes", "1", "pauta", "me avise", "sim"],
    ),
    "th-words-sms": ("+66812340002", "sms", ["สวัสดี", "ใช่", "ใช่", "2", "1", "ให้เตือน", "ไม่"]),
    "vi-words-sms": ("+84912340002", "sms", ["Xin chào", "có", "đúng", "2", "1", "nhắc", "có"]),
    "my-words-sms": (
        "+959421230002",
        "sms",
        ["မင်္ဂလာပါ", "ဟုတ်ကဲ့", "ဟုတ်", "2", "1", "3", "မဟုတ်ဘူး"],
    ),
}


THAI_DIGITS = str.maketrans("0123456789", "๐๑๒๓๔๕๖๗๘๙")
MYANMAR_DIGITS = str.maketrans("0123456789", "၀၁၂၃၄၅၆၇၈၉")
# Through every content flow with digits only: the course (one lesson twice, one wrong answer),
# the schedule (details, link, reminders), the GA, the election and a resolution.
COURSE = "1 1 2 1 1 1 1 1 2 1 2"  # lesson 2 twice, one wrong answer, no practice call
SCHEDULE = "2 2 1 4 4 1 1 3 1 3 1"  # a call, its link; all reminders; More calls; one call
ASSEMBLY = "5 3 1 1 1 1 1 3 1 3 2"  # the election to its end, then a resolution in detail
CONTENT_TOUR = [*COURSE.split(" "), "0", *SCHEDULE.split(" "), *ASSEMBLY.split(" ")]
CONTENT = {
    "en": ("+233241234567", "Hello", ["1", "1"], None),
    "pt_BR": ("+5568999123456", "Oi", ["1", "3"], None),
    "fr": ("+2250701234567", "Bonjour", ["1", "1"], None),
    "id": ("+6281234567890", "Halo", ["1", "1"], None),
    "my": ("+959421234569", "မင်္ဂလာပါ", ["1", "1"], MYANMAR_DIGITS),
    "th": ("+66812345670", "สวัสดี", ["1", "1"], THAI_DIGITS),
    "vi": ("+84912345679", "Xin chào", ["1", "1"], None),
}
for _language, (_phone, _hello, _onboarding, _digits) in CONTENT.items():
    _lines = [_hello, *_onboarding, *CONTENT_TOUR]
    SCRIPTS[f"content-{_language}-sms"] = (
        _phone,
        "sms",
        [line.translate(_digits) if _digits else line for line in _lines],
    )


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
    if name.startswith("content-") or "-words-" in name:
        with Session(sqlite_engine) as db, db.begin():
            import_schedule(db, SAMPLES / "schedule.yaml", FIXED_NOW)
            import_resolutions(db, SAMPLES / "resolutions.yaml", FIXED_NOW)
    actual = play(sqlite_engine, flows, phone, channel, lines)
    path = TRANSCRIPTS / f"{name}.txt"
    if request.config.getoption("--update-transcripts"):
        path.write_text(actual, encoding="utf-8")
    assert path.exists(), f"run with --update-transcripts to create {path.name}"
    assert actual == path.read_text(encoding="utf-8")


def test_every_language_has_transcripts_of_onboarding_and_content() -> None:
    from bot.i18n.catalogs import LANGUAGES

    covered = {name.split("-")[0] for name in SCRIPTS if not name.startswith("content-")}
    assert set(LANGUAGES) <= covered
    assert {f"content-{language}-sms" for language in LANGUAGES} <= set(SCRIPTS)
