"""What references to other people (bot/mentions.py) read as now, from their rows.

Someone erased, or gone, is not found: their references read as `NOBODY`.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import replace

from sqlmodel import Session, col, select

from bot.engine.keywords import fold
from bot.mentions import NAME_LENGTH, Values, fill, mentioned, mentions
from bot.phones import mask
from bot.render import Reply
from bot.storage.models import Contact, Person
from bot.storage.privacy import CHANNEL_NAMES


def values(db: Session, texts: Iterable[str]) -> Values:
    """The fields of everyone these texts refer to (nothing for texts without references)."""
    ids = mentioned(texts)
    if not ids:
        return {}
    people = db.exec(
        select(Person).where(col(Person.id).in_(ids), col(Person.forgotten_at).is_(None))
    ).all()
    names = _names(db, [p.id for p in people if p.id is not None])
    return {
        p.id: {
            "name": _short(names.get(p.id) or p.name or "-"),
            "phone": mask(p.phone) if p.phone else "Telegram",
            "full_phone": p.phone or "Telegram",
        }
        for p in people
        if p.id is not None
    }


def _short(name: str) -> str:
    """A name cut to NAME_LENGTH characters at most, marked as cut ("Maria do Socorro da...")."""
    if len(name) <= NAME_LENGTH:
        return name
    return name[: NAME_LENGTH - 3].rstrip() + "..."


def _names(db: Session, person_ids: Collection[int]) -> dict[int, str]:
    """The name the person's app shows (Telegram, WhatsApp) from the contact used last; with
    no name, the channel they use, which tells the champion how to reach them."""
    found: dict[int, str] = {}
    contacts = db.exec(
        select(Contact)
        .where(col(Contact.person_id).in_(person_ids))
        .order_by(col(Contact.display_name).is_(None), col(Contact.last_inbound_at).desc())
    ).all()
    for contact in contacts:
        found.setdefault(
            contact.person_id,
            contact.display_name or CHANNEL_NAMES.get(contact.channel, contact.channel),
        )
    return found


def filled_reply(db: Session, reply: Reply, sms: bool, zawgyi: bool) -> Reply:
    """The answer as its reader sees it; the one stored keeps its references. Labels are
    matched against what people type, so they stay as `render` made them (not converted)."""
    texts = (*reply.parts, *reply.buttons, *reply.labels)
    if not any(mentions(text) for text in texts):
        return reply
    found = values(db, texts)
    return replace(
        reply,
        parts=tuple(fill(part, found, sms, zawgyi) for part in reply.parts),
        buttons=tuple(fill(button, found, zawgyi=zawgyi) for button in reply.buttons),
        labels=tuple(fill(label, found) for label in reply.labels),
    )


def tapped(db: Session, text: str, labels: Sequence[str]) -> str | None:
    """The stored label (references kept) whose written-out form `text` is: a tapped button
    naming someone is stored as the reference, not as the name it showed."""
    if not any(mentions(label) for label in labels):
        return None
    found = values(db, labels)
    folded = fold(text)
    return next((label for label in labels if fold(fill(label, found)) == folded), None)
