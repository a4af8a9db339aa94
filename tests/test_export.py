"""`bot export statements`: every field round-trips; formulas come out inert; phones masked."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.export import COLUMNS, Query, export, rows
from bot.storage.models import Person, StatementVersion

WHEN = datetime(2027, 8, 20, 7, 30, tzinfo=UTC)
INJECTIONS = [
    '=HYPERLINK("http://evil.example","click")',
    "+1+1",
    "@SUM(1)",
    "-2+3",
    "\tTAB",
    "\rCR",
    "\nLF",
]


def _candidate(
    engine: Engine,
    phone: str,
    country: str,
    zone: str,
    language: str,
    answers: dict[str, str],
    versions: int = 1,
) -> int:
    with Session(engine) as db, db.begin():
        person = Person(phone=phone, language=language, country=country, timezone=zone)
        db.add(person)
        db.flush()
        assert person.id is not None
        for number in range(1, versions + 1):
            db.add(
                StatementVersion(
                    person_id=person.id,
                    version=number,
                    answers={**answers, "why": f"{answers.get('why', '')} (v{number})"},
                    text=f"Statement v{number} of {answers['name']}",
                    language=language,
                    channel="sms",
                    area_ha=0.8,
                    area_original="5 ไร่",
                    submitted_at=WHEN + timedelta(days=number),
                )
            )
        return person.id


@pytest.fixture
def candidates(db_engine: Engine) -> Engine:
    _candidate(
        db_engine,
        "+66812345678",
        "TH",
        "Asia/Bangkok",
        "th",
        {
            "name": "สมชาย สุขใจ",
            "place": "สงขลา",
            "farm": "๑๒ ปี ๕ ไร่",
            "in_group": "yes",
            "role": INJECTIONS[0],
            "challenges": INJECTIONS[1],
            "vision": INJECTIONS[2],
            "why": "ผมนำกลุ่มมา ๕ ปี",
        },
        versions=2,
    )
    _candidate(
        db_engine,
        "+959421234567",
        "MM",
        "Asia/Yangon",
        "my",
        {
            "name": "ဒေါ်ခင်မြင့်",
            "place": "မွန်ပြည်နယ်",
            "farm": "၁၀ နှစ်၊ ၂ ဧက",
            "in_group": "no",
            "challenges": INJECTIONS[3],
            "vision": INJECTIONS[4],
            "why": INJECTIONS[5] + INJECTIONS[6],
        },
    )
    return db_engine


def _rows(engine: Engine, **query: object) -> list[dict[str, object]]:
    with Session(engine) as db:
        return rows(db, Query(**query))  # type: ignore[arg-type]


def _export(engine: Engine, fmt: str, **query: object) -> bytes:
    with Session(engine) as db:
        return export(db, Query(**query), fmt)  # type: ignore[arg-type]


def test_one_row_per_candidate_latest_version_unless_all_are_asked_for(candidates: Engine) -> None:
    latest = _rows(candidates)
    assert [(r["country"], r["version"]) for r in latest] == [("MM", 1), ("TH", 2)]
    every = _rows(candidates, all_versions=True)
    assert [(r["country"], r["version"]) for r in every] == [("MM", 1), ("TH", 1), ("TH", 2)]
    assert [r["country"] for r in _rows(candidates, country="th")] == ["TH"]
    assert [
        r["version"] for r in _rows(candidates, since=WHEN + timedelta(days=2), all_versions=True)
    ] == [2]


def test_csv_round_trips_every_field_with_a_bom_and_inert_formulas(candidates: Engine) -> None:
    data = _export(candidates, "csv")
    assert data.startswith("\ufeff".encode())
    read = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    assert list(read[0]) == list(COLUMNS)
    thai = next(r for r in read if r["country"] == "TH")
    assert thai["name"] == "สมชาย สุขใจ" and thai["farm"] == "๑๒ ปี ๕ ไร่"
    assert thai["area_ha"] == "0.8" and thai["area_original"] == "5 ไร่"
    assert thai["region"] == "สงขลา" and thai["in_group"] == "yes" and thai["channel"] == "sms"
    assert thai["statement"] == "Statement v2 of สมชาย สุขใจ" and thai["version"] == "2"
    assert thai["submitted_at_utc"] == "2027-08-22T07:30:00+00:00"
    assert thai["submitted_at_local"] == "2027-08-22T14:30:00+07:00"
    assert thai["role"] == "'" + INJECTIONS[0]
    assert thai["challenges"] == "'+1+1" and thai["vision"] == "'@SUM(1)"
    burmese = next(r for r in read if r["country"] == "MM")
    assert burmese["name"] == "ဒေါ်ခင်မြင့်" and burmese["submitted_at_local"].endswith("+06:30")
    assert burmese["challenges"] == "'-2+3" and burmese["vision"] == "'\tTAB"
    assert burmese["why"].startswith("'\rCR")


def test_phones_are_masked_unless_asked_for(candidates: Engine) -> None:
    masked = {r["phone"] for r in _rows(candidates)}
    assert "+66812345678" not in masked and all("•" in str(p) for p in masked)
    full = {r["phone"] for r in _rows(candidates, with_contacts=True)}
    assert full == {"+66812345678", "+959421234567"}


def test_xlsx_has_a_sheet_per_country_text_cells_and_no_formula(
    candidates: Engine, tmp_path: Path
) -> None:
    book = load_workbook(io.BytesIO(_export(candidates, "xlsx")))
    assert book.sheetnames == ["Statements", "All", "MM", "TH"]
    every = book["All"]
    assert every.freeze_panes == "A2"
    header = [c.value for c in every[1]]
    assert header == list(COLUMNS)
    values = {c.value for row in every.iter_rows(min_row=2) for c in row}
    for text in INJECTIONS[:5]:
        assert text in values  # unchanged text...
    formulas = [
        c.coordinate
        for sheet in book
        for row in sheet.iter_rows()
        for c in row
        if c.data_type == "f"
    ]
    assert formulas == []  # ...and never a formula
    thai = book["TH"]
    record = dict(zip(header, [c.value for c in thai[2]], strict=True))
    assert record["name"] == "สมชาย สุขใจ" and record["area_ha"] == 0.8
    assert record["submitted_at_local"] == datetime(2027, 8, 22, 14, 30)  # a real date and time
    assert record["submitted_at_utc"] == datetime(2027, 8, 22, 7, 30)
    assert record["time_zone"] == "Asia/Bangkok"
    assert thai.column_dimensions["P"].width <= 70 and thai["P2"].alignment.wrap_text


def test_json_has_stable_field_names(candidates: Engine) -> None:
    document = json.loads(_export(candidates, "json"))
    assert document["fields"] == list(COLUMNS)
    assert [list(s) for s in document["statements"]] == [list(COLUMNS)] * 2
    assert document["statements"][1]["farm"] == "๑๒ ปี ๕ ไร่"


@pytest.mark.parametrize("fmt", ["csv", "json", "xlsx"])
def test_exports_are_deterministic(candidates: Engine, fmt: str) -> None:
    assert _export(candidates, fmt) == _export(candidates, fmt)
