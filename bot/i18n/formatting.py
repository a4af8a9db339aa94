"""Formatting for one reader: translations, dates and times, names and digits, with Babel."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel import Locale, UnknownLocaleError
from babel.dates import format_datetime as babel_format_datetime
from babel.dates import format_time, match_skeleton, tokenize_pattern, untokenize_pattern
from babel.numbers import format_decimal

from bot.i18n.catalogs import SOURCE_LANGUAGE, translations

MYANMAR_DIGITS = str.maketrans("0123456789", "၀၁၂၃၄၅၆၇၈၉")
BUDDHIST_ERA_OFFSET = 543
DATE_SKELETON = "yMMMMEEEEd"
SHORT_DATE_SKELETON = "MMMd"  # "Jul 29": a list of upcoming calls needs no year, no weekday
MEDIUM_DATE_SKELETON = "MMMEd"  # "Thu, Jul 29": one call's details, still without the year
SKELETONS = {"short": SHORT_DATE_SKELETON, "medium": MEDIUM_DATE_SKELETON}


@cache
def babel_locale(language: str, country: str | None) -> Locale:
    """The CLDR locale for formatting: fr in Côte d'Ivoire is fr_CI, en in Ghana is en_GH."""
    base = Locale.parse(language)
    if country and not base.territory:
        try:
            return Locale.parse(f"{base.language}_{country}")
        except (UnknownLocaleError, ValueError):
            pass
    return base


@cache
def zone(name: str | None) -> tzinfo | None:
    """The named time zone, or None if it is unset or unknown."""
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


# CLDR puts (narrow) no-break spaces in times ("6:00 AM"); on SMS they would force UCS-2.
_PLAIN_SPACES = str.maketrans({"\u202f": " ", "\u00a0": " "})


@dataclass(frozen=True)
class Reader:
    """Who reads a message: everything needed to write it in their language and time."""

    language: str = SOURCE_LANGUAGE
    country: str | None = None
    timezone: str | None = None
    zawgyi: bool = False

    @property
    def locale(self) -> Locale:
        return babel_locale(self.language, self.country)

    def gettext(self, msgid: str) -> str:
        return translations(self.language).gettext(msgid)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return translations(self.language).ngettext(singular, plural, n)

    def digits(self, text: str) -> str:
        """Numbers as the reader writes them: Myanmar digits in Burmese."""
        return text.translate(MYANMAR_DIGITS) if self.language == "my" else text

    def number(self, value: int) -> str:
        return self.digits(str(value))

    def amount(self, value: float) -> str:
        return self.digits(format_decimal(value, "#,##0.00", locale=self.locale))

    def moment(self, at: datetime, timezone: str | None = None, style: str = "time") -> str:
        """A moment in `timezone` (default: the reader's), in the reader's locale."""
        tz = zone(timezone or self.timezone)
        time = format_time(at, "short", tzinfo=tz or UTC, locale=self.locale)
        if tz is None:
            time = f"{time} UTC"  # an unknown zone must not pass for local time
        if style == "time":
            return self._finish(time)
        local = at.astimezone(tz or UTC)
        date = self._date(local, SKELETONS.get(style, DATE_SKELETON))
        if style == "date":
            return self._finish(date)
        combined = self.locale.datetime_formats["medium"]
        return self._finish(combined.replace("{1}", date).replace("{0}", time))

    def _finish(self, text: str) -> str:
        return self.digits(text.translate(_PLAIN_SPACES))

    def _date(self, local: datetime, skeleton: str) -> str:
        skeletons = self.locale.datetime_skeletons
        best = match_skeleton(skeleton, skeletons) or "yMMMd"
        pattern = skeletons[best].pattern
        if self.locale.language == "th":
            # Thai readers count years in the Buddhist era, which CLDR's Gregorian data lacks.
            pattern = _buddhist_year(pattern, local.year + BUDDHIST_ERA_OFFSET)
        return babel_format_datetime(local, pattern, tzinfo=local.tzinfo, locale=self.locale)

    def country_name(self, code: str | None) -> str:
        if not code:
            return self.gettext("unknown country")
        return self.locale.territories.get(code, code)

    def language_name(self, code: str) -> str:
        return Locale.parse(code).get_display_name(code) or code


def _buddhist_year(pattern: str, year: int) -> str:
    tokens: list[tuple[str, str | tuple[str, int]]] = []
    for kind, value in tokenize_pattern(pattern):
        if kind == "field" and isinstance(value, tuple) and value[0] == "y":
            tokens.append(("chars", str(year)))
        elif kind == "field" and isinstance(value, tuple) and value[0] == "G":
            tokens.append(("chars", "พ.ศ."))
        else:
            tokens.append((kind, value))
    return untokenize_pattern(tokens)
