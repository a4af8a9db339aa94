"""Files for WhatsApp: Twilio fetches them from a signed link to the stored document."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.signing import LINK_LIFETIME, link_query, signing_key
from bot.storage.models import Contact, OutboundMessage, Person
from tests.channels.test_twilio_sender import dispatch, settings_for
from tests.channels.twilio_helpers import PUBLIC, twilio_settings
from tests.conftest import FIXED_NOW
from tests.fakes.twilio_api import FakeTwilio
from tests.storage.helpers import Clock

ICS = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n"


def _document_row(engine: Engine, channel: str = "whatsapp") -> int:
    with Session(engine) as db, db.begin():
        person = Person(phone="+84912345678", language="vi")
        db.add(person)
        db.flush()
        contact = Contact(person_id=person.id, channel=channel, address="+84912345678")  # type: ignore[arg-type]
        db.add(contact)
        db.flush()
        row = OutboundMessage(
            contact_id=contact.id,  # type: ignore[arg-type]
            channel=channel,
            text="Họp quốc gia lần 1",
            payload={
                "document": {
                    "filename": "gpsnr-vn-national-1.ics",
                    "mime": "text/calendar",
                    "content": ICS,
                }
            },
            next_attempt_at=FIXED_NOW,
        )
        db.add(row)
        db.flush()
        assert row.id is not None
        return row.id


async def test_the_signed_link_serves_the_file(web, tmp_path: Path) -> None:
    settings = twilio_settings(tmp_path)
    async with web(settings) as app:
        row_id = _document_row(app.engine)
        key = signing_key(settings)
        assert key is not None
        response = await app.client.get(
            f"/media/{row_id}?{link_query(key, str(row_id), FIXED_NOW)}"
        )
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/calendar")
        assert 'filename="gpsnr-vn-national-1.ics"' in response.headers["content-disposition"]
        assert response.text == ICS


@pytest.mark.parametrize(
    "query",
    [
        "",
        "?sig=00000000000000000000000000000000",
        "?sig=",
        "?expires=99999999999&sig=00000000000000000000000000000000",
        "?expires=-1&sig=",
    ],
)
async def test_without_the_right_signature_nothing_is_served(
    web, tmp_path: Path, query: str
) -> None:
    async with web(twilio_settings(tmp_path)) as app:
        row_id = _document_row(app.engine)
        assert (await app.client.get(f"/media/{row_id}{query}")).status_code == 403


async def test_a_message_without_a_file_is_not_found(web, tmp_path: Path) -> None:
    settings = twilio_settings(tmp_path)
    async with web(settings) as app:
        key = signing_key(settings)
        assert key is not None
        assert (
            await app.client.get(f"/media/999?{link_query(key, '999', FIXED_NOW)}")
        ).status_code == 404


async def test_a_link_to_an_id_too_large_for_any_row_is_not_found(web, tmp_path: Path) -> None:
    settings = twilio_settings(tmp_path)
    async with web(settings) as app:
        key = signing_key(settings)
        assert key is not None
        huge = "99999999999999999999999"
        response = await app.client.get(f"/media/{huge}?{link_query(key, huge, FIXED_NOW)}")
        assert response.status_code == 404


async def test_a_link_expires_after_its_lifetime(web, tmp_path: Path) -> None:
    settings = twilio_settings(tmp_path)
    async with web(settings) as app:
        row_id = _document_row(app.engine)
        key = signing_key(settings)
        assert key is not None
        link = f"/media/{row_id}?{link_query(key, str(row_id), FIXED_NOW)}"
        app.clock.advance(seconds=LINK_LIFETIME.total_seconds() - 60)
        assert (await app.client.get(link)).status_code == 200
        app.clock.advance(seconds=120)
        assert (await app.client.get(link)).status_code == 403
        # A signature for one moment does not open the link at another.
        forged = link.replace("expires=", "expires=9")
        assert (await app.client.get(forged)).status_code == 403


async def test_whatsapp_sends_the_file_as_media_with_the_signed_link(
    tmp_path: Path, sqlite_engine: Engine
) -> None:
    clock = Clock(FIXED_NOW)
    with FakeTwilio() as fake:
        settings = settings_for(fake, tmp_path, database_url=str(sqlite_engine.url))
        row_id = _document_row(sqlite_engine)
        with Session(sqlite_engine) as db, db.begin():
            contact = db.get(Contact, 1)
            assert contact is not None
            contact.last_inbound_at = clock()
            db.add(contact)
        await dispatch(settings, sqlite_engine, clock)
        (created,) = fake.created
        key = signing_key(settings)
        assert key is not None
        query = link_query(key, str(row_id), FIXED_NOW)  # signed when sent
        assert created.form["MediaUrl"] == f"{PUBLIC}/media/{row_id}?{query}"
        assert created.form["Body"] == "Họp quốc gia lần 1"
