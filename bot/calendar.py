"""A calendar entry (.ics) for an event, in the reader's language, with a reminder alarm."""

from __future__ import annotations

from datetime import timedelta

import icalendar

from bot.engine.messages import Literal, msg
from bot.i18n.formatting import Reader
from bot.render import to_text
from bot.storage.models import Event

PRODUCT = "-//GPSNR smallholder assistant//EN"
ALARM_BEFORE = timedelta(hours=1)


def _localized(texts: dict[str, str], language: str | None) -> str:
    for key in (language, "en", *texts):
        if key and texts.get(key):
            return texts[key]
    return ""


def event_title(event: Event, language: str | None) -> str:
    return _localized(event.title, language) or event.id


def ics_for(event: Event, language: str | None) -> bytes:
    calendar = icalendar.Calendar()
    calendar.add("prodid", PRODUCT)
    calendar.add("version", "2.0")
    entry = icalendar.Event()
    entry.add("uid", f"{event.id}@gpsnr-smallholder-bot")
    entry.add("dtstamp", event.updated_at)
    entry.add("dtstart", event.starts_at)
    entry.add("dtend", event.starts_at + timedelta(minutes=event.duration_minutes))
    entry.add("summary", event_title(event, language))
    entry.add("description", _description(event, language))
    if event.join_url:
        entry.add("url", event.join_url)
        entry.add("location", event.join_url)
    alarm = icalendar.Alarm()
    alarm.add("action", "DISPLAY")
    alarm.add("description", event_title(event, language))
    alarm.add("trigger", -ALARM_BEFORE)
    entry.add_component(alarm)
    calendar.add_component(entry)
    return bytes(calendar.to_ical())


def _description(event: Event, language: str | None) -> str:
    reader = Reader(language=language or "en")
    lines = [_localized(event.agenda, language), event.join_url or ""]
    if event.meeting_id:
        lines.append(to_text(msg("Meeting ID: %(id)s", id=Literal(event.meeting_id)), reader))
    if event.passcode:
        lines.append(to_text(msg("Passcode: %(code)s", code=Literal(event.passcode)), reader))
    for country, numbers in sorted(event.dial_in.items()):
        name = reader.country_name(country)
        lines.append(
            to_text(
                msg(
                    "By phone from %(country)s: %(numbers)s",
                    country=Literal(name),
                    numbers=Literal(", ".join(numbers)),
                ),
                reader,
            )
        )
    return "\n".join(line for line in lines if line)
