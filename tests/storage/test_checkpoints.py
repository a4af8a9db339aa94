"""SQLite checkpoints off the commit path: commits only append to the log; the checkpointer's
thread copies it into the database file."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bot.storage.checkpoints import Checkpointer
from bot.storage.db import make_engine
from tests.waiting import wait_until

ROWS = 4000  # about 2,000 pages: twice what makes SQLite checkpoint at commit by default


def _write(engine: Engine, start: int) -> None:
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE IF NOT EXISTS filler (id INTEGER, text TEXT)")
    for first in range(start, start + ROWS, 100):  # many commits, as webhooks make
        with engine.begin() as connection:
            rows = [(n, "x" * 2000) for n in range(first, first + 100)]
            connection.exec_driver_sql("INSERT INTO filler VALUES (?, ?)", rows)


@pytest.fixture
def database(tmp_path: Path) -> Path:
    return tmp_path / "bot.db"


@pytest.fixture
def background(database: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{database}", background_checkpoints=True)
    yield engine
    engine.dispose()


def test_commits_leave_the_log_to_the_checkpointer(database: Path, background: Engine) -> None:
    _write(background, 0)
    size = database.stat().st_size
    busy, logged, copied = Checkpointer(background).checkpoint()
    assert size < 100_000  # nothing was copied into the database file by a commit
    assert busy == 0 and logged > 1000 and copied == logged
    assert database.stat().st_size > 4_000_000


def test_by_default_commits_copy_the_log_themselves(tmp_path: Path) -> None:
    database = tmp_path / "cli.db"
    engine = make_engine(f"sqlite:///{database}")
    _write(engine, 0)
    assert database.stat().st_size > 4_000_000  # a commit checkpointed on its way
    engine.dispose()


def test_the_checkpointer_thread_copies_the_log_while_writes_go_on(
    database: Path, background: Engine
) -> None:
    checkpoints = Checkpointer(background, interval=0.05)
    checkpoints.start()
    try:
        _write(background, 0)
        wait_until(
            lambda: database.stat().st_size > 4_000_000,
            message=lambda: f"the log copied into the file ({database.stat().st_size} bytes)",
        )
    finally:
        checkpoints.stop()
    with background.connect() as connection:
        count = connection.execute(sa.text("SELECT count(*) FROM filler")).scalar_one()
    assert count == ROWS


@pytest.mark.postgres
def test_other_databases_need_no_checkpointer(postgres_engine: Engine) -> None:
    checkpoints = Checkpointer(postgres_engine)
    checkpoints.start()
    assert checkpoints._thread is None  # nothing to do, nothing started
    checkpoints.stop()
