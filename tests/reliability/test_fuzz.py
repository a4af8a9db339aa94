"""Fuzz the webhooks: generated Twilio forms and Telegram updates never make a 500, and every
valid message is stored and answered once."""

from __future__ import annotations

import asyncio
import itertools
import json
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any
from xml.etree import ElementTree

import httpx
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlmodel import Session, func, select

from bot.storage.models import Contact, InboundMessage, OutboundMessage, Person
from tests.channels.telegram_helpers import SECRET
from tests.channels.twilio_helpers import PUBLIC, sign
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.twilio_api import FakeTwilio
from tests.reliability.helpers import App, both_channels, running

EXAMPLES = 60
_ids = itertools.count(1)
NUMBERS = ["+66812345678", "+84912345678", "+959421234567", "+233241234567", "+5511987654321"]
text = st.text(max_size=300)
field_value = st.text(max_size=40)


class Client:
    """The app over httpx's ASGI transport, driven from synchronous hypothesis tests."""

    def __init__(self, runner: asyncio.Runner, app: App, twilio: FakeTwilio) -> None:
        self.runner, self.app, self.twilio = runner, app, twilio
        self.statuses: Counter[int] = Counter()
        self.answered = 0

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        answer = self.runner.run(self.app.client.post(path, **kwargs))
        self.statuses[answer.status_code] += 1
        return answer


@pytest.fixture
def client(database_url: str, figure: Callable[[str], None]) -> Iterator[Client]:
    with FakeTelegram().running() as telegram, FakeTwilio() as twilio, asyncio.Runner() as runner:
        context = running(both_channels(database_url, telegram, twilio))
        app = runner.run(context.__aenter__())
        found = Client(runner, app, twilio)
        try:
            yield found
        finally:
            runner.run(context.__aexit__(None, None, None))
        codes = ", ".join(f"{n} x {code}" for code, n in sorted(found.statuses.items()))
        figure(
            f"fuzz: {sum(found.statuses.values())} requests ({codes}); {found.answered} valid "
            "messages each stored and answered once"
        )


def _stopped(client: Client, channel: str, address: str) -> bool:
    """After STOP only START and HELP are answered: silence is the right answer then."""
    with Session(client.app.engine) as db:
        person = db.exec(
            select(Person)
            .join(Contact, Contact.person_id == Person.id)  # type: ignore[arg-type]
            .where(Contact.channel == channel, Contact.address == address)
        ).first()
    return person is not None and person.opted_out_at is not None


def _answered_once(client: Client, key: str) -> bool:
    with Session(client.app.engine) as db:
        inbound = db.exec(select(InboundMessage.id).where(InboundMessage.dedupe_key == key)).all()
        if len(inbound) != 1:
            return False
        replies = db.exec(
            select(func.count()).where(OutboundMessage.in_reply_to == inbound[0])  # type: ignore[arg-type]
        ).one()
    client.answered += replies >= 1
    return replies >= 1


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    sender=st.one_of(st.sampled_from(NUMBERS), st.sampled_from(NUMBERS).map("whatsapp:{}".format)),
    body=text,
    extra=st.dictionaries(
        st.sampled_from(["NumMedia", "MediaUrl0", "ProfileName", "WaId", "Latitude", "Junk"]),
        field_value,
        max_size=3,
    ),
)
@example(  # found by this test: PostgreSQL refuses NUL in text
    sender="+66812345678", body="a\x00b", extra={"ProfileName": "Ama\x00", "MediaUrl0": "\x00"}
)
@example(sender="whatsapp:+66812345678", body="\uffff", extra={"ProfileName": "Somsri \uffff"})
def test_signed_twilio_forms(
    client: Client,
    sender: str,
    body: str,
    extra: dict[str, str],
) -> None:
    twilio = client.twilio
    sid = f"SM{next(_ids):032x}"
    form = {"MessageSid": sid, "AccountSid": twilio.account_sid, "From": sender, "Body": body}
    form.update(extra)
    signature = sign(f"{PUBLIC}/twilio/messages", form, twilio.auth_token)
    answer = client.post("/twilio/messages", data=form, headers={"X-Twilio-Signature": signature})
    assert answer.status_code in (200, 400), answer.text
    if answer.status_code == 200:
        ElementTree.fromstring(answer.text)  # well-formed, whatever the form held
    channel, _, address = sender.rpartition(":")
    if answer.status_code == 200 and not _stopped(client, channel or "sms", address):
        assert _answered_once(client, sid)


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    kind=st.sampled_from(["text", "edited", "garbage", "no secret"]),
    # Telegram never sends an empty or blank text: such an update is ignored, not answered.
    words=text.filter(str.strip),
    chat=st.integers(min_value=1, max_value=10**12),  # a private chat: the user's own id
    junk=st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=20),
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
        max_leaves=12,
    ),
)
def test_telegram_updates(client: Client, kind: str, words: str, chat: int, junk: Any) -> None:
    update_id = next(_ids)
    message = {
        "message_id": update_id,
        "date": 1788998400,
        "chat": {"id": chat, "type": "private", "first_name": "Ama"},
        "from": {"id": abs(chat) or 1, "is_bot": False, "first_name": "Ama"},
        "text": words,
    }
    body: Any = {"update_id": update_id, "message": message}
    if kind == "edited":
        body = {"update_id": update_id, "edited_message": {**message, "edit_date": 1788998500}}
    elif kind == "garbage":
        body = junk
    headers = {} if kind == "no secret" else {"X-Telegram-Bot-Api-Secret-Token": SECRET}
    answer = client.post("/telegram/webhook", content=json.dumps(body), headers=headers)
    if kind == "no secret":
        assert answer.status_code == 403
        return
    assert answer.status_code in (200, 400), answer.text
    if kind == "text" and answer.status_code == 200 and not _stopped(client, "telegram", str(chat)):
        assert _answered_once(client, f"update-{update_id}")
