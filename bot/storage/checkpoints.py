"""SQLite's write-ahead log copied into the database file from a thread of its own.

By default the commit that finds the log past 1,000 pages does the copy, and waits for it
to reach the disk: under steady webhooks that was one transaction in a few hundred taking
50 to 120 ms instead of 2, with every message of its batch, and every webhook behind it,
waiting too (the p99 latency of the web process was those pauses). The web process's
engine is made with `background_checkpoints=True`, which leaves commits to append only,
and runs a `Checkpointer`: a PASSIVE checkpoint each second copies what no reader still
needs, without waiting for writers, which go on appending meanwhile. Other processes keep
SQLite's own checkpoints, and the last connection to close checkpoints what is left.
"""

from __future__ import annotations

import logging
import threading

from sqlalchemy.engine import Engine

log = logging.getLogger(__name__)

CHECKPOINT_SECONDS = 1.0


class Checkpointer:
    def __init__(self, engine: Engine, interval: float = CHECKPOINT_SECONDS) -> None:
        self.engine = engine
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self.engine.dialect.name != "sqlite" or self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="wal-checkpoints", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        thread, self._thread = self._thread, None
        if thread is not None:
            self._stop.set()
            thread.join(10)
        if self.engine.dialect.name == "sqlite":
            self.checkpoint()  # what the last second wrote

    def checkpoint(self) -> tuple[int, int, int]:
        """(busy, pages in the log, pages copied), as SQLite reports them."""
        # A connection of its own, outside any transaction: no BEGIN, no turn to wait for.
        connection = self.engine.raw_connection()
        try:
            cursor = connection.cursor()
            busy, logged, copied = cursor.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            cursor.close()
            return int(busy), int(logged), int(copied)
        finally:
            connection.close()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.checkpoint()
            except Exception:  # the driver's own errors: this runs outside SQLAlchemy
                log.exception("a WAL checkpoint failed; trying again")


def empty_log(engine: Engine) -> bool:
    """After an erasure: SQLite's log still holds pages as they were before it, with what was
    erased. Copy the log into the database (whose freed space `secure_delete` zeroes) and
    truncate it. False if a reader kept it in use past the busy timeout: the next erasure,
    or the last connection to close, empties it. Nothing to do on PostgreSQL."""
    if engine.dialect.name != "sqlite":
        return True
    connection = engine.raw_connection()
    try:
        cursor = connection.cursor()
        busy, _, _ = cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        cursor.close()
    finally:
        connection.close()
    if busy:
        log.warning("the write-ahead log could not be emptied after an erasure: in use")
    return not busy
