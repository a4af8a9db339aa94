"""POST /twilio/status: signed delivery reports, in any order, never moving a status back."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.storage.models import Contact, OutboundMessage, Person
from tests.channels.twilio_helpers import ACCOUNT_SID, post_signed, twilio_settings

SID = "SM" + "9" * 32


def _sent_row(engine: Engine, provider_id: str | None = SID, channel: str = "sms") -> int:
    with Session(engine) as db, db.begin():
        person = Person(phone="+66812345678", language="th")
        db.add(person)
        db.flush()
        assert person.id is not None
        contact = Contact(person_id=person.id, channel=channel, address="+66812345678")
        db.add(contact)
        db.flush()
        assert contact.id is not None
        row = OutboundMessage(
            contact_id=contact.id,
            channel=channel,
            kind="broadcast",
            text="hi",
            status="sent",
            provider_id=provider_id,
            attempts=1,
        )
        db.add(row)
        db.flush()
        assert row.id is not None
        return row.id


def _form(status: str, error_code: str | None = None, sid: str = SID) -> dict[str, str]:
    form = {
        "MessageSid": sid,
        "MessageStatus": status,
        "AccountSid": ACCOUNT_SID,
        "To": "+66812345678",
    }
    if error_code:
        form["ErrorCode"] = error_code
    return form


def _row(engine: Engine, row_id: int) -> OutboundMessage:
    with Session(engine) as db:
        found = db.get(OutboundMessage, row_id)
        assert found is not None
        return found


@pytest.mark.parametrize(
    ("reports", "status", "provider_status"),
    [
        (["sent", "delivered"], "delivered", "delivered"),
        (["delivered", "sent"], "delivered", "delivered"),  # out of order
        (["delivered", "delivered"], "delivered", "delivered"),  # duplicate
        (["delivered", "read"], "read", "read"),
        (["read", "delivered"], "read", "read"),
        (["queued", "sending", "sent"], "sent", None),  # nothing past what we knew
        (["delivered", "undelivered"], "delivered", "delivered"),  # a final status never regresses
        (["undelivered", "delivered"], "failed", "undelivered"),
    ],
)
async def test_statuses_only_move_forward(
    web, tmp_path: Path, reports: list[str], status: str, provider_status: str | None
) -> None:
    async with web(twilio_settings(tmp_path)) as app:
        row_id = _sent_row(app.engine)
        for report in reports:
            response = await post_signed(app.client, "/twilio/status", _form(report))
            assert response.status_code == 204
        row = _row(app.engine, row_id)
        assert (row.status, row.provider_status) == (status, provider_status)


async def test_a_failure_keeps_the_code_and_reason(web, tmp_path: Path) -> None:
    async with web(twilio_settings(tmp_path)) as app:
        row_id = _sent_row(app.engine)
        await post_signed(app.client, "/twilio/status", _form("undelivered", "30007"))
        row = _row(app.engine, row_id)
        assert (row.status, row.error_code) == ("failed", "30007")
        assert row.error == "twilio 30007: filtered by the carrier"


async def test_a_stop_reported_by_the_carrier_opts_the_person_out(web, tmp_path: Path) -> None:
    async with web(twilio_settings(tmp_path)) as app:
        _sent_row(app.engine)
        await post_signed(app.client, "/twilio/status", _form("failed", "21610"))
        with Session(app.engine) as db:
            assert db.exec(select(Person.opted_out_at)).one() is not None


async def test_63016_sends_the_message_again_by_another_route(web, tmp_path: Path) -> None:
    async with web(twilio_settings(tmp_path)) as app:
        row_id = _sent_row(app.engine, channel="whatsapp")
        await post_signed(app.client, "/twilio/status", _form("failed", "63016"))
        row = _row(app.engine, row_id)
        assert (row.status, row.provider_id, row.payload["route"]) == (
            "queued",
            None,
            "outside_window",
        )


async def test_a_report_for_an_inline_reply_fills_in_its_sid(web, tmp_path: Path) -> None:
    async with web(twilio_settings(tmp_path)) as app:
        row_id = _sent_row(app.engine, provider_id=None)
        path = f"/twilio/status?outbound={row_id}"
        response = await post_signed(app.client, path, _form("delivered", sid="SM" + "4" * 32))
        assert response.status_code == 204
        row = _row(app.engine, row_id)
        assert (row.provider_id, row.status) == ("SM" + "4" * 32, "delivered")


async def test_unsigned_reports_are_refused(web, tmp_path: Path) -> None:
    async with web(twilio_settings(tmp_path)) as app:
        row_id = _sent_row(app.engine)
        response = await post_signed(app.client, "/twilio/status", _form("delivered"), signature="")
        assert response.status_code == 403
        assert _row(app.engine, row_id).status == "sent"


async def test_a_report_for_an_unknown_message_is_acknowledged(web, tmp_path: Path) -> None:
    async with web(twilio_settings(tmp_path)) as app:
        response = await post_signed(
            app.client, "/twilio/status", _form("delivered", sid="SM" + "0" * 32)
        )
        assert response.status_code == 204
