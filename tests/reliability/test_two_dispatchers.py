"""Two worker processes draining one outbox: each row is claimed by one of them only.

On PostgreSQL the claim is `SELECT ... FOR UPDATE SKIP LOCKED`: the two share the work. On
SQLite the whole claim is one write transaction at a time, which gives the same guarantee.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path

import sqlalchemy as sa
from sqlmodel import Session, func, select

from bot.storage.db import make_engine
from bot.storage.models import Contact, OutboundMessage, Person
from tests.conftest import FIXED_NOW
from tests.fakes.twilio_api import FakeTwilio
from tests.reliability.helpers import worker_process
from tests.waiting import wait_until

ROWS = 3000

SETTINGS = {
    "TWILIO_MAX_PER_SECOND": "1000",
    "LOG_LEVEL": "INFO",  # one line per message sent: who sent what
}


def _queue(database_url: str) -> None:
    engine = make_engine(database_url)
    with engine.begin() as connection:
        connection.execute(
            sa.insert(Person.__table__),  # type: ignore[attr-defined]
            [{"id": i + 1, "language": "en", "consent_at": FIXED_NOW} for i in range(ROWS)],
        )
        connection.execute(
            sa.insert(Contact.__table__),  # type: ignore[attr-defined]
            [
                {"person_id": i + 1, "channel": "sms", "address": f"+23324{i:07d}"}
                for i in range(ROWS)
            ],
        )
        connection.execute(
            sa.insert(OutboundMessage.__table__),  # type: ignore[attr-defined]
            [
                {
                    "contact_id": i + 1,
                    "channel": "sms",
                    "kind": "reply",
                    "text": f"Your answer number {i}",
                    "status": "queued",
                    "next_attempt_at": FIXED_NOW,
                }
                for i in range(ROWS)
            ],
        )
    engine.dispose()


def _sent(database_url: str) -> int:
    engine = make_engine(database_url)
    with Session(engine) as db:
        found = db.exec(
            select(func.count()).where(OutboundMessage.status == "sent")  # type: ignore[arg-type]
        ).one()
    engine.dispose()
    return found


def test_two_dispatchers_never_send_a_row_twice(
    database_url: str, tmp_path: Path, figure: Callable[[str], None]
) -> None:
    _queue(database_url)
    logs = [tmp_path / "first.log", tmp_path / "second.log"]
    with FakeTwilio() as fake:
        workers = [worker_process(database_url, fake, log, **SETTINGS) for log in logs]
        try:
            wait_until(
                lambda: _sent(database_url) >= ROWS,
                timeout=120,
                interval=0.3,
                message=lambda: f"all {ROWS} rows sent ({_sent(database_url)} so far)",
            )
        finally:
            for worker in workers:
                worker.terminate()
            for worker in workers:
                worker.wait(timeout=30)
        received = Counter(r.to for r in fake.requests if r.sid is not None)
    shares = [log.read_text().count(": sent") for log in logs]
    figure(
        f"two dispatchers: {sum(received.values())} sent for {ROWS} rows, "
        f"{sum(1 for c in received.values() if c > 1)} twice; shares {shares[0]} / {shares[1]}"
    )
    assert len(received) == ROWS and set(received.values()) == {1}
    assert sum(shares) == ROWS
