"""Names and answers people send are shown to others (a champion's WHO NEEDS HELP, the
statement draft): nothing in them may break the TwiML or make a line read backwards."""

from __future__ import annotations

from pathlib import Path
from xml.etree import ElementTree

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from sqlmodel import Session, select

from bot.channels.twilio.routes import twiml
from bot.pipeline import Handled
from bot.render import Reply
from bot.storage.models import Contact, Person
from tests.channels.twilio_helpers import message_form, post_signed, twilio_settings
from tests.conftest import FIXED_NOW

CHAMPION = "+66812000001"


def _champion(engine) -> None:  # type: ignore[no-untyped-def]
    """Thailand's Country Champion, registered by an operator before launch."""
    with Session(engine) as db, db.begin():
        person = Person(
            phone=CHAMPION,
            language="en",
            country="TH",
            timezone="Asia/Bangkok",
            role="champion",
            role_country="TH",
            consent_at=FIXED_NOW,
            onboarded_at=FIXED_NOW,
        )
        db.add(person)
        db.flush()
        assert person.id is not None
        db.add(Contact(person_id=person.id, channel="sms", address=CHAMPION))


def _bodies(twiml: str) -> list[str]:
    root = ElementTree.fromstring(twiml)  # expat: refuses U+FFFF, NUL and the like
    return [m.findtext("Body") or m.text or "" for m in root.findall("Message")]


@pytest.mark.parametrize(
    ("profile_name", "shown"),
    [
        ("Somsri \uffff", "Somsri"),
        ("Somsri\ufffe Jaidee", "Somsri Jaidee"),
        ("Malee \u202e2345678+", "Malee 2345678+"),  # would read "+8765432" beside a number
        ("\u2066Niran\u2069\x00", "Niran"),
    ],
)
async def test_a_champion_reads_whatsapp_names_that_held_forbidden_characters(
    web, tmp_path: Path, profile_name: str, shown: str
) -> None:
    async with web(twilio_settings(tmp_path)) as app:
        _champion(app.engine)
        for body in ["สวัสดี", "1"]:  # greets, agrees to messages, then stops answering
            farmer = message_form("whatsapp:+66812345679", body, ProfileName=profile_name)
            answer = await post_signed(app.client, "/twilio/messages", farmer)
            assert answer.status_code == 200
            assert _bodies(answer.text)
        with Session(app.engine) as db:
            stored = db.exec(select(Contact.display_name).where(Contact.channel == "whatsapp"))
            assert stored.one() == shown
        listing = await post_signed(
            app.client, "/twilio/messages", message_form(CHAMPION, "who needs help")
        )
        assert listing.status_code == 200
        (text,) = _bodies(listing.text)
        assert f"1. {shown} +66" in text


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(alphabet=st.characters(exclude_categories=()), max_size=80), min_size=1))
@example(["1. Somsri \uffff +66•••••5679: has not finished signing up", "\ufffe\x00\x1b"])
def test_twiml_is_well_formed_whatever_the_answer_holds(parts: list[str]) -> None:
    """Stored text from before names were cleaned, or an imported schedule, can hold anything."""
    handled = Handled(
        duplicate=False,
        outbound_ids=tuple(range(1, len(parts) + 1)),
        reply=Reply(tuple(parts)),
        inline=True,
    )
    bodies = _bodies(twiml(handled, twilio_settings(Path("/nonexistent"))))
    assert len(bodies) == len(parts)
