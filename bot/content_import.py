"""Import the schedule and the resolutions from YAML, CSV or XLSX, validated, idempotent on ids.

Every problem is reported with its line number and nothing is written unless the whole file
is valid. Importing the same file twice changes nothing; a changed row updates its record.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlmodel import Session, SQLModel

from bot.content_files import InvalidFile, Record, read_records
from bot.i18n.catalogs import LANGUAGES, SOURCE_LANGUAGE
from bot.phones import PROJECT_COUNTRIES
from bot.storage.models import Event, Resolution, utcnow

# Whole-string match (`fullmatch`): `$` would let a trailing newline through.
ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
KINDS = ("national", "international", "ga")
DAY_FIRST = re.compile(r"\s*\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}\b")  # 28/07/2027, 07.28.27
COUNTRIES = set(PROJECT_COUNTRIES)


@dataclass
class Outcome:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # how the file was read


# -- checking --------------------------------------------------------------------------------


class Checker:
    def __init__(self, record: Record) -> None:
        self.record = record
        self.problems: list[str] = []

    def fail(self, field_name: str, message: str) -> None:
        self.problems.append(f"{self.record.where}: {field_name}: {message}")

    def get(self, name: str) -> Any:
        return self.record.values.get(name)

    def id(self) -> str:
        value = self.get("id")
        text = "" if value is None else str(value)
        if not text:
            self.fail("id", "required: letters, digits, - and _ (at most 64), e.g. th-national-1")
        elif not ID.fullmatch(text):
            self.fail(
                "id",
                f"{text!r}: only letters, digits, - and _ (at most 64), e.g. th-national-1",
            )
        return text

    def texts(self, name: str, required: bool) -> dict[str, str]:
        value = self.get(name) or {}
        if isinstance(value, str):
            value = {SOURCE_LANGUAGE: value}
        if not isinstance(value, dict):
            self.fail(name, "a text per language, e.g. {en: ..., th: ...}")
            return {}
        unknown = sorted(set(map(str, value)) - set(LANGUAGES))
        if unknown:
            self.fail(name, f"unknown languages {unknown}; use {', '.join(LANGUAGES)}")
        if required and not value.get(SOURCE_LANGUAGE):
            self.fail(name, "an English (en) text is required")
        return {str(k): str(v).strip() for k, v in value.items() if v}

    def moment(self, name: str) -> datetime | None:
        """A date and time with an offset, or without one and a `time_zone` column."""
        value = self.get(name)
        if isinstance(value, str):
            if DAY_FIRST.match(value):
                self.fail(name, f"{value!r}: use YYYY-MM-DD, e.g. 2027-07-28 14:00")
                return None
            try:
                value = datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                value = None
        zone = self.zone()
        if isinstance(value, datetime) and value.tzinfo is None and zone is not None:
            value = value.replace(tzinfo=zone)
        if not isinstance(value, datetime) or value.tzinfo is None:
            self.fail(
                name,
                "a date and time with its time zone, e.g. 2027-07-28T14:00:00+07:00, or "
                "2027-07-28 14:00 with a time_zone such as Asia/Bangkok",
            )
            return None
        if zone is not None and value.utcoffset() != value.astimezone(zone).utcoffset():
            self.fail(name, f"its offset is not {self.get('time_zone')}'s at that date")
        return value

    def zone(self) -> ZoneInfo | None:
        name = self.get("time_zone")
        if name is None:
            return None
        try:
            return ZoneInfo(str(name).strip())
        except (ZoneInfoNotFoundError, ValueError):
            self.fail("time_zone", f"{name!r}: a time zone name such as Asia/Bangkok")
            return None

    def number(self, name: str, default: int, low: int, high: int) -> int:
        value = self.get(name)
        if value is None:
            return default
        try:
            number = int(value)
        except (TypeError, ValueError):
            number = low - 1
        if not low <= number <= high:
            self.fail(name, f"a whole number from {low} to {high}")
        return number


def check_event(record: Record) -> tuple[dict[str, Any], list[str]]:
    c = Checker(record)
    unknown = sorted(set(record.values) - {*EVENT_FIELDS, "starts"})
    if unknown:
        c.fail(", ".join(unknown), "unknown field")
    kind = str(c.get("kind") or "")
    if kind not in KINDS:
        c.fail("kind", f"one of {', '.join(KINDS)}")
    country = _country(c, kind)
    url = c.get("join_url")
    if url is not None and not re.fullmatch(r"https?://\S+", str(url)):
        c.fail("join_url", "a web address starting with https://")
    values = {
        "id": c.id(),
        "kind": kind,
        "country": country,
        "starts_at": c.moment("starts"),
        "duration_minutes": c.number("duration", 90, 10, 600),
        "join_url": str(url) if url else None,
        "meeting_id": _opt_str(c.get("meeting_id")),
        "passcode": _opt_str(c.get("passcode")),
        "dial_in": _dial_in(c),
        "title": c.texts("title", required=True),
        "agenda": c.texts("agenda", required=False),
    }
    return values, c.problems


EVENT_FIELDS = (
    "id",
    "kind",
    "country",
    "duration",
    "join_url",
    "meeting_id",
    "passcode",
    "dial_in",
    "title",
    "agenda",
    "time_zone",
)


def _country(c: Checker, kind: str) -> str | None:
    value = c.get("country")
    country = None if value in (None, "", "all", "ALL") else str(value).upper()
    if kind == "national" and country not in COUNTRIES:
        c.fail("country", f"a national call needs one of {', '.join(sorted(COUNTRIES))}")
    elif kind != "national" and country is not None:
        c.fail("country", "international calls and the GA are for all countries: leave it empty")
    return country


def _dial_in(c: Checker) -> dict[str, list[str]]:
    value = c.get("dial_in") or {}
    if not isinstance(value, dict):
        c.fail("dial_in", "numbers per country, e.g. {TH: ['+66 2 555 0100']}")
        return {}
    numbers: dict[str, list[str]] = {}
    for country, listed in value.items():
        if str(country).upper() not in COUNTRIES:
            c.fail("dial_in", f"unknown country {country!r}")
        items = [listed] if isinstance(listed, str) else listed
        if not isinstance(items, list) or not all(
            re.fullmatch(r"\+[0-9 ]{6,20}", str(n)) for n in items
        ):
            c.fail("dial_in", f"{country}: numbers in international form, like +66 2 555 0100")
            continue
        numbers[str(country).upper()] = [str(n) for n in items]
    return numbers


def check_resolution(record: Record) -> tuple[dict[str, Any], list[str]]:
    c = Checker(record)
    unknown = sorted(set(record.values) - {"id", "number", "title", "summary", "detail"})
    if unknown:
        c.fail(", ".join(unknown), "unknown field")
    values = {
        "id": c.id(),
        "position": c.number("number", 0, 0, 999),
        "title": c.texts("title", required=True),
        "summary": c.texts("summary", required=True),
        "detail": c.texts("detail", required=False),
    }
    return values, c.problems


def _opt_str(value: Any) -> str | None:
    return None if value in (None, "") else str(value)


# -- writing ---------------------------------------------------------------------------------


def import_file(
    db: Session,
    path: Path,
    section: str,
    check: Callable[[Record], tuple[dict[str, Any], list[str]]],
    model: type[SQLModel],
    now: datetime | None = None,
) -> Outcome:
    contents = read_records(path, section)
    checked, problems = [], []
    first: dict[str, Record] = {}
    for record in contents.records:
        values, found = check(record)
        checked.append(values)
        problems += found
        seen = first.setdefault(values["id"], record)
        if seen is not record and values["id"]:
            problems.append(f"{record.where}: id: {values['id']!r} is also on {seen.where}")
    if problems:
        raise InvalidFile(problems)
    outcome = _upsert(db, model, checked, now or utcnow())
    outcome.notes = contents.notes
    return outcome


def _upsert(
    db: Session, model: type[SQLModel], rows: list[dict[str, Any]], now: datetime
) -> Outcome:
    outcome = Outcome()
    for values in rows:
        existing = db.get(model, values["id"])
        if existing is None:
            db.add(model(**values, updated_at=now))
            outcome.created.append(values["id"])
        elif any(getattr(existing, k) != v for k, v in values.items()):
            for key, value in values.items():
                setattr(existing, key, value)
            existing.updated_at = now
            db.add(existing)
            outcome.updated.append(values["id"])
        else:
            outcome.unchanged.append(values["id"])
    return outcome


def import_schedule(db: Session, path: Path, now: datetime | None = None) -> Outcome:
    return import_file(db, path, "events", check_event, Event, now)


def import_resolutions(db: Session, path: Path, now: datetime | None = None) -> Outcome:
    return import_file(db, path, "resolutions", check_resolution, Resolution, now)
