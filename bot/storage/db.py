"""Database engines for SQLite (embedded default) and PostgreSQL (production)."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import URL, Engine, make_url

BUSY_SECONDS = 10  # how long a SQLite writer waits for another before giving up
# Execution option for a connection that only reads: no write lock taken on SQLite.
READ_ONLY = "bot_read_only"
STATEMENT_CACHE = 512  # prepared statements kept per SQLite connection (the driver's is 128)
# SQLAlchemy writes a statement's parameters (phone numbers, names, messages) into its error
# messages and echo logs unless told not to: every engine we make is told.
HIDDEN = {"hide_parameters": True}


def normalise_url(url: str) -> str:
    """Accept Heroku-style `postgres://` and plain `postgresql://` as psycopg 3 URLs."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def make_engine(url: str, background_checkpoints: bool = False, **kwargs: Any) -> Engine:
    """`background_checkpoints`: on SQLite, commits never copy the write-ahead log into the
    database file; a `Checkpointer` thread does (bot/storage/checkpoints.py)."""
    parsed = make_url(normalise_url(url))
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(parsed, background_checkpoints, **kwargs)
    return sa.create_engine(parsed, pool_pre_ping=True, **{**kwargs, **HIDDEN})


def _sqlite_engine(url: URL, background_checkpoints: bool, **kwargs: Any) -> Engine:
    if url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    # Multi-row INSERTs have one text per number of rows (bot/storage/inserts.py): room for
    # them all besides everything else, or SQLite would prepare them again and again.
    connect_args = {"check_same_thread": False, "cached_statements": STATEMENT_CACHE}
    engine = sa.create_engine(url, connect_args=connect_args, **{**kwargs, **HIDDEN})

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide when transactions begin (see _on_begin).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        # Deleted and overwritten rows are zeroed in the file, not left in free space: an
        # erasure must not stay readable in the database's bytes. Debian's SQLite does this
        # by default, other builds do not.
        cursor.execute("PRAGMA secure_delete=ON")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_SECONDS * 1000}")
        if background_checkpoints:
            cursor.execute("PRAGMA wal_autocheckpoint=0")
        cursor.close()

    # One transaction at a time within the process, handed over in turn: SQLite's own
    # busy handler polls with growing sleeps, so under load a waiting writer could sleep
    # for seconds while the lock sat free. Other processes still meet BEGIN IMMEDIATE.
    turn = threading.RLock()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        if connection.get_execution_options().get(READ_ONLY):
            # A plain read: in WAL mode it never waits for writers, nor they for it.
            connection.exec_driver_sql("BEGIN")
            return
        held = turn.acquire(timeout=BUSY_SECONDS)
        connection.info["turn"] = held
        # Take the write lock up front: two turns that both read then write would otherwise
        # deadlock on the lock upgrade and one would fail with "database is locked".
        try:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        except Exception:
            _give_turn(connection)
            raise

    def _give_turn(connection: Any) -> None:
        if connection.info.pop("turn", False):
            turn.release()

    sa.event.listen(engine, "commit", _give_turn)
    sa.event.listen(engine, "rollback", _give_turn)
    return engine


def is_postgres(engine: Engine) -> bool:
    return engine.dialect.name == "postgresql"
