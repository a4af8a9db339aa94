"""Migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

import bot.storage.models  # noqa: F401
from bot.storage.db import normalise_url
from bot.storage.migrate import alembic_config, upgrade


def test_the_migrated_schema_matches_the_models(db_engine: Engine) -> None:
    with db_engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, SQLModel.metadata)
    assert differences == []


def test_upgrading_twice_is_harmless(db_engine: Engine) -> None:
    upgrade(db_engine)
    upgrade(db_engine)


def test_heroku_style_urls_are_accepted() -> None:
    assert normalise_url("postgres://u:p@h:5432/d") == "postgresql+psycopg://u:p@h:5432/d"
    assert normalise_url("postgresql://u@h/d") == "postgresql+psycopg://u@h/d"
    assert normalise_url("sqlite:///data/bot.db") == "sqlite:///data/bot.db"


def test_people_already_stored_keep_working_after_an_upgrade(db_engine: Engine) -> None:
    """Going down to 0002 and up again: a new NOT NULL column needs a default for old rows."""
    config = alembic_config(db_engine.url.render_as_string(hide_password=False))
    with db_engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0002")
    with db_engine.begin() as connection:
        connection.execute(
            sa.text(
                "INSERT INTO person (zawgyi, role, created_at, updated_at) "
                "VALUES (false, 'smallholder', :now, :now)"
            ),
            {"now": datetime(2026, 1, 1, tzinfo=UTC)},
        )
    upgrade(db_engine)
    with db_engine.connect() as connection:
        assert connection.execute(sa.text("SELECT reminders FROM person")).scalar() == "all"
