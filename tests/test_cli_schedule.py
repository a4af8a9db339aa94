"""`bot schedule ...` as the Secretariat uses it: files that come from spreadsheets."""

from __future__ import annotations

import csv
import re
from datetime import datetime
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlmodel import Session
from typer.testing import CliRunner

from bot.cli import app
from bot.reminders.recipients import recipients
from bot.schedule_template import COLUMNS
from bot.storage.db import make_engine
from bot.storage.models import Event
from tests.test_cli import _bot

GA = "    kind: ga\n    starts: 2027-09-23T12:00:00Z\n    title: {en: General Assembly}\n"


@pytest.fixture
def db(tmp_path: Path) -> Path:
    assert _bot("db", "upgrade", tmp_path=tmp_path).returncode == 0
    return tmp_path


@pytest.mark.parametrize(
    ("written", "shown"),
    [('"th-nl-1\\n"', "'th-nl-1\\n'"), ('"th nl 1"', "'th nl 1'"), ("th.nl.1", "'th.nl.1'")],
)
def test_an_id_is_letters_digits_dashes_and_underscores_only(
    db: Path, written: str, shown: str
) -> None:
    path = db / "schedule.yaml"
    path.write_text(f"events:\n  - id: ga-1\n{GA}  - id: {written}\n{GA}", encoding="utf-8")
    result = _bot("schedule", "import", str(path), tmp_path=db)
    assert result.returncode == 1
    assert f"schedule.yaml: line 6: id: {shown}: only letters, digits, - and _" in result.stderr
    assert "nothing was imported" in result.stderr


def _template(db: Path, name: str) -> Path:
    path = db / name
    result = _bot("schedule", "template", "-o", str(path), tmp_path=db)
    assert result.returncode == 0, result.stderr
    return path


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as file:
        return list(csv.DictReader(file))


def test_the_template_has_every_column_an_example_per_kind_and_imports(db: Path) -> None:
    rows = _rows(_template(db, "schedule.csv"))
    assert list(rows[0]) == list(COLUMNS)
    assert [r["kind"] for r in rows] == ["national", "international", "ga"]
    imported = _bot("schedule", "import", str(db / "schedule.csv"), tmp_path=db)
    assert imported.returncode == 0, imported.stderr
    assert "3 added, 0 updated, 0 unchanged" in imported.stderr
    listed = _bot("schedule", "list", tmp_path=db).stdout
    assert "th-national-1\tnational\tTH\t2027-07-29 07:00" in listed  # 14:00 in Asia/Bangkok
    assert "ga-2027\tga\tall\t2027-09-23 12:00" in listed
    # The same template as a workbook describes the very same events.
    again = _bot("schedule", "import", str(_template(db, "schedule.xlsx")), tmp_path=db)
    assert "0 added, 0 updated, 3 unchanged" in again.stderr


def test_the_import_help_lists_every_column() -> None:
    shown = CliRunner().invoke(app, ["schedule", "import", "--help"], terminal_width=100)
    assert shown.exit_code == 0
    for column in COLUMNS:
        assert re.search(rf"\b{column}\b", shown.output), column
    assert "bot schedule template -o schedule.csv" in shown.output


def test_a_semicolon_separated_file_is_read_and_said_so(db: Path) -> None:
    rows = _rows(_template(db, "template.csv"))
    french = db / "calendrier.csv"
    with french.open("w", encoding="utf-8-sig", newline="") as file:  # as Excel saves it in fr
        writer = csv.DictWriter(file, list(COLUMNS), delimiter=";", lineterminator="\r\n")
        writer.writeheader()
        writer.writerows(rows)
    result = _bot("schedule", "import", str(french), tmp_path=db)
    assert result.returncode == 0, result.stderr
    assert "calendrier.csv: read as separated by semicolons (;)" in result.stderr
    assert "3 added" in result.stderr


def _edited(db: Path, change: dict[str, str], row: int = 0) -> Path:
    rows = _rows(_template(db, "template.csv"))
    rows[row].update(change)
    path = db / "schedule.csv"
    with path.open("w", encoding="utf-8", newline="") as file:
        writer = csv.DictWriter(file, list(COLUMNS))
        writer.writeheader()
        writer.writerows(rows)
    return path


@pytest.mark.parametrize(
    ("change", "row", "problem"),
    [
        ({"id": "th-national-1"}, 2, "line 4: id: 'th-national-1' is also on line 2"),
        ({"starts": "29/07/2027 14:00"}, 0, "line 2: starts: '29/07/2027 14:00': use YYYY-MM-DD"),
        ({"time_zone": "Bangkok"}, 0, "line 2: time_zone: 'Bangkok': a time zone name such as"),
        (
            {"starts": "2027-07-29 14:00", "time_zone": ""},
            0,
            "line 2: starts: a date and time with its time zone",
        ),
        (
            {"starts": "2027-07-29T14:00:00+08:00"},
            0,
            "line 2: starts: its offset is not Asia/Bangkok's at that date",
        ),
    ],
)
def test_a_problem_in_a_spreadsheet_file_is_explained_on_its_line(
    db: Path, change: dict[str, str], row: int, problem: str
) -> None:
    result = _bot("schedule", "import", str(_edited(db, change, row)), tmp_path=db)
    assert result.returncode == 1
    assert f"schedule.csv: {problem}" in result.stderr, result.stderr
    assert "nothing was imported" in result.stderr


def test_a_workbook_saved_by_a_spreadsheet_program_imports(db: Path) -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["id", "kind", "country", "starts", "time_zone", "duration", "title_en"])
    sheet.append(["br-1", "national", "BR", datetime(2027, 7, 27, 14, 0), "America/Sao_Paulo", 90])
    sheet.append([None] * 7)  # an empty row in between
    sheet.append(["ga", "ga", None, datetime(2027, 9, 23, 12, 0), None, 240, "GA"])
    sheet["G2"] = "National call 1"
    path = db / "schedule.xlsx"
    book.save(path)
    result = _bot("schedule", "import", str(path), tmp_path=db)
    assert result.returncode == 1
    assert result.stderr.splitlines()[0] == (
        "schedule.xlsx: row 4: starts: a date and time with its time zone, e.g. "
        "2027-07-28T14:00:00+07:00, or 2027-07-28 14:00 with a time_zone such as Asia/Bangkok"
    )
    sheet["E4"] = "UTC"
    book.save(path)
    result = _bot("schedule", "import", str(path), tmp_path=db)
    assert "2 added" in result.stderr, result.stderr
    listed = _bot("schedule", "list", tmp_path=db).stdout
    assert "br-1\tnational\tBR\t2027-07-27 17:00\t90\tNational call 1" in listed


def _recipients(db: Path, event_id: str) -> int:
    engine = make_engine(f"sqlite:///{db / 'cli.db'}")
    with Session(engine) as session:
        event = session.get(Event, event_id)
        assert event is not None
        count = len(recipients(session, event))
    engine.dispose()
    return count


def test_removing_an_event_asks_first_and_says_who_had_reminders(tmp_path: Path) -> None:
    assert _bot("demo", "load", tmp_path=tmp_path).returncode == 0
    people = _recipients(tmp_path, "th-national-2")
    assert people > 0
    kept = _bot("schedule", "remove", "th-national-2", stdin="n\n", tmp_path=tmp_path)
    assert kept.returncode == 1 and "cancelled: nothing was removed" in kept.stderr
    assert f"{people} people get reminders for it; they will get none." in kept.stderr
    assert "Remove th-national-2? [y/N]" in kept.stdout
    assert "th-national-2" in _bot("schedule", "list", tmp_path=tmp_path).stdout
    removed = _bot("schedule", "remove", "th-national-2", stdin="y\n", tmp_path=tmp_path)
    assert removed.returncode == 0, removed.stderr
    assert f"removed th-national-2; {people} people had reminders for it" in removed.stderr
    assert "th-national-2" not in _bot("schedule", "list", tmp_path=tmp_path).stdout
    quiet = _bot("schedule", "remove", "th-national-3", "--yes", tmp_path=tmp_path)
    assert quiet.returncode == 0 and "Remove th-national-3?" not in quiet.stdout


@pytest.mark.parametrize(
    ("name", "data", "problem"),
    [
        (
            "latin.csv",  # what Excel's plain "CSV" gives on Windows
            "id,kind,starts,time_zone,title_en\nga,ga,2027-09-23 12:00,UTC,Assemblée\n".encode(
                "cp1252"
            ),
            'line 2: not UTF-8 text; save it as "CSV UTF-8" (or as .xlsx)',
        ),
        ("broken.xlsx", b"not a workbook", "row 1: not an .xlsx workbook"),
    ],
)
def test_a_file_that_cannot_be_read_is_explained(
    db: Path, name: str, data: bytes, problem: str
) -> None:
    path = db / name
    path.write_bytes(data)
    result = _bot("schedule", "import", str(path), tmp_path=db)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.splitlines()[0].startswith(f"{name}: {problem}")
