"""Many rows in one INSERT, with their new ids in the order the rows were given; upserts built
once per dialect.

SQLite does not say which row a RETURNING row belongs to, so SQLAlchemy's ordered RETURNING
(`sort_by_parameter_order`) falls back to one INSERT per row there. Instead, the rows come
back with the columns that tell them apart and are matched on those: rows alike in every one
of them are interchangeable, so either id serves either row.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from functools import cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

Insert = Callable[[sa.Table], Any]  # postgresql.insert or sqlite.insert: both have ON CONFLICT


def insert_returning_ids(
    connection: sa.Connection,
    table: sa.Table,
    rows: Sequence[dict[str, Any]],
    keys: tuple[str, ...],
) -> list[int]:
    """Insert `rows` (SQLAlchemy batches them into multi-row INSERTs); their ids in order."""
    if not rows:
        return []
    free: dict[tuple[Any, ...], list[int]] = defaultdict(list)
    for row_id, *key in connection.execute(_statement(table, keys), list(rows)):
        free[tuple(key)].append(row_id)
    return [free[tuple(row[k] for k in keys)].pop() for row in rows]


@cache
def _statement(table: sa.Table, keys: tuple[str, ...]) -> Any:
    return sa.insert(table).returning(table.c.id, *(table.c[k] for k in keys))


def per_dialect(build: Callable[[Insert], Any]) -> dict[str, Any]:
    """An ON CONFLICT statement for each database we run on, by dialect name."""
    return {"postgresql": build(postgresql.insert), "sqlite": build(sqlite.insert)}
