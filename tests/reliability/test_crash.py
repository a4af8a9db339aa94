"""The worker killed with SIGKILL at random moments during a 10,000-recipient broadcast.

Each restart picks up where the last one died: rows not yet queued are queued, rows claimed by
the dead worker are taken over when their lease ends, and a message the dead worker may have
sent is looked up at the provider first. Every recipient gets the broadcast exactly once.
"""

from __future__ import annotations

import random
import signal
import time
from collections import Counter
from collections.abc import Callable
from functools import partial
from pathlib import Path

import sqlalchemy as sa
from sqlmodel import Session, func, select

from bot.storage.db import make_engine
from bot.storage.models import Broadcast, Contact, OutboundMessage, Person
from tests.conftest import FIXED_NOW
from tests.fakes.twilio_api import FakeTwilio
from tests.reliability.helpers import worker_process
from tests.waiting import wait_until

RECIPIENTS = 10_000
KILLS = 4
TEXT = "The GA is on 23 September. Join with the link we sent."
ROOT = Path(__file__).resolve().parents[2]

SETTINGS = {
    "TWILIO_MAX_PER_SECOND": "2000",
    "DISPATCH_LEASE_SECONDS": "5",
    "BROADCAST_POLL_SECONDS": "0.2",
    "LOG_LEVEL": "WARNING",
}


def _population(database_url: str) -> None:
    engine = make_engine(database_url)
    people = [
        {
            "id": i + 1,
            "phone": f"+6681{i:07d}",
            "language": "en",
            "country": "TH",
            "consent_at": FIXED_NOW,
            "zawgyi": False,
            "role": "smallholder",
            "reminders": "all",
            "created_at": FIXED_NOW,
            "updated_at": FIXED_NOW,
        }
        for i in range(RECIPIENTS)
    ]
    contacts = [
        {"person_id": i + 1, "channel": "sms", "address": f"+6681{i:07d}", "created_at": FIXED_NOW}
        for i in range(RECIPIENTS)
    ]
    with engine.begin() as connection:
        connection.execute(sa.insert(Person.__table__), people)  # type: ignore[attr-defined]
        connection.execute(sa.insert(Contact.__table__), contacts)  # type: ignore[attr-defined]
    with Session(engine) as db, db.begin():
        db.add(Broadcast(country="TH", audience="all", text=TEXT, created_at=FIXED_NOW))
    engine.dispose()


def tmp_cwd(log: Path) -> Path:
    return log.parent  # no .env file there: the environment alone configures the worker


def _left(database_url: str) -> tuple[int, int]:
    """(rows not yet sent, rows queued in all)."""
    engine = make_engine(database_url)
    with Session(engine) as db:
        total = db.exec(select(func.count()).select_from(OutboundMessage)).one()
        sent = db.exec(
            select(func.count()).where(OutboundMessage.status == "sent")  # type: ignore[arg-type]
        ).one()
    engine.dispose()
    return total - sent, total


def _progress(database_url: str, fake: FakeTwilio) -> tuple[int, int, int]:
    """(rows queued, rows sent, create requests at the provider): any change is work done."""
    left, total = _left(database_url)
    return total, total - left, len(fake.requests)


def _moved_on(database_url: str, fake: FakeTwilio, before: tuple[int, int, int]) -> bool:
    """Work was done since `before`, or none is left to do."""
    return _progress(database_url, fake) != before or _left(database_url) == (0, RECIPIENTS)


def test_a_killed_worker_sends_the_broadcast_exactly_once(
    database_url: str, tmp_path: Path, figure: Callable[[str], None]
) -> None:
    _population(database_url)
    log = tmp_path / "worker.log"
    chance = random.Random(2027)
    kills: list[str] = []
    started = time.monotonic()
    with FakeTwilio() as fake:
        for _ in range(KILLS):
            before = _progress(database_url, fake)
            worker = worker_process(database_url, fake, log, **SETTINGS)
            # Start-up takes seconds on a loaded machine: the kill is to land in the work.
            wait_until(
                partial(_moved_on, database_url, fake, before),
                interval=0.2,
                message=lambda: (
                    f"the worker to queue or send something; log: {log.read_text()[-3000:]}"
                ),
            )
            # A random moment is the point: kills land anywhere in queueing, claiming, sending
            # and recording (the seed makes each run the same).
            time.sleep(chance.uniform(0.5, 5.0))
            worker.send_signal(signal.SIGKILL)
            worker.wait()
            left, total = _left(database_url)
            kills.append(f"{total - left}/{total}")
        worker = worker_process(database_url, fake, log, **SETTINGS)
        try:
            wait_until(
                lambda: _left(database_url) == (0, RECIPIENTS),
                timeout=240,
                interval=0.5,
                message=lambda: (
                    f"every row queued and sent: (left, queued) = {_left(database_url)}; "
                    f"log: {log.read_text()[-3000:]}"
                ),
            )
            left, total = _left(database_url)
        finally:
            worker.terminate()
            worker.wait(timeout=30)
        received = Counter(r.to for r in fake.requests if r.sid is not None)
        creates = len(fake.requests)
    took = time.monotonic() - started
    doubles = sum(1 for count in received.values() if count > 1)
    figure(
        f"crash: {KILLS} SIGKILLs (sent/queued at each: {', '.join(kills)}); "
        f"{len(received)} recipients got it, {doubles} twice; {creates} create calls; "
        f"{took:.0f} s"
    )
    assert total == RECIPIENTS and left == 0, log.read_text()[-3000:]
    assert len(received) == RECIPIENTS
    assert doubles == 0
