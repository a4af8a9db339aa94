"""SMS segment counting, GSM-7 and UCS-2 aware."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.sms import GSM7_BASIC, GSM7_EXTENSION, Segments, _pack, cheaper, is_gsm7, segments


@pytest.mark.parametrize(
    ("text", "encoding", "count"),
    [
        ("", "GSM-7", 0),
        ("a" * 160, "GSM-7", 1),
        ("a" * 161, "GSM-7", 2),
        ("a" * 306, "GSM-7", 2),
        ("a" * 307, "GSM-7", 3),
        ("€" * 80, "GSM-7", 1),  # extension characters take two septets
        ("€" * 81, "GSM-7", 2),
        ("ก" * 70, "UCS-2", 1),
        ("ก" * 71, "UCS-2", 2),
        ("ก" * 134, "UCS-2", 2),
        ("ก" * 135, "UCS-2", 3),
        ("Olá, " + "a" * 60, "UCS-2", 1),  # á is not in GSM-7
        ("Déjà vu", "GSM-7", 1),  # é and à are
        ("😀" * 35, "UCS-2", 1),  # an emoji is two UTF-16 units
        ("😀" * 36, "UCS-2", 2),
    ],
)
def test_segments(text: str, encoding: str, count: int) -> None:
    result = segments(text)
    assert (result.encoding, result.count) == (encoding, count)


def test_a_surrogate_pair_never_straddles_two_parts() -> None:
    # 66 units of text then an emoji: the emoji cannot split across parts 1 and 2.
    assert segments("a" * 66 + "ก" + "😀" + "b" * 67).count == 3


def test_typography_is_made_plain_only_when_that_saves_the_gsm_alphabet() -> None:
    assert cheaper("Kwame’s call – 6:00 am") == "Kwame's call - 6:00 am"
    assert is_gsm7(cheaper("Kwame’s call – 6:00 am"))
    # ô keeps the text in UCS-2 anyway, so the typography stays as written.
    assert cheaper("Côte d’Ivoire – 6:00") == "Côte d’Ivoire – 6:00"


def _counted_one_by_one(text: str) -> Segments:
    """The plain definition, character by character: the fast path must agree with it."""
    if all(ch in GSM7_BASIC + GSM7_EXTENSION for ch in text):
        sizes = [2 if ch in GSM7_EXTENSION else 1 for ch in text]
        return Segments("GSM-7", sum(sizes), _pack(sizes, single=160, part=153))
    sizes = [2 if ord(ch) > 0xFFFF else 1 for ch in text]
    return Segments("UCS-2", sum(sizes), _pack(sizes, single=70, part=67))


@settings(max_examples=300)
@given(st.text(alphabet=st.sampled_from([*"abc €{}ก😀é\n"]) | st.characters(), max_size=400))
def test_fast_counting_agrees_with_counting_one_by_one(text: str) -> None:
    assert segments(text) == _counted_one_by_one(text)
