"""SMS cost of the content flows, per language: no message over 3 segments, tutorial within 20."""

from __future__ import annotations

import pytest

from bot.i18n.catalogs import LANGUAGES
from bot.reach import MAX_SEGMENTS_PER_MESSAGE, TUTORIAL_BUDGET, every_message, tutorial_pass


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_content_message_fits_three_segments(language: str) -> None:
    messages = every_message(language)
    counts = [m.segments for m in messages]
    print(f"{language}: {len(messages)} messages, {sum(counts)} segments, longest {max(counts)}")
    over = [m.text for m in messages if m.segments > MAX_SEGMENTS_PER_MESSAGE]
    assert not over, over


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_whole_tutorial_fits_its_budget(language: str) -> None:
    course = tutorial_pass(language)
    total = sum(m.segments for m in course)
    print(f"{language}: tutorial {total} segments over {len(course)} messages")
    assert len(course) == 10  # 6 lessons, 2 checks, the practice offer, its answer
    assert total <= TUTORIAL_BUDGET
