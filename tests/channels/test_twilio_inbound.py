"""POST /twilio/messages: Twilio's form, signed by the real RequestValidator, in every language."""

from __future__ import annotations

import re
from pathlib import Path
from xml.etree import ElementTree

import pytest
from sqlmodel import Session, select

from bot.storage.models import Contact, InboundMessage, OutboundMessage, Person
from tests.channels.twilio_helpers import (
    PUBLIC,
    message_form,
    post_signed,
    sign,
    twilio_settings,
)
from tests.storage.helpers import count

PATH = "/twilio/messages"


def replies(twiml: str) -> list[str]:
    root = ElementTree.fromstring(twiml)
    assert root.tag == "Response"
    return [m.text or "" for m in root.findall("Message")]


def callbacks(twiml: str) -> list[str]:
    return [m.get("statusCallback", "") for m in ElementTree.fromstring(twiml).findall("Message")]


GREETINGS = [
    ("+5568999123456", "Olá", "GPSNR pode enviar"),
    ("+2250701234567", "Bonjour", "Acceptez-vous les messages"),
    ("+233241234567", "Hello", "May GPSNR send you messages"),
    ("+6281234567890", "Halo", "Bolehkah GPSNR mengirim"),
    ("+959421234567", "မင်္ဂလာပါ", "GPSNR က မက်ဆေ့ချ်"),
    ("+66812345678", "สวัสดี", "GPSNR ขอส่งข้อความ"),
    ("+84912345678", "Xin chào", "GPSNR nhắn tin cho bạn"),
]


@pytest.mark.parametrize(("phone", "body", "expected"), GREETINGS)
@pytest.mark.parametrize("channel", ["sms", "whatsapp"])
async def test_a_first_message_is_answered_inline_in_the_senders_language(
    web, tmp_path: Path, channel: str, phone: str, body: str, expected: str
) -> None:
    sender = f"whatsapp:{phone}" if channel == "whatsapp" else phone
    async with web(twilio_settings(tmp_path)) as app:
        response = await post_signed(app.client, PATH, message_form(sender, body))
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("application/xml")
        (text,) = replies(response.text)
        assert expected in text
        with Session(app.engine) as db:
            contact = db.exec(select(Contact)).one()
            message = db.exec(select(OutboundMessage)).one()
        assert (contact.channel, contact.address) == (channel, phone)
        assert (message.status, message.payload["via"]) == ("sent", "inline")
        assert callbacks(response.text) == [f"{PUBLIC}/twilio/status?outbound={message.id}"]


async def test_a_whatsapp_id_that_is_not_a_phone_number_works(web, tmp_path: Path) -> None:
    async with web(twilio_settings(tmp_path)) as app:
        response = await post_signed(app.client, PATH, message_form("whatsapp:bsuid.AbC123", "hi"))
        assert response.status_code == 200
        assert replies(response.text)[0].startswith("Language / Idioma")  # no country guessed
        with Session(app.engine) as db:
            person = db.exec(select(Person)).one()
        assert (person.phone, person.country, person.language) == (None, None, None)


async def test_media_is_acknowledged_and_its_url_kept(web, tmp_path: Path) -> None:
    form = message_form(
        "whatsapp:+233241234567",
        "",
        NumMedia="1",
        MediaUrl0="https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1",
        MediaContentType0="audio/ogg",
    )
    async with web(twilio_settings(tmp_path)) as app:
        response = await post_signed(app.client, PATH, form)
        assert "photos, voice or files" in replies(response.text)[0]
        with Session(app.engine) as db:
            assert db.exec(select(InboundMessage.media_url)).one() == form["MediaUrl0"]


async def test_an_empty_body_gets_the_question_again(web, tmp_path: Path) -> None:
    async with web(twilio_settings(tmp_path)) as app:
        await post_signed(app.client, PATH, message_form("+233241234567", "hi"))
        response = await post_signed(app.client, PATH, message_form("+233241234567", ""))
        assert "May GPSNR send you messages" in replies(response.text)[0]


async def test_unknown_extra_fields_are_signed_and_accepted(web, tmp_path: Path) -> None:
    form = message_form("+233241234567", "hi", SmsStatus="received", ApiVersion="2010-04-01")
    form["SomethingTwilioAddsLater"] = "x"
    async with web(twilio_settings(tmp_path)) as app:
        assert (await post_signed(app.client, PATH, form)).status_code == 200


@pytest.mark.parametrize(
    ("case", "kwargs"),
    [
        ("wrong signature", {"signature": "bm90IHRoZSByaWdodCBvbmU="}),
        ("missing signature", {"signature": ""}),
        ("signed for another URL", {"signed_url": "https://evil.example.org/twilio/messages"}),
        ("signed with another token", {"signature": "TOKEN"}),
    ],
)
async def test_forged_requests_get_403_and_write_nothing(
    web, tmp_path: Path, case: str, kwargs: dict[str, str]
) -> None:
    form = message_form("+233241234567", "hi")
    if kwargs.get("signature") == "TOKEN":
        kwargs = {"signature": sign(f"{PUBLIC}{PATH}", form, token="someone-elses-token")}
    async with web(twilio_settings(tmp_path)) as app:
        response = await post_signed(app.client, PATH, form, **kwargs)
        assert response.status_code == 403, case
        assert count(app.engine, InboundMessage) == count(app.engine, Person) == 0


async def test_a_tampered_body_fails_the_signature(web, tmp_path: Path) -> None:
    form = message_form("+233241234567", "hi")
    signature = sign(f"{PUBLIC}{PATH}", form)
    form["Body"] = "STOP"
    async with web(twilio_settings(tmp_path)) as app:
        response = await post_signed(app.client, PATH, form, signature=signature)
        assert response.status_code == 403
        assert count(app.engine, InboundMessage) == 0


async def test_behind_a_tls_router_the_public_url_is_what_counts(web, tmp_path: Path) -> None:
    """Twilio signs https://public/...; the app itself is reached over http://internal."""
    form = message_form("+233241234567", "hi")
    async with web(twilio_settings(tmp_path)) as app:
        assert (await post_signed(app.client, PATH, form)).status_code == 200
    async with web(twilio_settings(tmp_path / "b", public_base_url=None)) as app:
        response = await post_signed(app.client, PATH, message_form("+233241234567", "hi"))
        assert response.status_code == 403  # without PUBLIC_BASE_URL the URLs differ


async def test_a_replayed_message_sid_is_answered_once(web, tmp_path: Path) -> None:
    form = message_form("+233241234567", "hi", sid="SM" + "f" * 32)
    async with web(twilio_settings(tmp_path)) as app:
        first = await post_signed(app.client, PATH, form)
        again = await post_signed(app.client, PATH, form)
        assert len(replies(first.text)) == 1
        assert again.status_code == 200 and replies(again.text) == []
        assert count(app.engine, InboundMessage) == count(app.engine, OutboundMessage) == 1


async def test_a_form_without_sender_is_a_bad_request(web, tmp_path: Path) -> None:
    form = {"MessageSid": "SM" + "2" * 32, "Body": "hi"}
    async with web(twilio_settings(tmp_path)) as app:
        response = await post_signed(app.client, PATH, form)
        assert response.status_code == 400
        assert count(app.engine, InboundMessage) == 0


async def test_without_twilio_credentials_the_routes_do_not_exist(web, tmp_path: Path) -> None:
    settings = twilio_settings(tmp_path, twilio_account_sid=None, twilio_auth_token=None)
    async with web(settings) as app:
        response = await post_signed(app.client, PATH, message_form("+233241234567", "hi"))
        assert response.status_code == 404
        assert (await app.client.get("/healthz")).status_code == 200


ONBOARDING = {
    "pt_BR": ("+5568999123456", ["Olá", "1", "3"], "Aqui está o menu"),
    "th": ("+66812345678", ["สวัสดี", "1", "1"], "นี่คือเมนู"),
    "fr": ("+2250701234567", ["Bonjour", "1", "1"], "Voici le menu"),
}


@pytest.mark.parametrize("language", sorted(ONBOARDING))
@pytest.mark.parametrize("channel", ["sms", "whatsapp"])
async def test_a_whole_onboarding_over_twilio(
    web, tmp_path: Path, channel: str, language: str
) -> None:
    phone, lines, menu_words = ONBOARDING[language]
    sender = f"whatsapp:{phone}" if channel == "whatsapp" else phone
    async with web(twilio_settings(tmp_path)) as app:
        answers = []
        for line in lines:
            response = await post_signed(app.client, PATH, message_form(sender, line))
            # One answer per message, in one SMS or two (a notice, then the question).
            assert 1 <= len(replies(response.text)) <= 2
            answers.append("\n".join(replies(response.text)))
        assert menu_words in answers[-1]
        assert re.search(r"1[.] ", answers[-1])  # a numbered menu, not buttons
        with Session(app.engine) as db:
            person = db.exec(select(Person)).one()
        assert person.onboarded_at is not None and person.language == language
