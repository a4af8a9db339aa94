"""`bot schedule import` / `bot resolutions import`: validated, line-numbered, idempotent."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.content_import import InvalidFile, import_resolutions, import_schedule
from bot.demo import SAMPLES
from bot.storage.models import Event, Resolution
from tests.conftest import FIXED_NOW

GOOD = """\
events:
  - id: th-national-1
    kind: national
    country: TH
    starts: 2027-07-29T14:00:00+07:00
    duration: 90
    join_url: https://meet.example.org/th-1
    meeting_id: "811 5520 127"
    passcode: "202727"
    dial_in: {TH: ["+66 2 555 0101"]}
    title: {en: National call 1, th: ประชุมระดับชาติ 1}
    agenda: {en: The video call tool}
  - id: ga
    kind: ga
    starts: 2027-09-23T12:00:00Z
    title: {en: General Assembly}
"""


def _write(tmp_path: Path, text: str, name: str = "schedule.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def _import(engine: Engine, path: Path) -> tuple[list[str], list[str], list[str]]:
    with Session(engine) as db, db.begin():
        outcome = import_schedule(db, path, FIXED_NOW)
    return outcome.created, outcome.updated, outcome.unchanged


def test_an_import_creates_then_changes_nothing_then_updates(
    db_engine: Engine, tmp_path: Path
) -> None:
    path = _write(tmp_path, GOOD)
    assert _import(db_engine, path) == (["th-national-1", "ga"], [], [])
    assert _import(db_engine, path) == ([], [], ["th-national-1", "ga"])
    _write(tmp_path, GOOD.replace("duration: 90", "duration: 120"))
    assert _import(db_engine, path) == ([], ["th-national-1"], ["ga"])
    with Session(db_engine) as db:
        events = db.exec(select(Event).order_by(Event.starts_at)).all()
    assert [e.id for e in events] == ["th-national-1", "ga"]
    national = events[0]
    assert national.starts_at.isoformat() == "2027-07-29T07:00:00+00:00"  # stored in UTC
    assert (national.duration_minutes, national.country) == (120, "TH")
    assert national.dial_in == {"TH": ["+66 2 555 0101"]}
    assert national.title["th"] == "ประชุมระดับชาติ 1"
    assert events[1].country is None and events[1].duration_minutes == 90


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (("kind: national", "kind: webinar"), "line 2: kind: one of national, international, ga"),
        (
            ("starts: 2027-07-29T14:00:00+07:00", "starts: 2027-07-29T14:00:00"),
            "line 2: starts: a date and time with its time zone",
        ),
        (("country: TH", "country: FR"), "line 2: country: a national call needs one of"),
        (
            ("    kind: ga", "    kind: ga\n    country: TH"),
            "line 13: country: international calls and the GA are for all countries",
        ),
        (
            ('{TH: ["+66 2 555 0101"]}', '{TH: ["0 2 555 0101"]}'),
            "line 2: dial_in: TH: numbers in international form",
        ),
        (
            ("title: {en: General Assembly}", "title: {th: ประชุมใหญ่}"),
            "line 13: title: an English (en) text is required",
        ),
        (
            ("title: {en: General Assembly}", "title: {en: GA, de: HV}"),
            "line 13: title: unknown languages ['de']",
        ),
        (
            ("join_url: https://meet.example.org/th-1", "join_url: meet.example.org"),
            "line 2: join_url: a web address",
        ),
        (("duration: 90", "duration: ninety"), "line 2: duration: a whole number from 10 to 600"),
        (("  - id: ga", "  - id: th-national-1"), "line 13: id: 'th-national-1' is also on line 2"),
        (("    passcode:", "    pascode:"), "line 2: pascode: unknown field"),
    ],
)
def test_each_problem_is_reported_with_its_line_and_nothing_is_written(
    db_engine: Engine, tmp_path: Path, change: tuple[str, str], expected: str
) -> None:
    path = _write(tmp_path, GOOD.replace(*change))
    with pytest.raises(InvalidFile) as raised:
        _import(db_engine, path)
    assert any(p.startswith(expected) for p in raised.value.problems), raised.value.problems
    with Session(db_engine) as db:
        assert db.exec(select(Event)).all() == []


def test_broken_yaml_says_where(tmp_path: Path, sqlite_engine: Engine) -> None:
    path = _write(tmp_path, "events:\n  - id: x\n    title: {en: a: b}\n")
    with pytest.raises(InvalidFile, match="line 3: not valid YAML"):
        _import(sqlite_engine, path)


def test_csv_rows_are_read_with_their_line_numbers(db_engine: Engine, tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "id,kind,country,starts,duration,join_url,dial_in,title_en,title_th,agenda_en\n"
        "vn-national-1,national,VN,2027-07-30T14:00:00+07:00,90,https://meet.example.org/vn,"
        "VN:+84 24 5555 0101|+84 24 5555 0102,National call 1,,Tutorial\n"
        "bad,national,VN,tomorrow,90,,,Call,,\n",
        "schedule.csv",
    )
    with pytest.raises(InvalidFile) as raised:
        _import(db_engine, path)
    assert raised.value.problems == [
        "line 3: starts: a date and time with its time zone, e.g. 2027-07-28T14:00:00+07:00, "
        "or 2027-07-28 14:00 with a time_zone such as Asia/Bangkok"
    ]
    _write(
        tmp_path,
        path.read_text(encoding="utf-8").splitlines()[0]
        + "\n"
        + path.read_text(encoding="utf-8").splitlines()[1]
        + "\n",
        "schedule.csv",
    )
    assert _import(db_engine, path)[0] == ["vn-national-1"]
    with Session(db_engine) as db:
        event = db.exec(select(Event)).one()
    assert event.dial_in == {"VN": ["+84 24 5555 0101", "+84 24 5555 0102"]}
    assert event.title == {"en": "National call 1"} and event.agenda == {"en": "Tutorial"}


def test_the_shipped_samples_import_cleanly(db_engine: Engine) -> None:
    with Session(db_engine) as db, db.begin():
        events = import_schedule(db, SAMPLES / "schedule.yaml", FIXED_NOW)
        resolutions = import_resolutions(db, SAMPLES / "resolutions.yaml", FIXED_NOW)
    assert len(events.created) == 7 * 3 + 3 + 1  # 3 national calls per country, 3 international, GA
    assert len(resolutions.created) == 4
    with Session(db_engine) as db:
        kinds = [e.kind for e in db.exec(select(Event)).all()]
        assert kinds.count("national") == 21 and kinds.count("international") == 3
        assert db.exec(select(Resolution).where(Resolution.id == "toolbox")).one().position == 1
