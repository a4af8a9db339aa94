"""Many rows in one INSERT, with their new ids in the order the rows were given; upserts built
once per dialect.

SQLite does not say which row a RETURNING row belongs to, so SQLAlchemy's ordered RETURNING
(`sort_by_parameter_order`) falls back to one INSERT per row there. Instead, the rows come
back with the columns that tell them apart and are matched on those: rows alike in every one
of them are interchangeable, so either id serves either row.

On PostgreSQL the rows go as one array per column, `INSERT ... SELECT FROM unnest(...)`: the
statement's text is the same for 2 rows or 64. A multi-row VALUES list is a new text for
every batch size with a parameter per value, which psycopg parses afresh each time (it caches
only statements of at most 50 parameters); that parsing was a fifth of a batch's CPU. SQLite
prepares a VALUES list of each size once and keeps it (bot/storage/db.py sizes its statement
cache for that), so rows go there in chunks of at most CHUNK.

Both run with the driver's own parameters (bot/storage/driver.py).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from functools import cache
from itertools import chain
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from bot.storage.driver import column_encoders, getter, plan

Insert = Callable[[sa.Table], Any]  # postgresql.insert or sqlite.insert: both have ON CONFLICT
Rows = Sequence[dict[str, Any]]
# Rows per SQLite INSERT: a group commit's batch at most, so each table has 64 texts at most.
CHUNK = 64


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
) -> list[Sequence[Any]]:
    """`rows` inserted by one statement, which `finish` completes (ON CONFLICT, RETURNING);
    statements are built once per `finish` (a function kept for good, not a lambda) and
    shape. Returns what RETURNING gave (nothing without it)."""
    if not rows:
        return []
    columns = tuple(rows[0])
    if any(tuple(row) != columns for row in rows):
        raise ValueError("rows inserted together must have the same columns")
    defaults = _defaults(table, columns)
    if defaults:
        given = {
            name: default.arg(None) if default.is_callable else default.arg
            for name, default in defaults
        }
        rows = [{**row, **given} for row in rows]
    columns = _in_table_order(table, frozenset(rows[0]))
    dialect = connection.dialect.name
    encode = column_encoders(table, columns, dialect)
    if dialect == "postgresql":
        statement = _unnest(table, finish, columns)
        arrays = encode.each([[row[name] for row in rows] for name in columns])
        return _run(connection, statement, arrays)
    returned: list[Sequence[Any]] = []
    values = getter(columns)
    for start in range(0, len(rows), CHUNK):
        chunk = rows[start : start + CHUNK]
        statement = _values(table, finish, columns, len(chunk))
        params = tuple(chain.from_iterable(encode.apply(values(row)) for row in chunk))
        returned += _run(connection, statement, params)
    return returned


@cache
def _in_table_order(table: sa.Table, names: frozenset[str]) -> tuple[str, ...]:
    """The order SQLAlchemy compiles an INSERT's columns in, whatever order rows gave."""
    return tuple(column.name for column in table.columns if column.name in names)


@cache
def _defaults(table: sa.Table, columns: tuple[str, ...]) -> tuple[tuple[str, Any], ...]:
    """The Python-side defaults of the columns not given, which SQLAlchemy would have filled
    in itself (a callable one is called once for the statement, as `from_select` does)."""
    return tuple(
        (column.name, column.default)
        for column in table.columns
        if column.name not in columns and column.default is not None
    )


def _run(connection: sa.Connection, statement: Any, params: Sequence[Any]) -> list[Any]:
    compiled = plan(statement, connection.dialect.name)
    result = connection.exec_driver_sql(compiled.sql, tuple(params))
    if not statement._returning:
        return []
    return [compiled.decode.apply(tuple(row)) for row in result]


@cache
def _values(
    table: sa.Table, finish: Callable[[Any], Any], columns: tuple[str, ...], count: int
) -> Any:
    """INSERT ... VALUES with `count` rows, its parameters row by row in column order."""
    rows = [
        {c: sa.bindparam(f"r{n}_{c}", type_=table.c[c].type) for c in columns} for n in range(count)
    ]
    statement = finish(sqlite.insert(table).values(rows))
    expected = tuple(f"r{n}_{c}" for n in range(count) for c in columns)
    if plan(statement, "sqlite").names != expected:
        raise AssertionError("a VALUES list compiled its parameters in another order")
    return statement


@cache
def _unnest(table: sa.Table, finish: Callable[[Any], Any], columns: tuple[str, ...]) -> Any:
    """INSERT ... SELECT FROM unnest(one array per column): JSON goes as text (psycopg cannot
    write an array of JSON values) and is cast back in SQL."""
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
    statement = finish(postgresql.insert(table).from_select(list(columns), select))
    if plan(statement, "postgresql").names != tuple(f"u_{c}" for c in columns):
        raise AssertionError("unnest compiled its arrays in another order")
    return statement


def _is_json(table: sa.Table, column: str) -> bool:
    return isinstance(table.c[column].type, sa.JSON)


def per_dialect(build: Callable[[Insert], Any]) -> dict[str, Any]:
    """An ON CONFLICT statement for each database we run on, by dialect name."""
    return {"postgresql": build(postgresql.insert), "sqlite": build(sqlite.insert)}
