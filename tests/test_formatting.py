"""Dates and times in the reader's own locale and time zone (Babel/CLDR)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.i18n.formatting import Reader, babel_locale

# One moment, 06:00 UTC on the 23rd of September 2026.
AT = datetime(2026, 9, 23, 6, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("reader", "time"),
    [
        (Reader("id", "ID", "Asia/Jakarta"), "13.00 WIB"),
        (Reader("id", "ID", "Asia/Makassar"), "14.00 WITA"),
        (Reader("id", "ID", "Asia/Jayapura"), "15.00 WIT"),
        (Reader("pt_BR", "BR", "America/Sao_Paulo"), "03:00 BRT"),
        (Reader("pt_BR", "BR", "America/Manaus"), "02:00 AMT"),
        (Reader("pt_BR", "BR", "America/Rio_Branco"), "01:00 ACT"),
        (Reader("fr", "CI", "Africa/Abidjan"), "06:00"),
        (Reader("en", "GH", "Africa/Accra"), "6:00 am"),
        (Reader("my", "MM", "Asia/Yangon"), "၁၂:၃၀"),  # +06:30, in Myanmar digits
        (Reader("th", "TH", "Asia/Bangkok"), "13:00"),
        (Reader("vi", "VN", "Asia/Ho_Chi_Minh"), "13:00"),
    ],
)
def test_the_same_moment_in_each_readers_time(reader: Reader, time: str) -> None:
    assert reader.moment(AT) == time


def test_a_zone_is_named_as_people_in_that_country_name_it_whatever_the_language() -> None:
    assert Reader("en", "ID", "Asia/Jayapura").moment(AT) == "15.00 WIT"  # CLDR en_ID
    assert Reader("en", "BR", "America/Manaus").moment(AT) == "2:00 AM AMT"
    # A time given in a named zone (the zone question's "22:12 in Brasília") says it itself.
    assert Reader("pt_BR", "BR", "America/Manaus").moment(AT, "America/Sao_Paulo") == "03:00"


@pytest.mark.parametrize("style", ["short", "medium"])
def test_the_year_is_shown_only_when_it_is_not_this_year(style: str) -> None:
    reader = Reader("en", "GH", "Africa/Accra")
    this_year = reader.moment(AT, style=style, today=datetime(2026, 1, 5, tzinfo=UTC))
    next_year = reader.moment(AT, style=style, today=datetime(2025, 12, 8, tzinfo=UTC))
    assert "2026" not in this_year and "2026" in next_year
    # At 16:00 UTC on 31 December it is already 2027 in Jayapura, still 2026 in Accra.
    eve = datetime(2026, 12, 31, 16, 0, tzinfo=UTC)
    call = datetime(2027, 1, 20, 6, 0, tzinfo=UTC)
    assert "2027" not in Reader("id", "ID", "Asia/Jayapura").moment(call, style="short", today=eve)
    assert "2027" in reader.moment(call, style="short", today=eve)


def test_thai_dates_count_years_in_the_buddhist_era() -> None:
    assert Reader("th", "TH", "Asia/Bangkok").moment(AT, style="date") == "วันพุธที่ 23 กันยายน 2569"


def test_burmese_dates_use_myanmar_digits() -> None:
    shown = Reader("my", "MM", "Asia/Yangon").moment(AT, style="date")
    assert "၂၀၂၆" in shown and "၂၃" in shown
    assert not any(ch.isascii() and ch.isdigit() for ch in shown)


def test_dates_follow_the_country_variant_of_the_language() -> None:
    assert str(babel_locale("fr", "CI")) == "fr_CI"
    assert str(babel_locale("en", "GH")) == "en_GH"
    assert str(babel_locale("en", "TH")) == "en"  # no such CLDR locale: plain English
    assert Reader("pt_BR", "BR", "America/Sao_Paulo").moment(AT, style="date") == (
        "qua., 23 de setembro de 2026"
    )


def test_a_date_near_midnight_falls_on_the_local_day() -> None:
    late = datetime(2026, 9, 22, 20, 0, tzinfo=UTC)
    assert "23" in Reader("id", "ID", "Asia/Jayapura").moment(late, style="date")
    assert "22" in Reader("pt_BR", "BR", "America/Manaus").moment(late, style="date")


def test_an_unknown_time_zone_says_utc_rather_than_pretending() -> None:
    assert Reader("en").moment(AT) == "6:00 AM UTC"
    assert Reader("en", timezone="Not/A_Zone").moment(AT) == "6:00 AM UTC"


def test_names_come_from_cldr_in_the_readers_language() -> None:
    assert Reader("pt_BR").country_name("CI") == "Costa do Marfim"
    assert Reader("th").country_name("MM") == "เมียนมา (พม่า)"
    assert Reader("vi").language_name("th") == "ไทย"  # a language's own name
