"""Migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

import bot.storage.models  # noqa: F401
from bot.storage.db import normalise_url
from bot.storage.migrate import upgrade


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
