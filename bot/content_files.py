"""Reading the Secretariat's files (YAML, CSV, XLSX): one record per entry or row, with the
line (or spreadsheet row) it starts on, so every problem can say where it is.

CSV files come from spreadsheets: Excel with French or Portuguese settings separates columns
with semicolons, which we detect (and say); columns `title_en`, `title_th`... become one text
per language; `dial_in` cells read `TH:+66 2 555 0100|+66 2 555 0101;VN:+84 ...`.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zipfile import BadZipFile

import yaml
from openpyxl import load_workbook
from openpyxl.utils.exceptions import InvalidFileException

from bot.i18n.catalogs import LANGUAGES

PER_LANGUAGE = ("title", "agenda", "summary", "detail")
SEMICOLONS = (
    "read as separated by semicolons (;), as Excel saves CSV with French or Portuguese settings"
)


class InvalidFile(ValueError):
    """The file has problems; `problems` lists each with its line. Nothing was written."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass
class Record:
    line: int
    values: dict[str, Any]
    unit: str = "line"  # "row" in a spreadsheet

    @property
    def where(self) -> str:
        return f"{self.unit} {self.line}"


@dataclass
class Contents:
    records: list[Record]
    notes: list[str] = field(default_factory=list)  # how the file was read, for the operator


def read_records(path: Path, section: str) -> Contents:
    """Rows of a YAML list under `section`, of a CSV file or of a workbook's first sheet."""
    suffix = path.suffix.lower()
    if suffix == ".xlsx":
        return Contents(list(_xlsx_records(path)))
    text = _utf8(path.read_bytes())
    if suffix == ".csv":
        return _csv_contents(text)
    return Contents(list(_yaml_records(text, section, path.name)))


def _utf8(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise InvalidFile(
            [f'line {line}: not UTF-8 text; save it as "CSV UTF-8" (or as .xlsx) and try again']
        ) from None


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


def _csv_contents(text: str) -> Contents:
    header = text.split("\n", 1)[0]
    try:
        delimiter = csv.Sniffer().sniff(header, delimiters=",;\t").delimiter
    except csv.Error:  # a single column: nothing to tell apart
        delimiter = ","
    notes = [SEMICOLONS] if delimiter == ";" else []
    reader = csv.DictReader(io.StringIO(text), delimiter=delimiter)
    records, ended = [], 1  # the header's line
    for row in reader:
        # A quoted cell may hold line breaks: a row starts on the line after the last one ended.
        records.append(Record(ended + 1, _nest_languages(row)))
        ended = reader.line_num
    return Contents(records, notes)


def _xlsx_records(path: Path) -> Iterator[Record]:
    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, BadZipFile, KeyError):
        raise InvalidFile(["row 1: not an .xlsx workbook; save it again as .xlsx"]) from None
    try:
        rows = book.worksheets[0].iter_rows(values_only=True)
        header = [str(cell).strip() if cell is not None else "" for cell in next(rows, ())]
        for number, cells in enumerate(rows, start=2):
            if all(cell is None or str(cell).strip() == "" for cell in cells):
                continue
            row: dict[str | None, Any] = {
                name: _text(cell) for name, cell in zip(header, cells, strict=False) if name
            }
            yield Record(number, _nest_languages(row), unit="row")
    finally:
        book.close()


def _text(cell: Any) -> Any:
    """A spreadsheet cell as the CSV text it stands for; dates and times stay as they are."""
    if cell is None or isinstance(cell, datetime):
        return cell
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))
    return str(cell)


def _nest_languages(row: Mapping[str | None, Any]) -> dict[str, Any]:
    """Columns `title_en`, `title_th`... become {"title": {"en": ..., "th": ...}}."""
    values: dict[str, Any] = {}
    for column, cell in row.items():
        if column is None:
            continue
        column = column.strip()
        cell = cell.strip() if isinstance(cell, str) else cell
        base, _, language = column.partition("_")
        if language in LANGUAGES and base in PER_LANGUAGE:
            if cell:
                values.setdefault(base, {})[language] = cell
        elif column == "dial_in":
            values[column] = _dial_in_cell(cell or "")
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
