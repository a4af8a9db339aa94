"""Quiet hours, in the recipient's own time."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest

from bot.reminders.timing import QuietHours, delivery_time, job_lead

QUIET = QuietHours.parse("21:00", "07:00")


@pytest.mark.parametrize(
    ("moment", "quiet"),
    [
        ("20:59", False),
        ("21:00", True),
        ("23:30", True),
        ("00:00", True),
        ("06:59", True),
        ("07:00", False),
        ("12:00", False),
    ],
)
def test_quiet_hours_wrap_over_midnight(moment: str, quiet: bool) -> None:
    assert QUIET.contains(time.fromisoformat(moment)) is quiet


def test_a_reminder_due_in_the_night_moves_to_the_evening_before() -> None:
    # A call at 07:30 in Bangkok; its 1-hour reminder would be at 06:30 local.
    nominal = datetime(2027, 7, 29, 0, 30, tzinfo=UTC) - timedelta(hours=1)
    moved = delivery_time(nominal, "Asia/Bangkok", QUIET)
    assert moved == datetime(2027, 7, 28, 13, 59, tzinfo=UTC)  # 20:59 the evening before


def test_a_reminder_due_late_in_the_evening_moves_to_before_21() -> None:
    nominal = datetime(2027, 7, 28, 15, 30, tzinfo=UTC)  # 22:30 in Bangkok
    assert delivery_time(nominal, "Asia/Bangkok", QUIET) == datetime(
        2027, 7, 28, 13, 59, tzinfo=UTC
    )


def test_yangon_half_hour_offset() -> None:
    nominal = datetime(2027, 7, 28, 14, 45, tzinfo=UTC)  # 21:15 in Yangon (+06:30)
    assert delivery_time(nominal, "Asia/Yangon", QUIET) == datetime(2027, 7, 28, 14, 29, tzinfo=UTC)


def test_daytime_reminders_are_not_moved() -> None:
    nominal = datetime(2027, 7, 28, 7, 0, tzinfo=UTC)  # 14:00 in Jakarta
    assert delivery_time(nominal, "Asia/Jakarta", QUIET) == nominal


def test_no_quiet_hours_when_start_equals_end() -> None:
    never = QuietHours.parse("00:00", "00:00")
    nominal = datetime(2027, 7, 28, 20, 0, tzinfo=UTC)
    assert delivery_time(nominal, "Asia/Bangkok", never) == nominal


def test_jobs_run_early_enough_for_the_longest_shift() -> None:
    assert job_lead(QUIET) == timedelta(hours=11)
