"""The outbox dispatcher: claims due rows after commit and hands them to the channel senders.

Rows of one contact go out in order (the parts of a long answer stay in sequence); different
contacts are sent concurrently. Rate limits are each sender's business.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Collection, Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from itertools import groupby

from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.channels.base import Sender, SendResult, wait_turn
from bot.phones import mask
from bot.storage import outbox
from bot.storage.checkpoints import empty_log
from bot.storage.db import READ_ONLY
from bot.storage.models import utcnow

log = logging.getLogger(__name__)


class Dispatcher:
    def __init__(
        self,
        engine: Engine,
        senders: Mapping[str, Sender],
        lease: timedelta = timedelta(seconds=60),
        max_attempts: int = 4,
        clock: Callable[[], datetime] = utcnow,
        concurrency: int = 32,
    ) -> None:
        self.engine = engine
        self.senders = dict(senders)
        self.lease = lease
        self.max_attempts = max_attempts
        self.clock = clock
        self.concurrency = concurrency

    async def dispatch_once(
        self, limit: int = 200, contact_ids: Collection[int] | None = None
    ) -> int:
        """Send what is due now; returns how many rows were handled."""
        if not self.senders:
            return 0
        claimed = await asyncio.to_thread(self._claim, limit, contact_ids)
        slots = asyncio.Semaphore(self.concurrency)
        by_contact = groupby(sorted(claimed, key=lambda c: c.contact_id), lambda c: c.contact_id)
        await asyncio.gather(*(self._send_in_order(list(rows), slots) for _, rows in by_contact))
        return len(claimed)

    async def run(self, stop: asyncio.Event, idle_seconds: float = 1.0) -> None:
        while not stop.is_set():
            try:
                handled = await self.dispatch_once()
            except Exception:
                log.exception("dispatch failed; trying again shortly")
                handled = 0
            if not handled:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=idle_seconds)

    def _claim(self, limit: int, contact_ids: Collection[int] | None) -> list[outbox.Claimed]:
        with Session(self.engine, expire_on_commit=False) as db, db.begin():
            return outbox.claim(
                db, self.clock(), self.lease, self.senders, limit=limit, contact_ids=contact_ids
            )

    async def _send_in_order(self, rows: list[outbox.Claimed], slots: asyncio.Semaphore) -> None:
        # sorted() is stable, so each contact's rows keep the claim order (priority, id).
        for index, claimed in enumerate(rows):
            status, retry_at = await self._send_one(claimed, slots)
            if status == "queued" and retry_at is not None:
                # The rest of this contact's messages must not overtake the one being retried.
                rest = [r.envelope.id for r in rows[index + 1 :]]
                await asyncio.to_thread(self._release, rest, retry_at)
                return

    async def _send_one(
        self, claimed: outbox.Claimed, slots: asyncio.Semaphore
    ) -> tuple[str, datetime | None]:
        if claimed.skip_reason is not None:
            await asyncio.to_thread(self._skip, claimed)
            return "skipped", None
        sender = self.senders[claimed.envelope.channel]
        async with slots:
            await wait_turn(sender, claimed.envelope)
            if claimed.kind in outbox.UNSOLICITED:
                # The wait may be long (bulk at the provider's pace): STOP may have come.
                reason = (
                    self._unwanted_now(claimed)  # a SQLite read never waits: no thread hop
                    if self.engine.dialect.name == "sqlite"
                    else await asyncio.to_thread(self._unwanted_now, claimed)
                )
                if reason is not None:
                    await asyncio.to_thread(self._skip, replace(claimed, skip_reason=reason))
                    return "skipped", None
            try:
                result = await sender.send(claimed.envelope)
            except Exception as error:  # a sender bug or an unmapped provider error
                log.exception("sending message %s failed", claimed.envelope.id)
                result = SendResult("retry", error=type(error).__name__)
        status, retry_at = await asyncio.to_thread(self._record, claimed, result)
        log.info(
            "message %s to %s on %s: %s",
            claimed.envelope.id,
            mask(claimed.envelope.address),
            claimed.envelope.channel,
            status,
        )
        return status, retry_at

    def _unwanted_now(self, claimed: outbox.Claimed) -> str | None:
        with self.engine.connect().execution_options(**{READ_ONLY: True}) as connection:
            return outbox.unwanted_now(connection, claimed.contact_id)

    def _record(self, claimed: outbox.Claimed, result: SendResult) -> tuple[str, datetime | None]:
        with Session(self.engine) as db, db.begin():
            status, retry_at = outbox.record(db, claimed, result, self.clock(), self.max_attempts)
        if status != "queued":
            self._after(claimed)
        return status, retry_at

    def _skip(self, claimed: outbox.Claimed) -> None:
        self._write(lambda db: outbox.skip(db, claimed, self.clock()))
        self._after(claimed)

    def _after(self, claimed: outbox.Claimed) -> None:
        """The goodbye after an erasure was done with, and its address erased with it: no
        earlier page of the database file may keep them either."""
        if outbox.last_words(claimed):
            empty_log(self.engine)

    def _release(self, ids: list[int], until: datetime) -> None:
        self._write(lambda db: outbox.release(db, ids, until, self.clock()))

    def _write(self, action: Callable[[Session], object]) -> None:
        with Session(self.engine) as db, db.begin():
            action(db)
