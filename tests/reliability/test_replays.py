"""Replays: every webhook delivered three times, one after another or all at once.

Providers retry a webhook when our answer is lost or late. 1,000 messages (500 by SMS, 500 by
Telegram), each delivered 3 times: exactly 1,000 stored and 1,000 answered, once each.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from xml.etree import ElementTree

import httpx
from sqlmodel import Session, func, select

from bot.storage.models import InboundMessage, OutboundMessage
from tests.channels.telegram_helpers import SECRET, text_update
from tests.channels.twilio_helpers import PUBLIC, message_form, sign
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.twilio_api import FakeTwilio
from tests.reliability.helpers import App, both_channels, running
from tests.waiting import wait_until_async

PEOPLE = 250  # per channel; each sends two messages
DELIVERIES = 3
TWILIO_PATH = "/twilio/messages"
TELEGRAM_PATH = "/telegram/webhook"


def _sms(app: App, token: str, number: str, text: str, sid: str) -> Callable[[], object]:
    form = message_form(number, text, sid=sid)
    headers = {"X-Twilio-Signature": sign(f"{PUBLIC}{TWILIO_PATH}", form, token)}
    return lambda: app.client.post(TWILIO_PATH, data=form, headers=headers)


def _telegram(app: App, chat: int, text: str, update_id: int) -> Callable[[], object]:
    body = text_update(chat, text, update_id=update_id)
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
    return lambda: app.client.post(TELEGRAM_PATH, json=body, headers=headers)


def _inline_answers(responses: list[httpx.Response]) -> int:
    """TwiML responses that carry an answer (a replay gets an empty <Response/>)."""
    return sum(
        1
        for r in responses
        if r.headers.get("content-type", "").endswith("xml")
        and ElementTree.fromstring(r.text).findall("Message")
    )


def _undelivered(app: App) -> list[str]:
    """Answers still waiting in the outbox or being sent, described."""
    with Session(app.engine) as db:
        rows = db.exec(
            select(OutboundMessage).where(
                OutboundMessage.status.in_(("queued", "sending"))  # type: ignore[attr-defined]
            )
        ).all()
    return [
        f"{r.id} {r.channel} {r.status} attempts={r.attempts} error={r.error} "
        f"due={r.next_attempt_at} claimed_until={r.claimed_until}"
        for r in rows
    ]


async def _deliver(
    send: Callable[[], object], concurrently: bool, responses: list[httpx.Response]
) -> None:
    if concurrently:
        responses.extend(await asyncio.gather(*(send() for _ in range(DELIVERIES))))  # type: ignore[arg-type]
    else:
        for _ in range(DELIVERIES):
            responses.append(await send())  # type: ignore[misc]


async def test_each_message_is_stored_and_answered_once(
    database_url: str, figure: Callable[[str], None]
) -> None:
    with FakeTelegram().running() as telegram, FakeTwilio() as twilio:
        async with running(both_channels(database_url, telegram, twilio)) as app:
            sms: list[httpx.Response] = []
            chats: list[httpx.Response] = []
            for step, text in enumerate(("hello", "1")):
                rounds = []
                for i in range(PEOPLE):
                    concurrently = i % 2 == 0
                    number = f"+2332412{i:05d}"
                    sid = f"SM{step:02d}{i:030d}"
                    rounds.append(
                        _deliver(_sms(app, twilio.auth_token, number, text, sid), concurrently, sms)
                    )
                    chat, update_id = 700_000 + i, step * 100_000 + i
                    send = _telegram(app, chat, text, update_id)
                    rounds.append(_deliver(send, concurrently, chats))
                for start in range(0, len(rounds), 50):  # 50 senders at a time
                    await asyncio.gather(*rounds[start : start + 50])
            # Answers not given inline go out in the background after the responses.
            await wait_until_async(
                lambda: not _undelivered(app),
                interval=0.1,
                message=lambda: f"the background deliveries; left: {_undelivered(app)}",
            )
            statuses = Counter(r.status_code for r in sms + chats)
            with Session(app.engine) as db:
                stored = db.exec(select(func.count()).select_from(InboundMessage)).one()
                answered = db.exec(
                    select(func.count(func.distinct(OutboundMessage.in_reply_to)))
                ).one()
                rows = db.exec(select(OutboundMessage)).all()
        telegram_sent = len(telegram.calls_to("sendMessage"))
        twilio_sent = len(twilio.created)
    expected = 2 * 2 * PEOPLE
    figure(
        f"replays: {stored} stored / {answered} answered / "
        f"{len(sms) + len(chats)} deliveries ({statuses[200]} x 200)"
    )
    assert statuses == {200: DELIVERIES * expected}
    assert stored == expected and answered == expected
    # One answer per message: no part of an answer was written twice.
    numbered = Counter((r.in_reply_to, r.payload.get("part")) for r in rows)
    assert max(numbered.values()) == 1
    # And each part went out once: inline in the TwiML response, or through the fakes.
    inline = [r for r in rows if r.payload.get("via") == "inline"]
    assert {r.status for r in rows} == {"sent"}
    assert _inline_answers(sms) == len(inline)
    assert twilio_sent == sum(1 for r in rows if r.channel == "sms") - len(inline)
    assert telegram_sent == sum(1 for r in rows if r.channel == "telegram")
