"""Many rows written by one statement: INSERTs with their new ids in the order the rows were
given, upserts, and UPDATEs of many rows by key.

SQLite does not say which row a RETURNING row belongs to, so SQLAlchemy's ordered RETURNING
(`sort_by_parameter_order`) falls back to one INSERT per row there. Instead, the rows come
back with the columns that tell them apart and are matched on those: rows alike in every one
of them are interchangeable, so either id serves either row.

On SQLite an INSERT is a VALUES list: compiled for one row, its group repeated for as many
rows as there are (in chunks of at most CHUNK), each text prepared once by SQLite and kept
(bot/storage/db.py sizes the statement cache for that); an UPDATE is the driver's
executemany, all of it in C.

On PostgreSQL the rows go as one JSON document, read by `json_to_recordset`: one statement
text and one parameter for 2 rows or 64, serialised by the json module in C and taken apart
by the server, in its own process. (A VALUES list is a new text for each number of rows,
which psycopg parses afresh each time; one array per column made psycopg escape every value
in Python; executemany, even pipelined, cost psycopg's Python per row.)

Statements are compiled once (bot/storage/driver.py) and run with the driver's parameters.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import datetime
from functools import cache, lru_cache
from itertools import chain
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from bot.storage.driver import column_encoders, execute_many, getter, plan, run, utc

Rows = Sequence[dict[str, Any]]
Finish = Callable[[Any], Any]  # completes an INSERT: ON CONFLICT, RETURNING
# Rows per SQLite INSERT: a group commit's batch at most, so each table has 64 texts at most.
CHUNK = 64
KEY = "b_id"  # the key of the row an UPDATE's values are for


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
def _returning(table: sa.Table, keys: tuple[str, ...]) -> Finish:
    def finish(statement: Any) -> Any:
        return statement.returning(table.c.id, *(table.c[k] for k in keys))

    return finish


def insert_rows(
    connection: sa.Connection, table: sa.Table, rows: Rows, finish: Finish
) -> list[Sequence[Any]]:
    """`rows` inserted by one statement, which `finish` completes (ON CONFLICT, RETURNING);
    statements are built once per `finish` (a function kept for good, not a lambda) and
    shape. Returns what RETURNING gave (nothing without it)."""
    if not rows:
        return []
    _same_columns(rows)
    defaults = _defaults(table, tuple(rows[0]))
    if defaults:
        given = {
            name: default.arg(None) if default.is_callable else default.arg
            for name, default in defaults
        }
        rows = [{**row, **given} for row in rows]
    columns = _in_table_order(table, frozenset(rows[0]))
    if connection.dialect.name == "postgresql":
        statement = _insert_recordset(table, finish, columns)
        return _run(connection, statement, (recordset(table, rows),))
    encode = column_encoders(table, columns, "sqlite")
    values = getter(columns)
    compiled = plan(_one_row(table, finish, columns), "sqlite")
    returned: list[Sequence[Any]] = []
    for start in range(0, len(rows), CHUNK):
        chunk = rows[start : start + CHUNK]
        params = tuple(chain.from_iterable(encode.apply(values(row)) for row in chunk))
        cursor = run(connection, values_text(compiled.sql, len(columns), len(chunk)), params)
        returned += [compiled.decode.apply(row) for row in cursor.fetchall()]
    return returned


def update_rows(
    connection: sa.Connection,
    table: sa.Table,
    key: str,
    rows: Rows,
    json_text: tuple[str, ...] = (),
) -> None:
    """Set each row's values on the row of `table` whose `key` column is the row's `b_id`.
    Columns named in `json_text` are given as JSON text already (a turn's stored state)."""
    if not rows:
        return
    _same_columns(rows)
    columns = tuple(name for name in rows[0] if name != KEY)
    if connection.dialect.name == "postgresql":
        statement = _update_recordset(table, key, columns)
        _run(connection, statement, (recordset(table, rows, json_text),))
    else:
        execute_many(connection, _update(table, key, columns, json_text), rows)


def _same_columns(rows: Rows) -> None:
    first = rows[0].keys()
    if any(row.keys() != first for row in rows):
        raise ValueError("rows written together must have the same columns")


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
    cursor = run(connection, compiled.sql, tuple(params))
    if not statement._returning:
        return []
    return [compiled.decode.apply(row) for row in cursor.fetchall()]


# -- SQLite ---------------------------------------------------------------------------------


@cache
def _one_row(table: sa.Table, finish: Finish, columns: tuple[str, ...]) -> Any:
    """The INSERT of one row, compiled once; `values_text` repeats its VALUES group."""
    row = {c: sa.bindparam(c, type_=table.c[c].type) for c in columns}
    statement = finish(sqlite.insert(table).values(row))
    if plan(statement, "sqlite").names != columns:
        raise AssertionError("an INSERT compiled its parameters in another order")
    return statement


@lru_cache(maxsize=1024)
def values_text(one_row: str, width: int, count: int) -> str:
    """The one-row INSERT's text with `count` rows in its VALUES list. Built from the text
    SQLAlchemy compiled for one row, not compiled again for each number of rows: compiling a
    list of 64 rows took longer than storing them, for each new number of rows a batch had."""
    group = "(" + ", ".join("?" * width) + ")"
    head, found, tail = one_row.partition(f" VALUES {group}")
    if not found or group in tail:
        raise ValueError(f"not a one-row INSERT: {one_row}")
    return f"{head} VALUES {', '.join([group] * count)}{tail}"


@cache
def _update(table: sa.Table, key: str, columns: tuple[str, ...], json_text: tuple[str, ...]) -> Any:
    values = {
        c: sa.bindparam(c, type_=sa.Text if c in json_text else table.c[c].type) for c in columns
    }
    return sa.update(table).where(table.c[key] == sa.bindparam(KEY)).values(values)


# -- PostgreSQL -----------------------------------------------------------------------------


def recordset(table: sa.Table, rows: Rows, json_text: tuple[str, ...] = ()) -> str:
    """The rows as one JSON array of objects. JSON columns travel as text (a JSON string
    inside the document) and are cast back in SQL; times as ISO 8601 in UTC."""
    json_columns = [c for c in rows[0] if c in table.c and _is_json(table, c)]
    dumped = [c for c in json_columns if c not in json_text]
    if dumped:
        rows = [{**row, **{c: json.dumps(row[c]) for c in dumped}} for row in rows]
    return json.dumps(rows, default=_json_default)


def _json_default(value: Any) -> str:
    if isinstance(value, datetime):
        return utc(value).isoformat()
    raise TypeError(f"{type(value).__name__} cannot be written to the database")


@cache
def _source(table: sa.Table, columns: tuple[str, ...], key: str | None = None) -> Any:
    """`json_to_recordset(%s::JSON) AS r(column type, ...)`, JSON columns typed as text;
    with `key`, the `b_id` of each row too, typed as that column."""
    typed = [sa.column(c, sa.Text if _is_json(table, c) else table.c[c].type) for c in columns]
    if key is not None:
        typed.insert(0, sa.column(KEY, table.c[key].type))
    rows = sa.bindparam("rows", type_=postgresql.JSON)
    return sa.func.json_to_recordset(rows).table_valued(*typed).render_derived(with_types=True)


def _read(source: Any, table: sa.Table, column: str) -> Any:
    value = source.c[column]
    return sa.cast(value, table.c[column].type) if _is_json(table, column) else value


@cache
def _insert_recordset(table: sa.Table, finish: Finish, columns: tuple[str, ...]) -> Any:
    source = _source(table, columns)
    select = sa.select(*(_read(source, table, c) for c in columns))
    return finish(postgresql.insert(table).from_select(list(columns), select))


@cache
def _update_recordset(table: sa.Table, key: str, columns: tuple[str, ...]) -> Any:
    source = _source(table, columns, key)
    values = {c: _read(source, table, c) for c in columns}
    return sa.update(table).values(values).where(table.c[key] == source.c[KEY])


def _is_json(table: sa.Table, column: str) -> bool:
    return isinstance(table.c[column].type, sa.JSON)
