"""`bot export statements`: candidate statements for the Secretariat, as CSV, XLSX or JSON.

Read-only and deterministic: the same database gives the same bytes. Phone numbers are masked
unless asked for. Spreadsheet formula injection is made inert: in CSV a cell that starts with
= + - @ or a tab, carriage return or line feed gets a leading apostrophe (OWASP); in XLSX every
text cell is stored explicitly as text, so nothing is ever evaluated (bot/export_xlsx.py).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import phonenumbers
from phonenumbers import PhoneNumberFormat
from sqlmodel import Session, col, select

from bot.engine.statement import IN_GROUP
from bot.export_xlsx import to_xlsx
from bot.i18n.formatting import zone
from bot.phones import mask, parse_phone
from bot.storage.models import Person, StatementVersion

COLUMNS = (
    "candidate_id",
    "version",
    "name",
    "country",
    "region",
    "language",
    "phone",
    "farm",
    "area_ha",
    "area_original",
    "in_group",
    "role",
    "challenges",
    "vision",
    "why",
    "statement",
    "submitted_at_utc",
    "submitted_at_local",
    "time_zone",
    "channel",
    "withdrawn",
)
DANGEROUS_START = ("=", "+", "-", "@", "\t", "\r", "\n")
# Values we produce ourselves (ids, codes, times, numbers, phones): never formulas. Any other
# column holds what people typed and is guarded, including columns added later.
OURS = frozenset(
    {
        "candidate_id",
        "version",
        "country",
        "language",
        "phone",
        "area_ha",
        "submitted_at_utc",
        "submitted_at_local",
        "time_zone",
        "channel",
        "withdrawn",
    }
)


@dataclass(frozen=True)
class Query:
    country: str | None = None
    since: datetime | None = None
    all_versions: bool = False
    with_contacts: bool = False


def rows(db: Session, query: Query) -> list[dict[str, Any]]:
    """One row per candidate's latest version (or every version), in a stable order."""
    statement = (
        select(StatementVersion, Person)
        .join(Person, col(Person.id) == col(StatementVersion.person_id))
        .order_by(col(Person.country), col(Person.id), col(StatementVersion.version))
    )
    if query.country:
        statement = statement.where(col(Person.country) == query.country.upper())
    if query.since:
        statement = statement.where(col(StatementVersion.submitted_at) >= query.since)
    found = db.exec(statement).all()
    if not query.all_versions:
        latest = {person.id: (version, person) for version, person in found}  # ordered: last wins
        found = [(v, p) for v, p in found if latest[p.id][0].id == v.id]
    return [_row(version, person, query.with_contacts) for version, person in found]


def _row(version: StatementVersion, person: Person, with_contacts: bool) -> dict[str, Any]:
    answers = version.answers
    local = version.submitted_at.astimezone(zone(person.timezone))
    return {
        "candidate_id": person.id,
        "version": version.version,
        "name": answers.get("name", ""),
        "country": person.country or "",
        "region": answers.get("place", ""),
        "language": version.language,
        "phone": (person.phone or "") if with_contacts else mask(person.phone),
        "farm": answers.get("farm", ""),
        "area_ha": version.area_ha,
        "area_original": version.area_original or "",
        "in_group": answers.get(IN_GROUP, ""),
        "role": answers.get("role", ""),
        "challenges": answers.get("challenges", ""),
        "vision": answers.get("vision", ""),
        "why": answers.get("why", ""),
        "statement": version.text,
        "submitted_at_utc": version.submitted_at.isoformat(),
        "submitted_at_local": local.isoformat(),
        "time_zone": person.timezone or "",
        "channel": version.channel,
        "withdrawn": version.withdrawn_at.isoformat() if version.withdrawn_at else "",
    }


def inert(value: Any) -> Any:
    """A text cell a spreadsheet could run as a formula gets a leading apostrophe."""
    if isinstance(value, str) and value.startswith(DANGEROUS_START):
        return "'" + value
    return value


def csv_phone(phone: str) -> str:
    """A phone number as a spreadsheet shows it without help: "+66812345678" would be read as
    a formula (and its guard shown), and bare digits as a number; "66 81 234 5678" stays text."""
    parsed = parse_phone(phone)  # None for a masked number
    if parsed is None:
        return phone.removeprefix("+")
    grouped = phonenumbers.format_number(
        phonenumbers.parse(parsed.e164), PhoneNumberFormat.INTERNATIONAL
    )
    return grouped.removeprefix("+")


def _csv_cell(column: str, value: Any) -> Any:
    if value is None:
        return ""
    if column == "phone":
        return csv_phone(value)
    return value if column in OURS else inert(value)


def to_csv(records: Iterable[dict[str, Any]], tick: Callable[[], None] = lambda: None) -> bytes:
    """UTF-8 with a byte-order mark, so spreadsheets read Thai and Burmese correctly. What
    people typed is made inert; what we write ourselves is safe as it is (no visible guard)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for record in records:
        writer.writerow([_csv_cell(c, record[c]) for c in COLUMNS])
        tick()
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def to_json(records: Iterable[dict[str, Any]], tick: Callable[[], None] = lambda: None) -> bytes:
    listed = []
    for record in records:
        listed.append({c: record[c] for c in COLUMNS})
        tick()
    document = {"fields": list(COLUMNS), "statements": listed}
    return json.dumps(document, ensure_ascii=False, indent=2).encode("utf-8")


def xlsx(records: list[dict[str, Any]], tick: Callable[[], None] = lambda: None) -> bytes:
    return to_xlsx(records, COLUMNS, tick)


FORMATS: dict[str, Callable[..., bytes]] = {"xlsx": xlsx, "csv": to_csv, "json": to_json}


def export(db: Session, query: Query, fmt: str, tick: Callable[[], None] = lambda: None) -> bytes:
    return FORMATS[fmt](rows(db, query), tick)
