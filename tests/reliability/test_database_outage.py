"""The database goes away for a while under inbound load, then comes back.

While it is away, webhooks fail loudly (5xx, so the provider retries them later) and the health
check says so; nothing acknowledged with a 200 is lost; once it is back, the same app answers
again without a restart, and every message ends stored and answered once.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import Session, func, select

from bot.storage.db import make_engine
from bot.storage.migrate import upgrade
from bot.storage.models import InboundMessage, OutboundMessage
from tests.channels.twilio_helpers import PUBLIC, message_form, sign
from tests.conftest import POSTGRES_URL
from tests.fakes.tcp_proxy import TcpProxy
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.twilio_api import FakeTwilio
from tests.reliability.helpers import App, both_channels, running
from tests.waiting import wait_until_async

SENDERS = 20
MESSAGES_EACH = 6
PATH = "/twilio/messages"
SQLITE_BUSY_SECONDS = 10  # bot/storage/db.py: PRAGMA busy_timeout


class SqliteLock:
    """SQLite has no server to lose: the nearest thing is a writer holding the database
    longer than our busy timeout (10 s). Readers go on (WAL), writers wait, then fail."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._connection: sqlite3.Connection | None = None

    def cut(self) -> None:
        self._connection = sqlite3.connect(self.path, isolation_level=None)
        self._connection.execute("BEGIN EXCLUSIVE")

    def restore(self) -> None:
        assert self._connection is not None
        self._connection.execute("ROLLBACK")
        self._connection.close()


@pytest.fixture(params=["postgres", "sqlite"])
def outage(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Outage]:
    """A fresh database, and the means to take it away and give it back."""
    if request.param == "sqlite":
        path = tmp_path / "bot.db"
        engine = make_engine(f"sqlite:///{path}")
        upgrade(engine)
        engine.dispose()
        yield Outage(f"sqlite:///{path}", SqliteLock(str(path)), SQLITE_BUSY_SECONDS + 1.5)
        return
    schema = f"o_{uuid.uuid4().hex[:12]}"
    admin = make_engine(POSTGRES_URL)
    with admin.begin() as connection:
        connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    direct = make_engine(f"{POSTGRES_URL}?options=-csearch_path%3D{schema}")
    upgrade(direct)
    direct.dispose()
    url = sa.engine.make_url(POSTGRES_URL)
    try:
        with TcpProxy(url.host or "127.0.0.1", url.port or 5432) as proxy:
            proxied = url.set(host="127.0.0.1", port=proxy.port)
            text = proxied.render_as_string(hide_password=False)
            yield Outage(f"{text}?options=-csearch_path%3D{schema}", proxy, 2.0)
    finally:
        with admin.begin() as connection:
            connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@dataclass
class Outage:
    database_url: str
    switch: TcpProxy | SqliteLock
    seconds: float  # SQLite: longer than the busy timeout, or writers just wait


async def _person(
    app: App, token: str, index: int, outcomes: Counter[int], acknowledged: set[str]
) -> None:
    """One farmer writing six messages; like Twilio, a failed webhook is retried."""
    for step in range(MESSAGES_EACH):
        sid = f"SM{index:04d}{step:028d}"
        form = message_form(f"+2332455{index:05d}", "hello" if step == 0 else "1", sid=sid)
        headers = {"X-Twilio-Signature": sign(f"{PUBLIC}{PATH}", form, token)}
        for _ in range(200):
            answer = await app.client.post(PATH, data=form, headers=headers)
            outcomes[answer.status_code] += 1
            if answer.status_code == 200:
                acknowledged.add(sid)
                break
            # The pace of the load, not a wait for anything: Twilio retries a failed webhook
            # later (we retry sooner, to keep the test short), and people pause between
            # messages.
            await asyncio.sleep(0.2)
        await asyncio.sleep(0.1)


def _failed(outcomes: Counter[int]) -> int:
    return sum(n for code, n in outcomes.items() if code >= 500)


async def test_an_outage_fails_loudly_and_loses_nothing(
    outage: Outage, figure: Callable[[str], None]
) -> None:
    database_url, proxy = outage.database_url, outage.switch
    with FakeTelegram().running() as telegram, FakeTwilio() as twilio:
        async with running(both_channels(database_url, telegram, twilio)) as app:
            outcomes: Counter[int] = Counter()
            acknowledged: set[str] = set()
            load = asyncio.gather(
                *(
                    _person(app, twilio.auth_token, i, outcomes, acknowledged)
                    for i in range(SENDERS)
                )
            )
            await wait_until_async(lambda: acknowledged, message="the first message stored")
            failed_before = _failed(outcomes)
            proxy.cut()
            cut_at = time.monotonic()
            await wait_until_async(
                lambda: _failed(outcomes) > failed_before,
                message="a webhook to fail for the outage",
            )
            health = asyncio.create_task(app.client.get("/healthz"))

            def over() -> bool:
                """A duration is the condition here: the outage lasts `outage.seconds` (SQLite:
                beyond the busy timeout, or writers just wait). For the server, it lasts until
                the health check was answered without it too (a locked SQLite file still
                answers reads: there the check may end either side of the restore)."""
                return time.monotonic() - cut_at >= outage.seconds and (
                    health.done() or isinstance(proxy, SqliteLock)
                )

            await wait_until_async(over, interval=0.1, message="the health check during the outage")
            proxy.restore()
            during = (await health).status_code
            down_for = time.monotonic() - cut_at
            await asyncio.wait_for(load, timeout=120)
            after = (await app.client.get("/healthz")).status_code
            with Session(app.engine) as db:
                stored = set(db.exec(select(InboundMessage.dedupe_key)).all())
                answered = db.exec(
                    select(func.count(func.distinct(OutboundMessage.in_reply_to)))
                ).one()
    failed = _failed(outcomes)
    figure(
        f"database outage {down_for:.1f} s: {failed} requests failed with 5xx and were retried; "
        f"{len(acknowledged)} acknowledged, {len(stored)} stored, {answered} answered; "
        f"health {during} during, {after} after"
    )
    assert failed > 0 and set(outcomes) <= {200, 500, 503}
    assert after == 200
    if isinstance(proxy, TcpProxy):  # a locked SQLite file is still there: health may pass
        assert during == 503
    assert acknowledged <= stored  # a 200 always means stored
    assert len(stored) == len(acknowledged) == SENDERS * MESSAGES_EACH
    assert answered == SENDERS * MESSAGES_EACH
