"""Phone numbers: what a number tells about its owner, read once per number."""

from __future__ import annotations

from bot.phones import PhoneInfo, parse_phone


def test_a_number_tells_its_country_language_and_zone() -> None:
    assert parse_phone("+66 81 234 5678") == PhoneInfo(
        e164="+66812345678", country="TH", language="th", timezone="Asia/Bangkok"
    )
    assert parse_phone("+84 91 234 5678") == PhoneInfo(
        e164="+84912345678", country="VN", language="vi", timezone="Asia/Ho_Chi_Minh"
    )
    assert parse_phone("not a number") is None
    assert parse_phone("+1 555") is None


def test_a_number_read_again_comes_from_the_cache() -> None:
    first = parse_phone("+233241234567")
    hits = parse_phone.cache_info().hits
    assert parse_phone("+233241234567") is first
    assert parse_phone.cache_info().hits == hits + 1
    assert first is not None and first.country == "GH" and first.language == "en"
