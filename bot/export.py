"""`bot export statements`: candidate statements for the Secretariat, as CSV, XLSX or JSON.

Read-only and deterministic: the same database gives the same bytes. Phone numbers are masked
unless asked for. Spreadsheet formula injection is made inert: in CSV a cell that starts with
= + - @ or a tab, carriage return or line feed gets a leading apostrophe (OWASP); in XLSX every
text cell is stored explicitly as text, so nothing is ever evaluated.
"""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from openpyxl import Workbook
from openpyxl.cell.cell import Cell
from openpyxl.styles import Alignment, Font
from sqlmodel import Session, col, select

from bot.engine.statement import IN_GROUP
from bot.i18n.formatting import zone
from bot.phones import mask
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
    "channel",
    "withdrawn",
)
DANGEROUS_START = ("=", "+", "-", "@", "\t", "\r", "\n")
MAX_WIDTH = 60


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
        "channel": version.channel,
        "withdrawn": version.withdrawn_at.isoformat() if version.withdrawn_at else "",
    }


def inert(value: Any) -> Any:
    """A text cell a spreadsheet could run as a formula gets a leading apostrophe."""
    if isinstance(value, str) and value.startswith(DANGEROUS_START):
        return "'" + value
    return value


def to_csv(records: Iterable[dict[str, Any]], tick: Callable[[], None] = lambda: None) -> bytes:
    """UTF-8 with a byte-order mark, so spreadsheets read Thai and Burmese correctly."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for record in records:
        writer.writerow([inert("" if record[c] is None else record[c]) for c in COLUMNS])
        tick()
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def to_json(records: Iterable[dict[str, Any]], tick: Callable[[], None] = lambda: None) -> bytes:
    listed = []
    for record in records:
        listed.append({c: record[c] for c in COLUMNS})
        tick()
    document = {"fields": list(COLUMNS), "statements": listed}
    return json.dumps(document, ensure_ascii=False, indent=2).encode("utf-8")


def to_xlsx(records: list[dict[str, Any]], tick: Callable[[], None] = lambda: None) -> bytes:
    """An "All" sheet and one per country; header frozen, columns sized, text wrapped."""
    book = Workbook()
    everyone = book.active
    assert everyone is not None
    everyone.title = "All"
    sheets = {"All": everyone}
    for country in sorted({r["country"] or "none" for r in records}):
        sheets[country] = book.create_sheet(country)
    for sheet in sheets.values():
        _header(sheet)
    for record in records:
        for sheet in (everyone, sheets[record["country"] or "none"]):
            sheet.append([_cell(sheet, record[c]) for c in COLUMNS])
        tick()
    for sheet in sheets.values():
        _finish(sheet)
    moment = max((r["submitted_at_utc"] for r in records), default="2000-01-01T00:00:00+00:00")
    book.properties.created = book.properties.modified = datetime.fromisoformat(moment).replace(
        tzinfo=None
    )
    buffer = io.BytesIO()
    book.save(buffer)
    return _without_clock(buffer.getvalue())


MODIFIED = re.compile(rb"(<dcterms:modified[^>]*>)[^<]*(</dcterms:modified>)")
CREATED = re.compile(rb"<dcterms:created[^>]*>([^<]*)</dcterms:created>")


def _without_clock(xlsx: bytes) -> bytes:
    """openpyxl stamps the zip entries and the "modified" property with the moment of
    saving: the same data would give different files a second apart. Entries get one fixed
    time, and "modified" the "created" we set (the latest statement's time)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(xlsx)) as source, zipfile.ZipFile(out, "w") as target:
        for entry in source.infolist():
            data = source.read(entry.filename)
            if entry.filename == "docProps/core.xml":
                created = CREATED.search(data)
                if created:
                    data = MODIFIED.sub(rb"\g<1>" + created.group(1) + rb"\g<2>", data)
            fixed = zipfile.ZipInfo(entry.filename, date_time=(1980, 1, 1, 0, 0, 0))
            fixed.compress_type = entry.compress_type
            fixed.external_attr = entry.external_attr
            target.writestr(fixed, data)
    return out.getvalue()


def _header(sheet: Any) -> None:
    sheet.append(list(COLUMNS))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    sheet.freeze_panes = "A2"


def _cell(sheet: Any, value: Any) -> Any:
    if not isinstance(value, str):
        return value
    cell = Cell(sheet, value=None)
    cell.value = value  # openpyxl would read "=..." as a formula: set the type explicitly
    cell.data_type = "s"
    return cell


def _finish(sheet: Any) -> None:
    wrap = Alignment(wrap_text=True, vertical="top")
    for column in sheet.columns:
        cells = list(column)
        longest = max((len(str(c.value or "")) for c in cells), default=0)
        sheet.column_dimensions[cells[0].column_letter].width = min(max(longest, 8) + 2, MAX_WIDTH)
        for cell in cells[1:]:
            cell.alignment = wrap


FORMATS: dict[str, Callable[..., bytes]] = {"xlsx": to_xlsx, "csv": to_csv, "json": to_json}


def export(db: Session, query: Query, fmt: str, tick: Callable[[], None] = lambda: None) -> bytes:
    return FORMATS[fmt](rows(db, query), tick)
