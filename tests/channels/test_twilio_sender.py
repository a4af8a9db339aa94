"""Sending through the real twilio client to a fake Twilio: routes, the window, error codes."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.channels.registry import ChannelSet
from bot.config import Settings
from bot.dispatcher import Dispatcher
from bot.storage.models import Contact, OutboundMessage, Person
from tests.channels.twilio_helpers import OUR_SMS_NUMBER, OUR_WHATSAPP_NUMBER, PUBLIC
from tests.conftest import FIXED_NOW
from tests.fakes.twilio_api import FakeTwilio
from tests.storage.helpers import Clock

PHONE = "+66812345678"


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeTwilio]:
    with FakeTwilio() as served:
        yield served


@pytest.fixture(autouse=True)
def _clean(fake: FakeTwilio) -> None:
    fake.reset()


def settings_for(fake: FakeTwilio, tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": f"sqlite:///{tmp_path / 'bot.db'}",
        "public_base_url": PUBLIC,
        "twilio_account_sid": fake.account_sid,
        "twilio_auth_token": SecretStr(fake.auth_token),
        "twilio_api_url": fake.url,
        "twilio_sms_from": OUR_SMS_NUMBER,
        "twilio_whatsapp_from": OUR_WHATSAPP_NUMBER,
        "twilio_max_per_second": 200.0,
        "twilio_timeout_seconds": 0.5,
        **overrides,
    }
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def person_on(engine: Engine, channel: str, last_inbound_hours_ago: float | None = 1.0) -> int:
    with Session(engine) as db, db.begin():
        person = Person(phone=PHONE, language="th", country="TH")
        db.add(person)
        db.flush()
        assert person.id is not None
        last = (
            None
            if last_inbound_hours_ago is None
            else FIXED_NOW - timedelta(hours=last_inbound_hours_ago)
        )
        contact = Contact(person_id=person.id, channel=channel, address=PHONE, last_inbound_at=last)
        db.add(contact)
        db.flush()
        assert contact.id is not None
        return contact.id


def queue(
    engine: Engine, contact_id: int, channel: str, text: str, kind: str = "reply", **payload: Any
) -> int:
    with Session(engine) as db, db.begin():
        row = OutboundMessage(
            contact_id=contact_id,
            channel=channel,
            kind=kind,
            text=text,
            payload=payload,
            next_attempt_at=FIXED_NOW,
        )
        db.add(row)
        db.flush()
        assert row.id is not None
        return row.id


def row(engine: Engine, row_id: int) -> OutboundMessage:
    with Session(engine) as db:
        found = db.get(OutboundMessage, row_id)
        assert found is not None
        return found


async def dispatch(settings: Settings, engine: Engine, clock: Clock, rounds: int = 1) -> None:
    channels = ChannelSet(settings, clock)
    dispatcher = Dispatcher(engine, channels.senders, clock=clock, max_attempts=3)
    try:
        for _ in range(rounds):
            await dispatcher.dispatch_once()
            clock.advance(minutes=10)
    finally:
        await channels.close()


@pytest.fixture
def clock() -> Clock:
    return Clock(FIXED_NOW)


async def test_an_sms_goes_to_the_number_with_a_status_callback(
    fake: FakeTwilio, tmp_path: Path, sqlite_engine: Engine, clock: Clock
) -> None:
    settings = settings_for(fake, tmp_path, database_url=str(sqlite_engine.url))
    row_id = queue(sqlite_engine, person_on(sqlite_engine, "sms"), "sms", "สวัสดี")
    await dispatch(settings, sqlite_engine, clock)
    (created,) = fake.created
    assert created.form["To"] == PHONE and created.form["From"] == OUR_SMS_NUMBER
    assert created.form["Body"] == "สวัสดี"
    assert created.form["StatusCallback"] == f"{PUBLIC}/twilio/status?outbound={row_id}"
    sent = row(sqlite_engine, row_id)
    assert (sent.status, sent.provider_id) == ("sent", created.sid)


async def test_a_whatsapp_reply_in_the_window_is_free_text(
    fake: FakeTwilio, tmp_path: Path, sqlite_engine: Engine, clock: Clock
) -> None:
    settings = settings_for(fake, tmp_path, database_url=str(sqlite_engine.url))
    queue(sqlite_engine, person_on(sqlite_engine, "whatsapp", 23.0), "whatsapp", "hi")
    await dispatch(settings, sqlite_engine, clock)
    (created,) = fake.created
    assert created.form["To"] == f"whatsapp:{PHONE}"
    assert created.form["From"] == f"whatsapp:{OUR_WHATSAPP_NUMBER}"
    assert created.form["Body"] == "hi"


async def test_outside_the_window_a_reminder_uses_the_template_for_its_language(
    fake: FakeTwilio, tmp_path: Path, sqlite_engine: Engine, clock: Clock
) -> None:
    templates = {"reminder": {"th": "HX" + "a" * 32, "en": "HX" + "b" * 32}}
    settings = settings_for(
        fake, tmp_path, database_url=str(sqlite_engine.url), twilio_templates=templates
    )
    contact = person_on(sqlite_engine, "whatsapp", last_inbound_hours_ago=30)
    row_id = queue(
        sqlite_engine,
        contact,
        "whatsapp",
        "ประชุมพรุ่งนี้",
        kind="reminder",
        template_variables={"1": "15:00"},
    )
    await dispatch(settings, sqlite_engine, clock)
    (created,) = fake.created
    assert created.form["ContentSid"] == "HX" + "a" * 32
    assert json.loads(created.form["ContentVariables"]) == {"1": "15:00"}
    assert "Body" not in created.form
    assert row(sqlite_engine, row_id).status == "sent"


async def test_without_a_template_it_falls_back_to_sms(
    fake: FakeTwilio, tmp_path: Path, sqlite_engine: Engine, clock: Clock
) -> None:
    settings = settings_for(fake, tmp_path, database_url=str(sqlite_engine.url))
    contact = person_on(sqlite_engine, "whatsapp", last_inbound_hours_ago=None)  # never wrote
    row_id = queue(sqlite_engine, contact, "whatsapp", "Call tomorrow", kind="broadcast")
    await dispatch(settings, sqlite_engine, clock)
    (created,) = fake.created
    assert (created.form["To"], created.form["From"]) == (PHONE, OUR_SMS_NUMBER)
    assert row(sqlite_engine, row_id).status == "sent"


async def test_with_neither_the_message_is_held_and_reported(
    fake: FakeTwilio, tmp_path: Path, sqlite_engine: Engine, clock: Clock
) -> None:
    settings = settings_for(
        fake, tmp_path, database_url=str(sqlite_engine.url), twilio_sms_from=None
    )
    contact = person_on(sqlite_engine, "whatsapp", last_inbound_hours_ago=48)
    row_id = queue(sqlite_engine, contact, "whatsapp", "Call tomorrow", kind="broadcast")
    await dispatch(settings, sqlite_engine, clock)
    assert fake.requests == []
    held = row(sqlite_engine, row_id)
    assert held.status == "held" and "24-hour window" in (held.error or "")


async def test_63016_switches_the_same_message_to_the_template(
    fake: FakeTwilio, tmp_path: Path, sqlite_engine: Engine, clock: Clock
) -> None:
    templates = {"reply": {"th": "HX" + "c" * 32}}
    settings = settings_for(
        fake, tmp_path, database_url=str(sqlite_engine.url), twilio_templates=templates
    )
    contact = person_on(sqlite_engine, "whatsapp", last_inbound_hours_ago=1)
    row_id = queue(sqlite_engine, contact, "whatsapp", "hello")
    fake.inject_api_error(63016)
    await dispatch(settings, sqlite_engine, clock, rounds=2)
    first, second = fake.requests
    assert first.form.get("Body") == "hello" and first.error_code == 63016
    assert second.form["ContentSid"] == "HX" + "c" * 32
    sent = row(sqlite_engine, row_id)
    assert (sent.status, sent.attempts) == ("sent", 1)


@pytest.mark.parametrize(
    ("code", "status", "effect"),
    [
        (21610, "failed", "opted_out"),
        (21211, "failed", "unreachable"),
        (63014, "failed", "unreachable"),
        (21608, "failed", None),
    ],
)
async def test_error_codes_are_mapped_by_the_table(
    fake: FakeTwilio,
    tmp_path: Path,
    sqlite_engine: Engine,
    clock: Clock,
    code: int,
    status: str,
    effect: str | None,
) -> None:
    settings = settings_for(fake, tmp_path, database_url=str(sqlite_engine.url))
    contact = person_on(sqlite_engine, "sms")
    row_id = queue(sqlite_engine, contact, "sms", "hi")
    fake.inject_api_error(code)
    await dispatch(settings, sqlite_engine, clock)
    failed = row(sqlite_engine, row_id)
    assert failed.status == status and str(code) in (failed.error or "")
    with Session(sqlite_engine) as db:
        person = db.exec(select(Person)).one()
        reached = db.exec(select(Contact)).one()
    assert (person.opted_out_at is not None) == (effect == "opted_out")
    assert (reached.unreachable_at is not None) == (effect == "unreachable")


@pytest.mark.parametrize("fault", ["rate_limit", "server_error", "timeout"])
async def test_transient_faults_are_retried_then_given_up(
    fake: FakeTwilio, tmp_path: Path, sqlite_engine: Engine, clock: Clock, fault: str
) -> None:
    settings = settings_for(fake, tmp_path, database_url=str(sqlite_engine.url))
    row_id = queue(sqlite_engine, person_on(sqlite_engine, "sms"), "sms", "hi")
    for _ in range(3):
        if fault == "rate_limit":
            fake.inject_rate_limit()
        elif fault == "server_error":
            fake.inject_server_error(503)
        else:
            fake.inject_delay(2.0, created=False)
    await dispatch(settings, sqlite_engine, clock)
    retried = row(sqlite_engine, row_id)
    assert (retried.status, retried.attempts) == ("queued", 1)
    await dispatch(settings, sqlite_engine, clock, rounds=2)
    failed = row(sqlite_engine, row_id)
    assert failed.status == "failed" and failed.attempts == 3
    assert "gave up after 3 attempts" in (failed.error or "")


async def test_the_configured_rate_is_never_exceeded(
    tmp_path: Path, sqlite_engine: Engine, clock: Clock
) -> None:
    with FakeTwilio(rate_limit_per_second=20) as limited:
        settings = settings_for(
            limited, tmp_path, database_url=str(sqlite_engine.url), twilio_max_per_second=20.0
        )
        contact = person_on(sqlite_engine, "sms")
        for i in range(45):
            queue(sqlite_engine, contact, "sms", f"message {i}")
        channels = ChannelSet(settings, clock)
        try:
            dispatcher = Dispatcher(sqlite_engine, channels.senders, clock=clock)
            await asyncio.wait_for(dispatcher.dispatch_once(), timeout=30)
        finally:
            await channels.close()
        assert len(limited.created) == 45
        assert limited.count_429 == 0
