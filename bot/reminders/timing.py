"""When a reminder reaches each person: never in their quiet hours, never after the call starts.

A reminder due in someone's quiet hours (by default 21:00 to 07:00 their time) moves to the last
acceptable moment before: the minute before their quiet hours began. If that moment has
already passed, they get no reminder for that offset rather than one at night.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

# The last acceptable moment is a minute before quiet hours start: the dispatcher needs a
# little time, and "20:59" never reads as "night".
QUIET_MARGIN = timedelta(minutes=1)


@dataclass(frozen=True)
class QuietHours:
    start: time  # local time when quiet begins (21:00)
    end: time  # local time when it ends (07:00); may be on the next day

    @classmethod
    def parse(cls, start: str, end: str) -> QuietHours:
        return cls(time.fromisoformat(start), time.fromisoformat(end))

    @property
    def length(self) -> timedelta:
        day = datetime(2000, 1, 1)
        span = datetime.combine(day, self.end) - datetime.combine(day, self.start)
        return span if span >= timedelta(0) else span + timedelta(days=1)

    def contains(self, moment: time) -> bool:
        if self.start == self.end:
            return False  # no quiet hours
        if self.start < self.end:
            return self.start <= moment < self.end
        return moment >= self.start or moment < self.end

    def last_moment_before(self, local: datetime) -> datetime:
        """The latest moment not after `local` that is outside quiet hours (local time)."""
        if not self.contains(local.time().replace(tzinfo=None)):
            return local
        began = local.replace(
            hour=self.start.hour, minute=self.start.minute, second=0, microsecond=0
        )
        if began > local:  # quiet hours began yesterday evening
            began -= timedelta(days=1)
        return began - QUIET_MARGIN


def zone_of(name: str | None) -> tzinfo:
    try:
        return ZoneInfo(name) if name else UTC
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


def delivery_time(nominal: datetime, timezone: str | None, quiet: QuietHours) -> datetime:
    """When a reminder due at `nominal` (UTC) may reach someone in `timezone`."""
    local = nominal.astimezone(zone_of(timezone))
    return quiet.last_moment_before(local).astimezone(UTC)


def job_lead(quiet: QuietHours) -> timedelta:
    """How long before the nominal time a reminder job runs: early enough for any shift."""
    return quiet.length + timedelta(hours=1)
