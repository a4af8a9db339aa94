"""SMS cost of every message, per language: none over 3 segments, no list of choices cut in
two, the whole tutorial within 20 segments (bot/reach.py walks every flow to get them)."""

from __future__ import annotations

import re

import pytest

from bot.i18n.catalogs import LANGUAGES
from bot.reach import MAX_SEGMENTS_PER_MESSAGE, TUTORIAL_BUDGET, every_message, tutorial_pass

# A block too long for one SMS is cut into numbered messages "[1/3] ..." (a statement draft);
# a numbered list of choices must never be: people answer it by the numbers they see.
PIECE = re.compile(r"^\[[0-9၀-၉]+/[0-9၀-၉]+\] ")
OPTION = re.compile(r"(^|\n)[0-9၀-၉]+(\. |=)")


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_message_fits_three_segments_and_no_choice_list_is_cut(language: str) -> None:
    messages = every_message(language)
    counts = [m.segments for m in messages]
    print(f"{language}: {len(messages)} messages, {sum(counts)} segments, longest {max(counts)}")
    over = [m.text for m in messages if m.segments > MAX_SEGMENTS_PER_MESSAGE]
    assert not over, over
    cut = [m.text for m in messages if PIECE.match(m.text) and OPTION.search(m.text)]
    assert not cut, cut
    assert len(messages) > 200  # every journey ran (onboarding to reminders)


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_whole_tutorial_fits_its_budget(language: str) -> None:
    course = tutorial_pass(language)
    total = sum(m.segments for m in course)
    print(f"{language}: tutorial {total} segments over {len(course)} messages")
    assert len(course) == 10  # 6 lessons, 2 checks, the practice offer, its answer
    assert total <= TUTORIAL_BUDGET


def test_a_long_draft_is_cut_into_numbered_messages_of_three_parts_at_most() -> None:
    from bot.i18n.formatting import Reader
    from bot.render import sms_messages

    draft = "Your draft:\n" + " ".join(["I have led our group for five years."] * 40)
    parts = sms_messages([draft, "1. Send it\n2. Change an answer\nReply 1-2"], Reader("en"))
    assert [p[:6] for p in parts[:-1]] == [f"[{i}/{len(parts) - 1}] " for i in range(1, len(parts))]
    assert parts[-1] == "1. Send it\n2. Change an answer\nReply 1-2"
    from bot.sms import segments

    assert all(segments(p).count <= 3 for p in parts)
    joined = " ".join(PIECE.sub("", p) for p in parts[:-1])
    assert joined.split() == draft.split()  # nothing lost or doubled at the cuts
