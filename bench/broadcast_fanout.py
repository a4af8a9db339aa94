"""Broadcast fan-out: one broadcast to N smallholders, queued, then sent through Twilio.

    .venv/bin/python bench/broadcast_fanout.py [--people 100000] [--database sqlite|postgres]
        [--seconds 60] [--limited-seconds 20]

Prints the time to queue one outbox row per recipient, then sends through the real Twilio
sender and the real dispatcher to a fake Twilio server on loopback, twice:
- an unlimited provider, with our own pacing set high: what the dispatcher itself can do;
- a provider that answers 429 above 30 messages/s, with our pacing at 30/s (the setting a
  deployer would use): the achieved rate as a share of that limit, and how many 429s came back.
Each run sends for at most the given seconds (at 30/s, 100,000 messages take 55 minutes:
the rate is what matters, and it is steady after a few seconds).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from pydantic import SecretStr
from sqlmodel import Session, func, select

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.broadcasts.expand import expand
from bot.channels.registry import ChannelSet
from bot.config import Settings
from bot.dispatcher import Dispatcher
from bot.storage.db import make_engine
from bot.storage.migrate import upgrade
from bot.storage.models import Broadcast, Contact, OutboundMessage, Person
from tests.fakes.twilio_api import FakeTwilio

POSTGRES = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
NOW = datetime(2027, 8, 1, 9, 0, tzinfo=UTC)
LIMIT = 30


def people(engine: sa.Engine, count: int) -> None:
    """N consenting Thai smallholders, two in three on SMS, one in three on WhatsApp."""
    person_rows: list[dict[str, Any]] = []
    contact_rows: list[dict[str, Any]] = []
    for i in range(count):
        person_rows.append(
            {
                "id": i + 1,
                "phone": f"+6681{i:07d}",
                "language": "th",
                "country": "TH",
                "timezone": "Asia/Bangkok",
                "consent_at": NOW,
                "onboarded_at": NOW,
                "zawgyi": False,
                "role": "smallholder",
                "reminders": "all",
                "created_at": NOW,
                "updated_at": NOW,
            }
        )
        whatsapp = i % 3 == 2
        contact_rows.append(
            {
                "person_id": i + 1,
                "channel": "whatsapp" if whatsapp else "sms",
                "address": f"+6681{i:07d}",  # as Twilio's inbound webhook gives it
                "created_at": NOW,
                "last_inbound_at": datetime.now(UTC),  # inside the 24-hour window
            }
        )
    tables = Person.__table__, Contact.__table__  # type: ignore[attr-defined]
    with engine.begin() as connection:
        for start in range(0, count, 5000):
            connection.execute(sa.insert(tables[0]), person_rows[start : start + 5000])
            connection.execute(sa.insert(tables[1]), contact_rows[start : start + 5000])


def settings(fake: FakeTwilio, url: str, per_second: float) -> Settings:
    return Settings(  # type: ignore[call-arg]
        _env_file=None,
        database_url=url,
        public_base_url="https://bot.example.org",
        twilio_account_sid=fake.account_sid,
        twilio_auth_token=SecretStr(fake.auth_token),
        twilio_api_url=fake.url,
        twilio_sms_from="+15005550006",
        twilio_whatsapp_from="+14155238886",
        twilio_max_per_second=per_second,
    )


async def send_for(engine: sa.Engine, config: Settings, seconds: float) -> tuple[int, float]:
    """Run the real dispatcher for `seconds`; returns (messages sent, seconds taken)."""
    channels = ChannelSet(config)
    dispatcher = Dispatcher(engine, channels.senders)
    before = sent_count(engine)
    stop = asyncio.Event()
    started = time.perf_counter()
    runner = asyncio.create_task(dispatcher.run(stop, idle_seconds=0.2))
    while time.perf_counter() - started < seconds and queued_count(engine):
        await asyncio.sleep(0.5)
    stop.set()
    await runner
    took = time.perf_counter() - started
    await channels.close()
    return sent_count(engine) - before, took


def sent_count(engine: sa.Engine) -> int:
    with Session(engine) as db:
        return db.exec(
            select(func.count()).where(OutboundMessage.status == "sent")  # type: ignore[arg-type]
        ).one()


def failed_count(engine: sa.Engine) -> int:
    """A 429 is retried after a pause: it must never turn into a failed message."""
    with Session(engine) as db:
        return db.exec(
            select(func.count()).where(OutboundMessage.status == "failed")  # type: ignore[arg-type]
        ).one()


def queued_count(engine: sa.Engine) -> int:
    with Session(engine) as db:
        return db.exec(
            select(func.count()).where(OutboundMessage.status == "queued")  # type: ignore[arg-type]
        ).one()


def measure(name: str, url: str, count: int, seconds: float, limited_seconds: float) -> None:
    schema = None
    if name == "postgres":
        schema = f"bench_{uuid.uuid4().hex[:8]}"
        admin = make_engine(url)
        with admin.begin() as connection:
            connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    options = {"connect_args": {"options": f"-csearch_path={schema}"}} if schema else {}
    engine = make_engine(url, **options)  # type: ignore[arg-type]
    try:
        upgrade(engine)
        people(engine, count)
        with Session(engine, expire_on_commit=False) as db, db.begin():
            broadcast = Broadcast(country="TH", audience="all", text="ประชุมระดับชาติวันศุกร์ 9 โมง")
            db.add(broadcast)
        assert broadcast.id is not None
        started = time.perf_counter()
        created = expand(engine, broadcast.id)
        took = time.perf_counter() - started
        rate = created / took
        print(f"{name}: queued {created:,} broadcast rows in {took:.2f} s = {rate:,.0f} rows/s")
        with FakeTwilio() as fake:
            sent, took = asyncio.run(send_for(engine, settings(fake, url, 10_000), seconds))
            rate = sent / took
            print(
                f"{name}: unlimited provider: {sent:,} sent in {took:.1f} s = {rate:,.0f} msg/s "
                f"(429s: {fake.count_429})"
            )
        with FakeTwilio(rate_limit_per_second=LIMIT) as fake:
            sent, took = asyncio.run(send_for(engine, settings(fake, url, LIMIT), limited_seconds))
            rate = sent / took
            print(
                f"{name}: provider limited to {LIMIT}/s, our pacing {LIMIT}/s: {sent:,} sent in "
                f"{took:.1f} s = {rate:.1f} msg/s = {rate / LIMIT:.0%} of the limit, "
                f"429s: {fake.count_429}"
            )
        with FakeTwilio(rate_limit_per_second=LIMIT) as fake:
            sent, took = asyncio.run(
                send_for(engine, settings(fake, url, LIMIT * 2), limited_seconds)
            )
            rate = sent / took
            print(
                f"{name}: provider limited to {LIMIT}/s, our pacing set too high ({LIMIT * 2}/s): "
                f"{sent:,} sent in {took:.1f} s = {rate:.1f} msg/s = {rate / LIMIT:.0%} of the "
                f"limit, 429s: {fake.count_429}, messages failed: {failed_count(engine)}"
            )
    finally:
        engine.dispose()
        if schema:
            with admin.begin() as connection:
                connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--database", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--limited-seconds", type=float, default=20.0)
    args = parser.parse_args()
    if args.database == "sqlite":
        with tempfile.TemporaryDirectory() as folder:
            url = f"sqlite:///{Path(folder) / 'bench.db'}"
            measure("sqlite", url, args.people, args.seconds, args.limited_seconds)
    else:
        measure("postgres", POSTGRES, args.people, args.seconds, args.limited_seconds)


if __name__ == "__main__":
    main()
