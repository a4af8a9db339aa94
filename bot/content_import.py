"""Import the schedule and the resolutions from YAML or CSV, validated, idempotent on ids.

Every problem is reported with its line number and nothing is written unless the whole file
is valid. Importing the same file twice changes nothing; a changed row updates its record.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml
from sqlmodel import Session, SQLModel

from bot.i18n.catalogs import LANGUAGES, SOURCE_LANGUAGE
from bot.phones import PROJECT_COUNTRIES
from bot.storage.models import Event, Resolution, utcnow

# Whole-string match (`fullmatch`): `$` would let a trailing newline through.
ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
KINDS = ("national", "international", "ga")
COUNTRIES = set(PROJECT_COUNTRIES)


class InvalidFile(ValueError):
    """The file has problems; `problems` lists each with its line. Nothing was written."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass
class Record:
    line: int
    values: dict[str, Any]


@dataclass
class Outcome:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)


# -- reading ---------------------------------------------------------------------------------


def read_records(path: Path, section: str) -> list[Record]:
    """Rows of a YAML list under `section`, or of a CSV file, each with its line number."""
    text = path.read_text(encoding="utf-8-sig")
    if path.suffix.lower() == ".csv":
        return list(_csv_records(text))
    return list(_yaml_records(text, section, path.name))


def _yaml_records(text: str, section: str, name: str) -> Iterator[Record]:
    try:
        root = yaml.compose(text)
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = mark.line + 1 if mark else 1
        problem = getattr(error, "problem", error)
        raise InvalidFile([f"line {line}: not valid YAML ({problem})"]) from None
    if not isinstance(data, dict) or not isinstance(data.get(section), list):
        raise InvalidFile([f"line 1: {name} needs a list under `{section}:`"])
    assert isinstance(root, yaml.MappingNode)
    node = next(v for k, v in root.value if k.value == section)
    for item_node, values in zip(node.value, data[section], strict=True):
        line = item_node.start_mark.line + 1
        if not isinstance(values, dict):
            raise InvalidFile([f"line {line}: each entry must be a mapping"])
        yield Record(line, values)


def _csv_records(text: str) -> Iterator[Record]:
    reader = csv.DictReader(io.StringIO(text))
    for row in reader:
        yield Record(reader.line_num, _nest_languages(row))


def _nest_languages(row: Mapping[str, str | None]) -> dict[str, Any]:
    """CSV columns `title_en`, `title_th`... become {"title": {"en": ..., "th": ...}}."""
    values: dict[str, Any] = {}
    for column, cell in row.items():
        if column is None:
            continue
        cell = (cell or "").strip()
        base, _, language = column.partition("_")
        if language in LANGUAGES and base in ("title", "agenda", "summary", "detail"):
            if cell:
                values.setdefault(base, {})[language] = cell
        elif column == "dial_in":
            values[column] = _dial_in_cell(cell)
        elif cell:
            values[column] = cell
    return values


def _dial_in_cell(cell: str) -> dict[str, list[str]]:
    """`TH:+66 2 555 0100|+66 2 555 0101;VN:+84 ...`"""
    numbers: dict[str, list[str]] = {}
    for part in filter(None, (p.strip() for p in cell.split(";"))):
        country, _, listed = part.partition(":")
        numbers[country.strip()] = [n.strip() for n in listed.split("|") if n.strip()]
    return numbers


# -- checking --------------------------------------------------------------------------------


class Checker:
    def __init__(self, record: Record) -> None:
        self.record = record
        self.problems: list[str] = []

    def fail(self, field_name: str, message: str) -> None:
        self.problems.append(f"line {self.record.line}: {field_name}: {message}")

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
        value = self.get(name)
        if isinstance(value, str):
            try:
                value = datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                value = None
        if not isinstance(value, datetime) or value.tzinfo is None:
            self.fail(name, "a date and time with its time zone, e.g. 2027-07-28T14:00:00+07:00")
            return None
        return value

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
    records = read_records(path, section)
    checked, problems = [], []
    for record in records:
        values, found = check(record)
        checked.append(values)
        problems += found
    ids = [v["id"] for v in checked]
    problems += [f"id: {i!r} appears twice" for i in sorted({i for i in ids if ids.count(i) > 1})]
    if problems:
        raise InvalidFile(problems)
    return _upsert(db, model, checked, now or utcnow())


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
