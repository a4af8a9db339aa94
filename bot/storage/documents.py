"""Files that go with an answer (a calendar entry), built when the answer is stored."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlmodel import Session

from bot.calendar import event_title, ics_for
from bot.engine.events import Event, SendDocument
from bot.storage.models import Event as CallEvent
from bot.storage.models import Person


@dataclass(frozen=True)
class Document:
    filename: str
    mime: str
    content: str
    caption: str


def documents_for(db: Session, person: Person, events: Iterable[Event]) -> list[Document]:
    found = []
    for event in events:
        if isinstance(event, SendDocument) and event.kind == "ics":
            call = db.get(CallEvent, event.item)
            if call is not None:
                found.append(
                    Document(
                        filename=f"gpsnr-{call.id}.ics",
                        mime="text/calendar",
                        content=ics_for(call, person.language).decode(),
                        caption=event_title(call, person.language),
                    )
                )
    return found
