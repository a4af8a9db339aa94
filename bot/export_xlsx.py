"""The statements workbook: a "Statements" sheet to read and print, then the data sheets.

Every sheet prints landscape on A4, one page wide, with its header row on every page. Rows are
as tall as their wrapped text (spreadsheet programs do not measure wrapped text when opening a
file). Times are real date-time cells: the candidate's local time and UTC. Every text cell is
stored as text, so a statement starting with "=" is never evaluated.
"""

from __future__ import annotations

import io
import math
import re
import unicodedata
import zipfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from openpyxl import Workbook
from openpyxl.cell.cell import Cell
from openpyxl.styles import Alignment, Font
from openpyxl.worksheet.worksheet import Worksheet

MOMENT_FORMAT = "yyyy-mm-dd hh:mm"
POINTS_PER_LINE = 15.0  # Calibri 11, the default font, with its line spacing
MAX_ROW_POINTS = 409.0  # the tallest row a spreadsheet allows
HEADER = Font(bold=True)
TOP = Alignment(vertical="top")
WRAP = Alignment(wrap_text=True, vertical="top")
PRINT_SHEET = "Statements"
BURMESE = re.compile("[\u1000-\u109f]")
THAI = re.compile("[\u0e00-\u0e7f]")


@dataclass(frozen=True)
class Column:
    key: str  # the record's field
    width: int  # in characters
    kind: str = "text"  # text, wrap (long text), number, moment (a date and time)
    title: str = ""  # the header; the key when empty


# What a reader needs, in a sheet that prints one page wide at a readable size.
PRINTED = (
    Column("name", 24, "wrap", "Candidate"),
    Column("country", 8, title="Country"),
    Column("region", 18, "wrap", "Region"),
    Column("version", 8, "number", "Version"),
    Column("submitted_at_local", 17, "moment", "Sent (their time)"),
    Column("statement", 80, "wrap", "Statement"),
)


def data_columns(keys: Sequence[str]) -> tuple[Column, ...]:
    """Every field, for sorting and filtering; long answers wrapped in wide columns."""
    wide = {"role": 30, "challenges": 36, "vision": 36, "why": 36, "statement": 70}
    kinds = {
        "candidate_id": "number",
        "version": "number",
        "area_ha": "number",
        "submitted_at_utc": "moment",
        "submitted_at_local": "moment",
        "withdrawn": "moment",
    }
    columns = []
    for key in keys:
        kind = "wrap" if key in wide else kinds.get(key, "text")
        width = wide.get(key) or (17 if kind == "moment" else max(len(key) + 2, 10))
        columns.append(Column(key, width, kind))
    return tuple(columns)


def to_xlsx(
    records: list[dict[str, Any]], keys: Sequence[str], tick: Callable[[], None] = lambda: None
) -> bytes:
    """The "Statements" sheet, an "All" sheet and one per country."""
    book = Workbook()
    printed = book.active
    assert printed is not None
    printed.title = PRINT_SHEET
    _fill(printed, PRINTED, records)
    columns = data_columns(keys)
    _fill(book.create_sheet("All"), columns, records, tick)
    for country in sorted({r["country"] or "none" for r in records}):
        mine = [r for r in records if (r["country"] or "none") == country]
        _fill(book.create_sheet(country), columns, mine)
    moment = max((r["submitted_at_utc"] for r in records), default="2000-01-01T00:00:00+00:00")
    stamp = datetime.fromisoformat(moment).replace(tzinfo=None)
    book.properties.created = book.properties.modified = stamp
    buffer = io.BytesIO()
    book.save(buffer)
    return _without_clock(buffer.getvalue())


def _fill(
    sheet: Worksheet,
    columns: Sequence[Column],
    records: Iterable[dict[str, Any]],
    tick: Callable[[], None] = lambda: None,
) -> None:
    sheet.append([c.title or c.key for c in columns])
    for cell in sheet[1]:
        cell.font, cell.alignment = HEADER, WRAP
    for record in records:
        sheet.append([_cell(sheet, column, record[column.key]) for column in columns])
        tick()
    for index, column in enumerate(columns, 1):
        letter = sheet.cell(row=1, column=index).column_letter
        sheet.column_dimensions[letter].width = column.width
    for row in sheet.iter_rows():
        lines = max(_lines(cell.value, columns[cell.column - 1]) for cell in row)
        sheet.row_dimensions[row[0].row].height = _points(lines, row)
    _page(sheet)


def _cell(sheet: Worksheet, column: Column, value: Any) -> Any:
    if column.kind == "moment":
        cell = Cell(sheet, value=_moment(value))
        cell.number_format = MOMENT_FORMAT
    elif isinstance(value, str):
        cell = Cell(sheet, value=None)
        cell.value = value  # openpyxl would read "=..." as a formula: set the type explicitly
        cell.data_type = "s"
    else:
        cell = Cell(sheet, value=value)
    cell.alignment = WRAP if column.kind == "wrap" else TOP
    return cell


def _moment(value: Any) -> datetime | None:
    """A spreadsheet cell has no time zone: the time as read where it was given."""
    if not value:
        return None
    return datetime.fromisoformat(value).replace(tzinfo=None)


def _lines(value: Any, column: Column) -> int:
    """How many lines a value takes in its column once wrapped (a little generous: the width
    is counted in "0"s, and ordinary text is about a tenth narrower)."""
    if value is None or column.kind in ("number", "moment"):
        return 1
    room = max(column.width * 1.1 - 2, 1)
    return sum(max(math.ceil(_width(part) / room), 1) for part in str(value).split("\n"))


def _width(text: str) -> float:
    """Text width in characters of the default font; marks that sit on a letter take none,
    wide (East Asian) characters two, Burmese letters about one and a half."""
    width = 0.0
    for char in text:
        if unicodedata.category(char) == "Mn":
            continue
        if unicodedata.east_asian_width(char) in ("W", "F"):
            width += 2
        elif "\u1000" <= char <= "\u109f":
            width += 1.5
        else:
            width += 1
    return width


def _points(lines: int, row: Sequence[Any]) -> float:
    """Burmese and Thai stack marks above and below the letters: their lines are taller."""
    texts = " ".join(str(c.value) for c in row if isinstance(c.value, str))
    tall = 1.6 if BURMESE.search(texts) else 1.2 if THAI.search(texts) else 1.0
    return min(lines * POINTS_PER_LINE * tall + 3, MAX_ROW_POINTS)


def _page(sheet: Worksheet) -> None:
    """Landscape A4, one page wide (as many pages down as needed), header row on each page."""
    sheet.freeze_panes = "A2"
    sheet.print_title_rows = "1:1"
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.page_margins.left = sheet.page_margins.right = 0.4
    sheet.page_margins.top = sheet.page_margins.bottom = 0.6
    sheet.print_options.gridLines = True
    sheet.oddFooter.center.text = "&A, page &P of &N"


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
