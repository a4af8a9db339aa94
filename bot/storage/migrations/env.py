"""Alembic environment: runs migrations on the engine `bot db upgrade` built."""

from __future__ import annotations

from typing import Any, Literal

from alembic import context
from sqlalchemy.engine import Connection
from sqlmodel import SQLModel
from sqlmodel.sql.sqltypes import AutoString

from bot.storage.db import make_engine
from bot.storage.models import UTCDateTime  # importing the models registers the tables

SCHEDULER_TABLE = "apscheduler_jobs"
config = context.config
target_metadata = SQLModel.metadata


def run_migrations() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(config.get_main_option("sqlalchemy.url") or "")
    try:
        with engine.connect() as connection:
            _run(connection)
    finally:
        engine.dispose()


def render_item(kind: str, obj: Any, _context: Any) -> str | Literal[False]:
    """Write plain SQLAlchemy types into migrations, so they never import our models."""
    if kind == "type" and isinstance(obj, AutoString):
        return f"sa.String(length={obj.length})" if obj.length else "sa.Text()"
    if kind == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def include_object(obj: Any, name: str | None, kind: str, reflected: bool, other: Any) -> bool:
    """The reminder scheduler's job table belongs to APScheduler, which creates it itself."""
    return not (kind == "table" and name == SCHEDULER_TABLE)


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_item=render_item,
        include_object=include_object,
        # SQLite cannot ALTER most things: Alembic rebuilds the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations()
