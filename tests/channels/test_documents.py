"""Answers that carry more than text (a calendar file), through each channel's real entry point.

A calendar file is the only thing besides text the engine can send to the person writing
(`SendDocument`); everything else it emits is a stored effect. Each channel is driven the way
its users reach it: Twilio's signed webhook (WhatsApp, SMS), Telegram's webhook, the console.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit
from xml.etree import ElementTree

import icalendar
import pytest
from sqlmodel import Session, select

from bot.channels.console import ConsolePhone, ConsoleSender
from bot.content_import import import_schedule
from bot.demo import SAMPLES
from bot.dispatcher import Dispatcher
from bot.flowfiles import flow_set
from bot.pipeline import Pipeline
from bot.storage.db import make_engine
from bot.storage.migrate import upgrade
from bot.storage.models import OutboundMessage
from tests.channels.telegram_helpers import SECRET, telegram_settings, text_update
from tests.channels.test_twilio_sender import settings_for
from tests.channels.twilio_helpers import PUBLIC, message_form, sign
from tests.conftest import FIXED_NOW
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.twilio_api import FakeTwilio

# A Ghanaian farmer: greet, agree, confirm Ghana and the time, Calls and dates, the first call.
WHATSAPP = "whatsapp:+233241234999"
TO_THE_CALL = ["hello", "1", "1", "2", "1"]


def _schedule(engine) -> None:  # type: ignore[no-untyped-def]
    with Session(engine) as db, db.begin():
        import_schedule(db, SAMPLES / "schedule.yaml", FIXED_NOW)


async def _twilio(app, fake: FakeTwilio, sender: str, body: str, form=None):  # type: ignore[no-untyped-def]
    """POST a message as Twilio does, signed with the (fake) account's token."""
    form = form or message_form(sender, body)
    signature = sign(f"{PUBLIC}/twilio/messages", form, fake.auth_token)
    return await app.client.post(
        "/twilio/messages", data=form, headers={"X-Twilio-Signature": signature}
    )


def _replies(twiml: str) -> list[str]:
    root = ElementTree.fromstring(twiml)  # a strict parser: the TwiML must be well-formed
    return [m.findtext("Body") or m.text or "" for m in root.findall("Message")]


def _outbox(engine) -> list[OutboundMessage]:  # type: ignore[no-untyped-def]
    with Session(engine) as db:
        return list(db.exec(select(OutboundMessage).order_by(OutboundMessage.id)).all())  # type: ignore[arg-type]


def _calendar(content: str | bytes) -> icalendar.Event:
    (event,) = icalendar.Calendar.from_ical(content).walk("VEVENT")
    return event


@pytest.fixture
def twilio() -> Iterator[FakeTwilio]:
    with FakeTwilio() as fake:
        yield fake


async def test_whatsapp_calendar_file_answers_inline_and_sends_the_file_once(
    web, tmp_path: Path, twilio: FakeTwilio
) -> None:
    async with web(settings_for(twilio, tmp_path)) as app:
        _schedule(app.engine)
        for body in TO_THE_CALL:
            response = await _twilio(app, twilio, WHATSAPP, body)
            assert response.status_code == 200, body
        response = await _twilio(app, twilio, WHATSAPP, "Calendar file")
        assert response.status_code == 200
        (said,) = _replies(response.text)
        assert "calendar file" in said
        # The file went through the REST API, as media Twilio fetches from our signed link.
        (created,) = [c for c in twilio.created if c.form.get("MediaUrl")]
        assert created.form["To"] == WHATSAPP
        link = urlsplit(created.form["MediaUrl"])
        assert f"{link.scheme}://{link.netloc}" == PUBLIC
        fetched = await app.client.get(f"{link.path}?{link.query}")
        assert fetched.status_code == 200
        assert fetched.headers["content-type"].startswith("text/calendar")
        assert str(_calendar(fetched.content)["summary"]) == created.form["Body"]
        text_row, file_row = _outbox(app.engine)[-2:]
        assert (text_row.text, text_row.status, text_row.payload.get("via")) == (
            said,
            "sent",
            "inline",
        )
        assert (file_row.status, file_row.provider_id) == ("sent", created.sid)


async def test_a_whatsapp_retry_of_the_calendar_request_sends_nothing_twice(
    web, tmp_path: Path, twilio: FakeTwilio
) -> None:
    async with web(settings_for(twilio, tmp_path)) as app:
        _schedule(app.engine)
        for body in TO_THE_CALL:
            await _twilio(app, twilio, WHATSAPP, body)
        form = message_form(WHATSAPP, "Calendar file")
        first = await _twilio(app, twilio, WHATSAPP, "", form)
        again = await _twilio(app, twilio, WHATSAPP, "", form)
        assert (first.status_code, again.status_code) == (200, 200)
        assert _replies(again.text) == []  # answered once, by the first response
        assert len([c for c in twilio.created if c.form.get("MediaUrl")]) == 1


async def test_sms_never_offers_a_file_and_numbers_stay_text(
    web, tmp_path: Path, twilio: FakeTwilio
) -> None:
    sms = WHATSAPP.removeprefix("whatsapp:")
    async with web(settings_for(twilio, tmp_path)) as app:
        _schedule(app.engine)
        for body in TO_THE_CALL:
            response = await _twilio(app, twilio, sms, body)
        (details,) = _replies(response.text)
        assert "Calendar file" not in details
        response = await _twilio(app, twilio, sms, "Calendar file")
        assert response.status_code == 200
        assert _replies(response.text)  # answered (re-asked), in text
        assert not any(row.payload.get("document") for row in _outbox(app.engine))
        assert not any(c.form.get("MediaUrl") for c in twilio.created)


def _button(fake: FakeTelegram, word: str | None) -> str:
    """The label of the button a person would tap on the last keyboard (the first if no word)."""
    keyboard = fake.calls_to("sendMessage")[-1].params["reply_markup"]["keyboard"]
    labels = [button["text"] for row in keyboard for button in row]
    return next(label for label in labels if word is None or word in label)


async def test_telegram_calendar_file_goes_as_a_document(web, tmp_path: Path) -> None:
    chat = 5151
    fake = FakeTelegram()
    with fake.running():
        async with web(telegram_settings(fake, tmp_path)) as app:
            _schedule(app.engine)
            headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
            # Buttons tapped as a Ghanaian farmer would: agree, Ghana, the calls, the first one.
            for word in ["hello", "Yes", "Ghana", "Calls and dates", None, "Calendar file"]:
                body = word if word == "hello" else _button(fake, word)
                response = await app.client.post(
                    "/telegram/webhook", json=text_update(chat, body), headers=headers
                )
                assert response.status_code == 200, body
            (call,) = await fake.wait_for_calls("sendDocument")
        document = call.params["document"]
        assert document.filename and document.filename.endswith(".ics")
        assert _calendar(document.data)["dtstart"]
        assert "calendar file" in fake.texts_to(chat)[-1]


def test_the_console_shows_the_file_it_would_send(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'console.db'}")
    upgrade(engine)
    _schedule(engine)
    out = io.StringIO()
    pipeline = Pipeline(engine, flow_set(), clock=lambda: FIXED_NOW)
    dispatcher = Dispatcher(
        engine, {"whatsapp": ConsoleSender("whatsapp", out, pretty=False)}, clock=lambda: FIXED_NOW
    )
    ConsolePhone(pipeline, dispatcher, "whatsapp", "+233241234999").run(
        [*TO_THE_CALL, "Calendar file"]
    )
    shown = out.getvalue()
    assert "calendar file" in shown
    assert "[file: gpsnr-" in shown and ".ics]" in shown
    engine.dispose()
