"""Who needs a champion's help: asked for a practice call, or stopped halfway.

Only people who agreed to take part are listed (their number is shown to the champion), and
never people who stopped messages or erased their data. Someone marked as helped leaves the
list for QUIET days, so two champions do not call the same person twice in a week.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from bot.engine.messages import Mention, Msg, msg
from bot.engine.state import Item
from bot.storage.audit import audit, person_actor
from bot.storage.models import Completion, HelpRequest, Person

QUIET = timedelta(days=14)
HELPED = "followup"  # the HelpRequest kind that records a champion's help
LIMIT = 200  # more than a champion can call in a day; the flow shows the first few


def followups(db: Session, country: str | None, now: datetime) -> tuple[Item, ...]:
    """Most urgent first: practice calls asked for (oldest first), then unfinished sign-ups,
    then people who have not finished the video call course."""
    query = select(Person).where(
        Person.role == "smallholder",
        col(Person.consent_at).is_not(None),
        col(Person.opted_out_at).is_(None),
        col(Person.forgotten_at).is_(None),
    )
    if country:
        query = query.where(Person.country == country)
    helped = set(
        db.exec(
            select(HelpRequest.person_id).where(
                HelpRequest.kind == HELPED, col(HelpRequest.handled_at) >= now - QUIET
            )
        ).all()
    )
    asked = dict(
        db.exec(
            select(HelpRequest.person_id, HelpRequest.created_at).where(
                HelpRequest.kind != HELPED, col(HelpRequest.handled_at).is_(None)
            )
        ).all()
    )
    finished = set(db.exec(select(Completion.person_id).where(Completion.flow == "tutorial")).all())
    ranked: list[tuple[tuple[int, datetime], Person, Msg]] = []
    for person in db.exec(query.order_by(col(Person.created_at))).all():
        if person.id in helped:
            continue
        if person.id in asked:
            ranked.append(((0, asked[person.id]), person, msg("asked for a practice call")))
        elif person.onboarded_at is None:
            ranked.append(((1, person.created_at), person, msg("has not finished signing up")))
        elif person.id not in finished:
            ranked.append(
                ((2, person.created_at), person, msg("has not done the video call course"))
            )
    ranked.sort(key=lambda entry: entry[0])
    return tuple(_item(person, need) for _, person, need in ranked[:LIMIT])


def _item(person: Person, need: Msg) -> Item:
    """Who they are is a reference, written out when the champion's message is sent
    (bot/storage/mentions.py): nothing of them stays in it once they erase their data."""
    assert person.id is not None
    return Item(
        str(person.id),
        {
            "name": Mention(person.id, "name"),
            "phone": Mention(person.id, "phone"),
            "full_phone": Mention(person.id, "full_phone"),
            "need": need,
        },
    )


def mark_helped(
    db: Session, helper: Person, person_id: int, now: datetime, country: str | None
) -> bool:
    """Record the help and close the person's open requests; False if out of the helper's reach."""
    person = db.get(Person, person_id)
    if person is None or person.forgotten_at is not None:
        return False
    if country is not None and person.country != country:
        return False  # a champion helps their own country only, whatever the flow carried
    for request in db.exec(
        select(HelpRequest).where(
            HelpRequest.person_id == person_id, col(HelpRequest.handled_at).is_(None)
        )
    ).all():
        request.handled_at, request.handled_by = now, helper.id
        db.add(request)
    db.add(
        HelpRequest(
            person_id=person_id, kind=HELPED, created_at=now, handled_at=now, handled_by=helper.id
        )
    )
    audit(db, person_actor(helper.id), "helped", f"person:{person_id}", now)
    return True
