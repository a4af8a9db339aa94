"""`bot reminders send-due` as an operator runs it after downtime."""

from __future__ import annotations

from pathlib import Path

from bot.storage.db import make_engine
from tests.storage.test_reminders import add_event, add_person
from tests.test_cli import _bot


def test_someone_queued_by_an_earlier_run_is_not_reported_as_skipped(tmp_path: Path) -> None:
    assert _bot("db", "upgrade", tmp_path=tmp_path).returncode == 0
    engine = make_engine(f"sqlite:///{tmp_path / 'cli.db'}")
    add_event(engine)  # 2027-08-05 12:00 UTC
    add_person(engine, "jayapura")  # the day-before reminder moves to 20:59 there (11:59 UTC)
    add_person(engine, "jakarta")
    engine.dispose()
    first = _bot("reminders", "send-due", "--now", "2027-08-04T02:00:00Z", tmp_path=tmp_path)
    assert "reminder:intl-1:1440: 2 queued, 0 already queued, 0 too late" in first.stderr
    # 12:30 UTC: Jayapura's 11:59 slot is past the grace, but that reminder is already queued.
    later = _bot("reminders", "send-due", "--now", "2027-08-04T12:30:00Z", tmp_path=tmp_path)
    assert later.returncode == 0, later.stderr
    assert "reminder:intl-1:1440: 0 queued, 2 already queued, 0 too late" in later.stderr
    assert "skipped" not in later.stderr


def test_someone_whose_moment_passed_before_any_run_is_reported(tmp_path: Path) -> None:
    assert _bot("db", "upgrade", tmp_path=tmp_path).returncode == 0
    engine = make_engine(f"sqlite:///{tmp_path / 'cli.db'}")
    add_event(engine)
    add_person(engine, "jayapura")
    engine.dispose()
    late = _bot("reminders", "send-due", "--now", "2027-08-04T12:30:00Z", tmp_path=tmp_path)
    assert "reminder:intl-1:1440: 0 queued, 0 already queued, 1 too late" in late.stderr
    assert "1 people skipped, too late for them" in late.stderr
