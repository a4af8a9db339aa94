"""Reach report: what every flow costs per language, in SMS segments and in chat-app bytes.

    .venv/bin/python bench/reach_report.py [--language th ...]

Plays the tours of bot/reach.py through the real pipeline: on SMS, `every_message` (a tour
passing every step of the content flows) and `tutorial_pass` (the tutorial straight through);
on WhatsApp and Telegram the same routes, except that a call's details offer the calendar file
where SMS offers the link. Prints one table per language: per flow (the flow the person is in
after the message; "(ended)": a flow's last words, with no flow after them), the SMS messages,
their segments in all (GSM-7 or UCS-2, bot/sms.py), the most segments in one message, how many
travel as UCS-2, and the UTF-8 bytes of the texts as sent on WhatsApp and Telegram (a calendar
file counts by its caption; Telegram buttons are not text).
Then the tutorial straight through against its budget, and the flags: any message over 3
segments, the tutorial over its budget, and the characters that force UCS-2 in languages whose
letters GSM-7 could carry. Always exits 0: a report; the test suite enforces the budgets.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from sqlmodel import Session, select

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.i18n.catalogs import LANGUAGES
from bot.reach import (
    MAX_SEGMENTS_PER_MESSAGE,
    TUTORIAL_BUDGET,
    Sent,
    Tour,
    every_message,
    tour,
    tutorial_pass,
)
from bot.sms import is_gsm7
from bot.storage.models import Conversation

CHATS = ("whatsapp", "telegram")
# Languages GSM-7 could mostly carry: UCS-2 there comes from a few characters, worth knowing
# (Vietnamese has too many letters outside GSM-7 for that).
LATIN = ("en", "pt_BR", "fr", "id")


@dataclass(frozen=True)
class Row:
    flow: str
    sms: list[Sent]
    chats: dict[str, list[Sent]]


def chat_tutorial(language: str, channel: str) -> list[Sent]:
    """`tutorial_pass` on a chat channel: its choices are the same as on SMS."""
    with tour(language, channel=channel) as t:
        t.send("menu")
        course = t.choose("tutorial")
        for _ in range(6):
            course += t.choose("next")
        course += t.choose("camera") + t.choose("dial_in") + t.choose("practice_yes")
        return course


def chat_messages(language: str, channel: str) -> list[Sent]:
    """`every_message` on a chat channel, where details offer the calendar file, not the link."""
    with tour(language, channel=channel) as t:
        t.send("menu")
        t.choose("tutorial")
        t.choose("again")
        for _ in range(6):
            t.choose("next")
        for step in ("microphone", "cannot", "practice_no"):
            t.choose(step)
        t.send("menu")
        t.choose("schedule")
        for step in ("all_reminders", "none", "other", "all_reminders", "all", "other"):
            t.choose(step)
        for item in items(t):
            for step in (item, "calendar", "other"):
                t.choose(step)
        first = items(t)[0]
        for step in (first, "agenda", "remind", "yes_this", "other", first, "remind", "not_this"):
            t.choose(step)
        t.send("menu")
        for step in ("assembly", "election", "more", "more", "more", "more", "resolutions"):
            t.choose(step)
        for item in items(t):
            for step in (item, "detail", "other"):
                t.choose(step)
        for step in ("menu", "assembly", "about", "more", "more"):
            t.choose(step)
        return t.sent


def items(t: Tour) -> list[str]:
    """The ids of the items listed in the question on screen."""
    with Session(t.pipeline.engine) as db:
        state = db.exec(select(Conversation.state)).one()
    options = state["waiting"]["options"]
    return [str(o).removeprefix("item:") for o in options if str(o).startswith("item:")]


def by_flow(messages: Iterable[Sent]) -> dict[str, list[Sent]]:
    grouped: dict[str, list[Sent]] = defaultdict(list)
    for message in messages:
        # No flow after the message: it was the last one of a flow that returned nowhere.
        grouped[message.flow or "(ended)"].append(message)
    return grouped


def utf8(messages: Iterable[Sent]) -> int:
    return sum(len(m.text.encode()) for m in messages)


def segments(messages: Iterable[Sent]) -> int:
    return sum(m.segments for m in messages)


HEADER = (
    f"  {'flow':<12} {'SMS msgs':>8} {'segments':>8} {'max/msg':>7} {'UCS-2':>5}"
    f" {'WhatsApp bytes (msgs)':>22} {'Telegram bytes (msgs)':>22}"
)


def table_line(row: Row) -> str:
    chats = [f"{utf8(row.chats[c]):,} ({len(row.chats[c])})" for c in CHATS]
    ucs2 = sum(m.encoding == "UCS-2" for m in row.sms)
    most = max((m.segments for m in row.sms), default=0)
    return (
        f"  {row.flow:<12} {len(row.sms):>8} {segments(row.sms):>8} {most:>7} {ucs2:>5}"
        f" {chats[0]:>22} {chats[1]:>22}"
    )


def report(language: str) -> tuple[list[str], str | None]:
    """Prints the language's table; returns its flags and what makes its SMS UCS-2."""
    sms = every_message(language)
    chats = {c: chat_messages(language, c) for c in CHATS}
    sms_flows, chat_flows = by_flow(sms), {c: by_flow(chats[c]) for c in CHATS}
    names = sorted(set(sms_flows) | {f for c in CHATS for f in chat_flows[c]})
    print(f"{language}: a tour through every step of the content flows")
    print(HEADER)
    for name in names:
        row = Row(name, sms_flows.get(name, []), {c: chat_flows[c].get(name, []) for c in CHATS})
        print(table_line(row))
    print(table_line(Row("all", sms, chats)))
    course = tutorial_pass(language)
    chat_course = {c: chat_tutorial(language, c) for c in CHATS}
    print(
        f"  tutorial straight through: {len(course)} SMS messages, {segments(course)} segments "
        f"(budget {TUTORIAL_BUDGET}); "
        + ", ".join(f"{c} {utf8(chat_course[c]):,} bytes" for c in CHATS)
    )
    return flags_of(language, sms, course), ucs2_causes(language, sms)


def flags_of(language: str, sms: list[Sent], course: list[Sent]) -> list[str]:
    found = [
        f"{language}: {m.segments} segments ({m.encoding}) in {m.flow}: {preview(m.text)}"
        for m in sms
        if m.segments > MAX_SEGMENTS_PER_MESSAGE
    ]
    if segments(course) > TUTORIAL_BUDGET:
        found.append(
            f"{language}: the tutorial takes {segments(course)} segments, over its budget of "
            f"{TUTORIAL_BUDGET}"
        )
    return found


def ucs2_causes(language: str, sms: list[Sent]) -> str | None:
    """The characters outside GSM-7 that make messages of a Latin-script language UCS-2."""
    ucs2 = [m for m in sms if m.encoding == "UCS-2"]
    if language not in LATIN or not ucs2:
        return None
    causes = sorted({ch for m in ucs2 for ch in m.text if not is_gsm7(ch)})
    shown = " ".join(repr(ch) for ch in causes[:24]) + (" ..." if len(causes) > 24 else "")
    return f"{language}: {len(ucs2)} of {len(sms)} SMS messages in UCS-2, because of {shown}"


def preview(text: str, width: int = 60) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--language", action="append", choices=LANGUAGES, help="repeatable")
    args = parser.parse_args()
    languages = args.language or list(LANGUAGES)
    python = sys.version.split()[0]
    print(f"reach report, {len(languages)} languages, Python {python}, {os.cpu_count()} cores\n")
    flags: list[str] = []
    causes: list[str] = []
    for language in languages:
        try:
            found, cause = report(language)
        except LookupError as error:
            # A flow changed under the tour (an option gone): report it, the rest still counts.
            print(f"  the tour could not be played: {error}")
            found, cause = [f"{language}: the tour could not be played: {error}"], None
        flags += found
        causes += [cause] if cause else []
        print()
    print("flags:")
    if not flags:
        flags = [f"no message over {MAX_SEGMENTS_PER_MESSAGE} segments; tutorial within budget"]
    for flag in flags:
        print(f"  {flag}")
    print("UCS-2 where GSM-7 could do (70 characters a segment instead of 160):")
    for cause in causes or ["none"]:
        print(f"  {cause}")


if __name__ == "__main__":
    main()
