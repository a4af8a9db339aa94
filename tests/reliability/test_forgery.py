"""Forged webhooks: refused with 403, and nothing written; genuine ones all accepted."""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa
from sqlmodel import SQLModel

from tests.channels.telegram_helpers import SECRET, text_update
from tests.channels.twilio_helpers import PUBLIC, message_form, sign
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.twilio_api import FakeTwilio
from tests.reliability.helpers import App, both_channels, running

MESSAGES, STATUS, TELEGRAM = "/twilio/messages", "/twilio/status", "/telegram/webhook"
SIGNATURE, SECRET_HEADER = "X-Twilio-Signature", "X-Telegram-Bot-Api-Secret-Token"


def _rows(app: App) -> int:
    with app.engine.connect() as connection:
        return sum(
            connection.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
            for table in SQLModel.metadata.sorted_tables
        )


async def test_forged_requests_are_refused_and_write_nothing(
    database_url: str, figure: Callable[[str], None]
) -> None:
    with FakeTelegram().running() as telegram, FakeTwilio() as twilio:
        async with running(both_channels(database_url, telegram, twilio)) as app:
            token = twilio.auth_token
            form = message_form("+66812345678", "hello", sid="SM" + "f" * 32)
            good = sign(f"{PUBLIC}{MESSAGES}", form, token)
            tampered = {**form, "Body": "STOP"}
            status_form = {"MessageSid": "SM" + "e" * 32, "MessageStatus": "delivered"}
            forged = {
                "wrong token": (MESSAGES, form, sign(f"{PUBLIC}{MESSAGES}", form, "not-ours")),
                "missing": (MESSAGES, form, None),
                "empty": (MESSAGES, form, ""),
                "for another URL": (MESSAGES, form, sign(f"{PUBLIC}{STATUS}", form, token)),
                "for another host": (
                    MESSAGES,
                    form,
                    sign(f"https://evil.example.org{MESSAGES}", form, token),
                ),
                "tampered body": (MESSAGES, tampered, good),
                "extra field": (MESSAGES, {**form, "NumMedia": "1"}, good),
                "status, wrong token": (
                    STATUS,
                    status_form,
                    sign(f"{PUBLIC}{STATUS}", status_form, "not-ours"),
                ),
            }
            before = _rows(app)
            answers = {}
            for name, (path, body, signature) in forged.items():
                headers = {} if signature is None else {SIGNATURE: signature}
                answers[name] = (
                    await app.client.post(path, data=body, headers=headers)
                ).status_code
            update = text_update(424242, "hello")
            for name, headers in {
                "telegram, no secret": {},
                "telegram, wrong secret": {SECRET_HEADER: "guess"},
                "telegram, secret of another bot": {SECRET_HEADER: SECRET + "x"},
            }.items():
                answers[name] = (
                    await app.client.post(TELEGRAM, json=update, headers=headers)
                ).status_code
            after_forgeries = _rows(app)
            genuine = [
                await app.client.post(MESSAGES, data=form, headers={SIGNATURE: good}),
                await app.client.post(TELEGRAM, json=update, headers={SECRET_HEADER: SECRET}),
            ]
            after_genuine = _rows(app)
    refused = sum(code == 403 for code in answers.values())
    figure(
        f"forgery: {refused}/{len(answers)} forged requests refused, "
        f"{after_forgeries - before} rows written; {len(genuine)} genuine accepted"
    )
    assert answers == {name: 403 for name in answers}
    assert after_forgeries == before
    assert [r.status_code for r in genuine] == [200, 200]
    assert after_genuine > before
