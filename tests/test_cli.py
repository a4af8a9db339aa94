"""The `bot` command as a deployer and a developer use it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlmodel import Session, select

from bot.demo import DEMO_PEOPLE
from bot.storage.db import make_engine
from bot.storage.models import Person


def _bot(*args: str, stdin: str = "", tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}"}
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def test_the_console_phone_can_be_scripted(tmp_path: Path) -> None:
    result = _bot("chat", "--phone", "+233241234567", stdin="hello\n1\n1\n", tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    replies = result.stdout.split("\n\n")
    assert replies[0].startswith("Hello! I help rubber smallholders")
    assert "Is this right?" in replies[1]
    assert "Here is the menu." in replies[2]


def test_the_console_phone_draws_telegram_buttons(tmp_path: Path) -> None:
    result = _bot(
        "chat", "--phone", "+66812345678", "--channel", "telegram", stdin="hi\n", tmp_path=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert "[ ได้ ยินยอม ]" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("chat", "--phone", "12345"), "not a valid international number"),
        (("chat", "--channel", "fax"), "choose one of sms, whatsapp, telegram"),
    ],
)
def test_bad_options_are_explained(tmp_path: Path, args: tuple[str, ...], message: str) -> None:
    result = _bot(*args, tmp_path=tmp_path)
    assert result.returncode != 0
    assert message in " ".join(result.stderr.split())


def test_db_upgrade_then_demo_load_is_idempotent(tmp_path: Path) -> None:
    assert _bot("db", "upgrade", tmp_path=tmp_path).returncode == 0
    first = _bot("demo", "load", tmp_path=tmp_path)
    second = _bot("demo", "load", tmp_path=tmp_path)
    assert f"{len(DEMO_PEOPLE)} people added" in first.stderr
    assert "0 people added" in second.stderr
    engine = make_engine(f"sqlite:///{tmp_path / 'cli.db'}")
    with Session(engine) as db:
        people = db.exec(select(Person)).all()
    engine.dispose()
    assert len(people) == len(DEMO_PEOPLE)
    assert {p.country for p in people} == {"BR", "CI", "GH", "ID", "MM", "TH", "VN"}


def test_i18n_check_passes(tmp_path: Path) -> None:
    result = _bot("i18n", "check", tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr


def test_schedule_import_list_and_remove(tmp_path: Path) -> None:
    from bot.demo import SAMPLES

    assert _bot("db", "upgrade", tmp_path=tmp_path).returncode == 0
    imported = _bot("schedule", "import", str(SAMPLES / "schedule.yaml"), tmp_path=tmp_path)
    assert imported.returncode == 0 and "25 added, 0 updated, 0 unchanged" in imported.stderr
    again = _bot("schedule", "import", str(SAMPLES / "schedule.yaml"), tmp_path=tmp_path)
    assert "0 added, 0 updated, 25 unchanged" in again.stderr
    listed = _bot("schedule", "list", "--country", "TH", tmp_path=tmp_path)
    assert listed.returncode == 0
    assert "th-national-1" in listed.stdout and "vn-national-1" not in listed.stdout
    assert "general-assembly-2027" in listed.stdout
    assert _bot("schedule", "remove", "th-national-1", "--yes", tmp_path=tmp_path).returncode == 0
    gone = _bot("schedule", "remove", "th-national-1", tmp_path=tmp_path)
    assert gone.returncode == 1 and "no event 'th-national-1'" in gone.stderr


def test_a_bad_schedule_file_is_explained_line_by_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("events:\n  - id: x\n    kind: party\n    starts: soon\n    title: {en: X}\n")
    assert _bot("db", "upgrade", tmp_path=tmp_path).returncode == 0
    result = _bot("schedule", "import", str(bad), tmp_path=tmp_path)
    assert result.returncode == 1
    assert "bad.yaml: line 2: kind: one of national, international, ga" in result.stderr
    assert "bad.yaml: line 2: starts: a date and time with its time zone" in result.stderr
    assert "nothing was imported" in result.stderr


def test_export_statements_writes_the_file(tmp_path: Path) -> None:
    assert _bot("db", "upgrade", tmp_path=tmp_path).returncode == 0
    output = tmp_path / "out.csv"
    result = _bot("export", "statements", "--format", "csv", "-o", str(output), tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "0 statements written" in result.stderr
    assert output.read_bytes().startswith("\ufeffcandidate_id,version,name".encode())
    bad = _bot("export", "statements", "--format", "pdf", "-o", str(output), tmp_path=tmp_path)
    assert bad.returncode != 0 and "xlsx, csv or json" in bad.stderr
