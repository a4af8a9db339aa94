"""Small builders for storage tests."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session, func, select

from bot.channels.base import Envelope, InboundMessage, SendResult
from bot.flowfiles import FlowSet
from bot.pipeline import Pipeline
from bot.storage.models import SQLModel

_keys = itertools.count(1)


def inbound(
    text: str,
    *,
    key: str | None = None,
    channel: str = "sms",
    address: str = "+66812345678",
    phone: str | None = "+66812345678",
    media_url: str | None = None,
) -> InboundMessage:
    return InboundMessage(
        channel=channel,
        address=address,
        dedupe_key=key or f"msg-{next(_keys)}",
        text=text,
        phone=phone,
        media_url=media_url,
    )


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def pipeline(engine: Engine, flows: FlowSet, clock: Callable[[], datetime]) -> Pipeline:
    return Pipeline(engine, flows, max_input_chars=1600, clock=clock)


def count(engine: Engine, model: type[SQLModel]) -> int:
    with Session(engine) as db:
        return int(db.exec(select(func.count()).select_from(model)).one())


class FakeSender:
    """Records what it is asked to send; answers from a script, then 'sent'."""

    def __init__(self, script: list[SendResult] | None = None) -> None:
        self.sent: list[Envelope] = []
        self.script = list(script or [])

    async def send(self, envelope: Envelope) -> SendResult:
        self.sent.append(envelope)
        if self.script:
            return self.script.pop(0)
        return SendResult("sent", provider_id=f"p-{envelope.id}")
