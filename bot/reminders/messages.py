"""The reminder text, written once per group of people who read it the same way."""

from __future__ import annotations

from dataclasses import dataclass

from bot.calendar import event_title
from bot.channels.base import capabilities
from bot.engine.events import SendText
from bot.engine.messages import Literal, LocalTime, Msg, msg
from bot.i18n.formatting import Reader
from bot.render import render, to_text
from bot.storage.content import dial_in_for
from bot.storage.models import Event


@dataclass(frozen=True)
class Written:
    text: str
    template_variables: dict[str, str]  # for an approved WhatsApp template outside the window


def reminder_message(event: Event, reader: Reader, channel: str) -> Written:
    title = Literal(event_title(event, reader.language))
    when = LocalTime(event.starts_at, style="medium")
    dial = Literal(", ".join(dial_in_for(event, reader.country)) or "-")
    meeting, code = Literal(event.meeting_id or "-"), Literal(event.passcode or "-")
    message: Msg
    if channel == "sms":
        # A basic phone joins by calling: no link, which would cost a segment it cannot open.
        # Translators: REMIND OFF is a keyword: write the words listed for it in
        # flows/keywords.yaml for your language.
        message = msg(
            "Reminder: %(title)s, %(when)s.\nBy phone: %(dial)s, ID %(meeting)s, code %(code)s\n"
            "Stop reminders: send REMIND OFF",
            title=title,
            when=when,
            dial=dial,
            meeting=meeting,
            code=code,
        )
    else:
        # Translators: REMIND OFF is a keyword, as above.
        message = msg(
            "Reminder: %(title)s, %(when)s.\nJoin: %(link)s\n"
            "By phone: %(dial)s, ID %(meeting)s, code %(code)s\nStop reminders: send REMIND OFF",
            title=title,
            when=when,
            link=Literal(event.join_url or "-"),
            dial=dial,
            meeting=meeting,
            code=code,
        )
    reply = render([SendText(message)], reader, capabilities(channel))
    assert reply is not None
    variables = {
        "1": to_text(title, reader),
        "2": to_text(when, reader),
        "3": event.join_url or "-",
        "4": to_text(dial, reader),
        "5": event.meeting_id or "-",
        "6": event.passcode or "-",
    }
    return Written("\n".join(reply.parts), variables)
