"""SMS segment counting, GSM-7 and UCS-2 aware."""

from __future__ import annotations

import pytest

from bot.sms import cheaper, is_gsm7, segments


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
