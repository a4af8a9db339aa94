"""A database error caused by a webhook never puts the sender's number in a log line.

SQLAlchemy writes a statement's parameters into its error message unless the engine hides
them; our newcomer rows go to PostgreSQL as one JSON parameter holding the address.
"""

from __future__ import annotations

import logging
import traceback
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from bot.storage.db import make_engine
from bot.storage.migrate import upgrade
from tests.channels.twilio_helpers import message_form, post_signed, twilio_settings
from tests.conftest import POSTGRES_URL

PHONE = "+66812990017"
FORMS = (PHONE, PHONE.lstrip("+"), PHONE[3:])  # +66812990017, 66812990017, 812990017
TOO_LONG_NAME = "Somsri " * 40  # 280 characters: the display name column holds 200


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A migrated schema of its own on the PostgreSQL server, as a database URL."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = make_engine(POSTGRES_URL)
    with admin.begin() as connection:
        connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    url = f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    try:
        yield url
    finally:
        with admin.begin() as connection:
            connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


async def test_a_failed_insert_logs_no_phone_number(
    web, tmp_path: Path, postgres_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    form = message_form(f"whatsapp:{PHONE}", "hello", ProfileName=TOO_LONG_NAME)
    async with web(twilio_settings(tmp_path, database_url=postgres_url)) as app:
        with pytest.raises(sa.exc.DBAPIError) as raised:  # the web server logs it as a 500
            await post_signed(app.client, "/twilio/messages", form)
        served = await app.client.get("/healthz")
    assert served.status_code == 200
    assert "value too long" in str(raised.value)  # the error did happen, in the database
    logged = caplog.text + "".join(traceback.format_exception(raised.value))
    assert "[SQL parameters hidden due to hide_parameters=True]" in logged
    for form_of_number in FORMS:
        assert form_of_number not in logged, form_of_number


def test_every_engine_hides_parameters(tmp_path: Path) -> None:
    for url in (f"sqlite:///{tmp_path / 'bot.db'}", POSTGRES_URL):
        engine = make_engine(url)
        assert engine.hide_parameters, url
        engine.dispose()
