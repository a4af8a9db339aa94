"""Formatting for one reader: translations, dates and times, names and digits, with Babel."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel import Locale, UnknownLocaleError
from babel.dates import format_datetime as babel_format_datetime
from babel.dates import (
    format_time,
    get_timezone_name,
    match_skeleton,
    tokenize_pattern,
    untokenize_pattern,
)
from babel.numbers import format_decimal

from bot.i18n.catalogs import SOURCE_LANGUAGE, translations

MYANMAR_DIGITS = str.maketrans("0123456789", "၀၁၂၃၄၅၆၇၈၉")
BUDDHIST_ERA_OFFSET = 543
DATE_SKELETON = "yMMMMEEEEd"
SHORT_DATE_SKELETON = "MMMd"  # "Jul 29": a list of upcoming calls needs no weekday
MEDIUM_DATE_SKELETON = "MMMEd"  # "Thu, Jul 29": one call's details
SKELETONS = {"short": SHORT_DATE_SKELETON, "medium": MEDIUM_DATE_SKELETON}
# The same with the year, for a moment in another year than the reader's today.
WITH_YEAR = {"short": "yMMMd", "medium": "yMMMEd"}
# Countries with several time zones, and the locale whose CLDR short names people there use
# for them (WIB, WITA, WIT; BRT, AMT, ACT), whatever language they read: a time there is
# shown with its zone, so nobody reads Jakarta's 19:00 as their own in Papua.
ZONE_NAMES_FROM = {"ID": "id", "BR": "pt_BR"}


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

    def moment(
        self,
        at: datetime,
        timezone: str | None = None,
        style: str = "time",
        today: datetime | None = None,
    ) -> str:
        """A moment in `timezone` (default: the reader's), in the reader's locale; with its
        zone where the reader's country has several, and with the year when it is not the
        year of `today`."""
        tz = zone(timezone or self.timezone)
        time = format_time(at, "short", tzinfo=tz or UTC, locale=self.locale)
        if tz is None:
            time = f"{time} UTC"  # an unknown zone must not pass for local time
        elif timezone is None and self.country in ZONE_NAMES_FROM:
            time = f"{time} {self._zone_name(at, tz)}"
        if style == "time":
            return self._finish(time)
        local = at.astimezone(tz or UTC)
        skeleton = SKELETONS.get(style, DATE_SKELETON)
        if today is not None and today.astimezone(tz or UTC).year != local.year:
            skeleton = WITH_YEAR.get(style, skeleton)
        date = self._date(local, skeleton)
        if style == "date":
            return self._finish(date)
        combined = self.locale.datetime_formats["medium"]
        return self._finish(combined.replace("{1}", date).replace("{0}", time))

    def _zone_name(self, at: datetime, tz: tzinfo) -> str:
        assert self.country is not None
        local = at.astimezone(tz)
        return get_timezone_name(local, width="short", locale=ZONE_NAMES_FROM[self.country])

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

    def zone_name(self, name: str | None) -> str:
        """A zone as people name it: CLDR's name in the reader's language, and where the
        country has several zones, the standard name with its short one ("WIB")."""
        tz = zone(name)
        if tz is None or name in ("UTC", "Etc/UTC", "GMT"):
            return name or "-"
        if self.country not in ZONE_NAMES_FROM:
            return str(
                get_timezone_name(tz, width="long", zone_variant="generic", locale=self.locale)
            )
        # Neither Indonesia nor Brazil changes its clocks: any moment gives the standard names.
        moment = datetime(2026, 1, 15, 12, tzinfo=UTC).astimezone(tz)
        long = get_timezone_name(moment, width="long", locale=self.locale)
        return f"{long} ({self._zone_name(moment, tz)})"

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
