"""Many rows in one INSERT, with their new ids in the order the rows were given; upserts built
once per dialect.

SQLite does not say which row a RETURNING row belongs to, so SQLAlchemy's ordered RETURNING
(`sort_by_parameter_order`) falls back to one INSERT per row there. Instead, the rows come
back with the columns that tell them apart and are matched on those: rows alike in every one
of them are interchangeable, so either id serves either row.

On PostgreSQL the rows go as one array per column, `INSERT ... SELECT FROM unnest(...)`: the
statement's text is the same for 2 rows or 64. A multi-row VALUES list is a new text for
every batch size with a parameter per value, which psycopg parses afresh each time (it caches
only statements of at most 50 parameters); that parsing was a fifth of a batch's CPU.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from functools import cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

Insert = Callable[[sa.Table], Any]  # postgresql.insert or sqlite.insert: both have ON CONFLICT
Rows = Sequence[dict[str, Any]]


def insert_returning_ids(
    connection: sa.Connection, table: sa.Table, rows: Rows, keys: tuple[str, ...]
) -> list[int]:
    """Insert `rows` (all with the same columns) in one statement; their ids in order."""
    if not rows:
        return []
    free: dict[tuple[Any, ...], list[int]] = defaultdict(list)
    for row_id, *key in insert_rows(connection, table, rows, _returning(table, keys)):
        free[tuple(key)].append(row_id)
    return [free[tuple(row[k] for k in keys)].pop() for row in rows]


@cache
def _returning(table: sa.Table, keys: tuple[str, ...]) -> Callable[[Any], Any]:
    def finish(statement: Any) -> Any:
        return statement.returning(table.c.id, *(table.c[k] for k in keys))

    return finish


def insert_rows(
    connection: sa.Connection, table: sa.Table, rows: Rows, finish: Callable[[Any], Any]
) -> Iterable[Any]:
    """`rows` inserted by one statement, which `finish` completes (ON CONFLICT, RETURNING);
    statements are built once per `finish` (a function kept for good, not a lambda) and shape."""
    columns = tuple(rows[0])
    if any(tuple(row) != columns for row in rows):
        raise ValueError("rows inserted together must have the same columns")
    if connection.dialect.name != "postgresql":
        return connection.execute(_statement(sqlite.insert, table, finish), list(rows))
    statement = _statement(postgresql.insert, table, finish, columns)
    arrays = {}
    for c in columns:
        values = [row[c] for row in rows]
        # JSON goes as text (psycopg cannot write an array of JSON values), cast back in SQL;
        # serialised as SQLAlchemy's JSON type does by default.
        arrays[f"u_{c}"] = [json.dumps(v) for v in values] if _is_json(table, c) else values
    return connection.execute(statement, arrays)


def _is_json(table: sa.Table, column: str) -> bool:
    return isinstance(table.c[column].type, sa.JSON)


@cache
def _statement(
    insert: Insert, table: sa.Table, finish: Callable[[Any], Any], columns: tuple[str, ...] = ()
) -> Any:
    if not columns:
        return finish(insert(table))
    arrays = [
        sa.bindparam(
            f"u_{c}", type_=postgresql.ARRAY(sa.Text if _is_json(table, c) else table.c[c].type)
        )
        for c in columns
    ]
    source = sa.func.unnest(*arrays).table_valued(*columns).render_derived()
    select = sa.select(
        *(
            sa.cast(source.c[c], table.c[c].type) if _is_json(table, c) else source.c[c]
            for c in columns
        )
    )
    return finish(insert(table).from_select(list(columns), select))


def per_dialect(build: Callable[[Insert], Any]) -> dict[str, Any]:
    """An ON CONFLICT statement for each database we run on, by dialect name."""
    return {"postgresql": build(postgresql.insert), "sqlite": build(sqlite.insert)}
