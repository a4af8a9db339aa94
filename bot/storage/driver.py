"""The statements every message runs, compiled once by SQLAlchemy and run on the driver's own
cursor.

A batch of turns runs a handful of statements over up to 64 rows each. Through SQLAlchemy's
execution, every row became a dictionary of parameters, every value went through its type's
processors (a message writes 13 datetimes, each formatted by the SQLite dialect with `%` and
read back through a regular expression), and every statement built a result with its column
metadata: that cost more than the database took to run them. Here the text still comes from
the Core statement (its columns, quoting, casts and ON CONFLICT clauses), compiled once per
dialect; rows go to the driver as tuples; the only conversions are those our column types
need, written once below and checked against SQLAlchemy's own processors by the tests; and
`run` executes on the transaction's own DBAPI connection, still firing the engine's cursor
events and raising SQLAlchemy's errors (an `IntegrityError` is still one).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache, cached_property
from operator import itemgetter
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from bot.storage.models import UTCDateTime

Convert = Callable[[Any], Any]

# Positional parameters on both: SQLite's `?`, and `%s` for psycopg (SQLAlchemy's own
# psycopg dialect names them, `%(name)s`, which would need a dictionary per row).
_COMPILERS: dict[str, sa.Dialect] = {
    "sqlite": sqlite.pysqlite.dialect(),
    "postgresql": postgresql.psycopg.dialect(paramstyle="format"),
}


def utc(value: datetime) -> datetime:
    """An aware time in UTC; a naive one is refused, as the column type refuses it."""
    if value.tzinfo is None:
        raise ValueError("naive datetime given to the database; use an aware one")
    return value.astimezone(UTC)


# The last time written and its text: a turn writes its moment into about nine columns.
_last_time: tuple[datetime | None, str] = (None, "")


def _utc_text(value: datetime) -> str:
    """As SQLAlchemy's SQLite dialect writes a DateTime: UTC, microseconds always shown."""
    global _last_time
    last, text = _last_time  # one read: another thread may replace the pair meanwhile
    if value is last:
        return text
    text = utc(value).replace(tzinfo=None).isoformat(" ", "microseconds")
    _last_time = (value, text)
    return text


def _from_utc_text(value: str) -> datetime:
    return datetime.fromisoformat(value).replace(tzinfo=UTC)


def _as_utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def encoder(type_: sa.types.TypeEngine[Any], dialect: str) -> Convert | None:
    """What a value of this column type becomes as a driver parameter (None: as it is)."""
    if isinstance(type_, UTCDateTime):
        return _utc_text if dialect == "sqlite" else utc
    if isinstance(type_, sa.JSON):
        return json.dumps  # SQLAlchemy's default serialiser; PostgreSQL casts the text
    return None


def decoder(type_: sa.types.TypeEngine[Any], dialect: str) -> Convert | None:
    """What a driver value of this column type is read as (None: as it is)."""
    if isinstance(type_, UTCDateTime):
        return _from_utc_text if dialect == "sqlite" else _as_utc
    if dialect == "sqlite" and isinstance(type_, sa.Boolean):
        return bool
    if dialect == "sqlite" and isinstance(type_, sa.JSON):
        return json.loads  # psycopg reads JSON itself
    return None


@dataclass(frozen=True)
class Conversions:
    """The conversions a row's values need, by position: most positions need none."""

    at: tuple[tuple[int, Convert], ...]

    @classmethod
    def of(cls, converts: Iterable[Convert | None]) -> Conversions:
        return cls(tuple((i, c) for i, c in enumerate(converts) if c is not None))

    def apply(self, values: tuple[Any, ...]) -> tuple[Any, ...]:
        if not self.at:
            return values
        converted = list(values)
        for index, convert in self.at:
            if (value := converted[index]) is not None:
                converted[index] = convert(value)
        return tuple(converted)  # the driver takes a sequence of rows only as tuples


def getter(names: Sequence[str]) -> Callable[[Mapping[str, Any]], tuple[Any, ...]]:
    """The values of `names` from a mapping, as a tuple (itemgetter, in C)."""
    if len(names) == 1:
        (name,) = names
        return lambda values: (values[name],)
    return itemgetter(*names)


@dataclass(frozen=True)
class Plan:
    """A compiled statement: its text, its parameters in order and how to encode them, and
    how to decode the columns it returns."""

    sql: str
    names: tuple[str, ...]
    encode: Conversions
    decode: Conversions
    fixed: Mapping[str, Any]  # values the statement carries itself (`.values(role="x")`)

    def params(self, values: Mapping[str, Any]) -> tuple[Any, ...]:
        if not self.names:
            return ()
        if self.fixed:
            values = {**self.fixed, **values}
        return self.encode.apply(self._values(values))

    @cached_property
    def _values(self) -> Callable[[Mapping[str, Any]], tuple[Any, ...]]:
        return getter(self.names)


@cache
def plan(statement: Any, dialect: str) -> Plan:
    """Built once per statement object and dialect: keep the statements themselves for good
    (module constants, or cached builders)."""
    compiled = statement.compile(dialect=_COMPILERS[dialect])
    names = tuple(compiled.positiontup or ())
    encoders = (encoder(compiled.binds[name].type, dialect) for name in names)
    returned = getattr(statement, "selected_columns", None)
    if returned is None and statement._returning:  # an INSERT or UPDATE ... RETURNING
        returned = statement._returning
    decoders = (decoder(column.type, dialect) for column in returned or ())
    # Column defaults are not run here: statements give every value (see inserts.py).
    fixed = {name: compiled.binds[name].value for name in names}
    fixed = {name: value for name, value in fixed.items() if value is not None}
    return Plan(compiled.string, names, Conversions.of(encoders), Conversions.of(decoders), fixed)


def fetch(
    connection: sa.Connection, statement: Any, values: Mapping[str, Any]
) -> list[Sequence[Any]]:
    """The statement's rows, read as its column types say."""
    compiled = plan(statement, connection.dialect.name)
    cursor = run(connection, compiled.sql, compiled.params(values))
    return [compiled.decode.apply(row) for row in cursor.fetchall()]


def execute_many(
    connection: sa.Connection, statement: Any, rows: Iterable[Mapping[str, Any]]
) -> None:
    """One statement for many rows (the driver's executemany): UPDATEs and upserts."""
    compiled = plan(statement, connection.dialect.name)
    params = [compiled.params(row) for row in rows]
    if params:
        run(connection, compiled.sql, params, many=True)


def run(connection: sa.Connection, sql: str, params: Any, many: bool = False) -> Any:
    """Execute on the transaction's own DBAPI connection; the cursor, to read from.

    `exec_driver_sql` would build a result with its column metadata for every statement:
    half of what a transaction of one message cost. Here the engine's cursor events are
    still told of every statement, and a driver error becomes SQLAlchemy's (an
    `IntegrityError` is still one; a lost connection is invalidated), as it would there."""
    dbapi_connection = connection.connection.dbapi_connection
    assert dbapi_connection is not None
    cursor = dbapi_connection.cursor()
    for listener in connection.dispatch.before_cursor_execute:
        listener(connection, cursor, sql, params, None, many)
    dialect = connection.dialect
    try:
        if many:
            cursor.executemany(sql, params)
        else:
            cursor.execute(sql, params)
    except dialect.loaded_dbapi.Error as error:
        lost = dialect.is_disconnect(error, dbapi_connection, cursor)
        if lost:
            connection.invalidate(error)
        raise sa.exc.DBAPIError.instance(
            sql,
            params,
            error,
            dialect.loaded_dbapi.Error,
            hide_parameters=connection.engine.hide_parameters,
            connection_invalidated=lost,
            dialect=dialect,
        ) from error
    for listener in connection.dispatch.after_cursor_execute:
        listener(connection, cursor, sql, params, None, many)
    return cursor


@cache
def column_encoders(table: sa.Table, columns: tuple[str, ...], dialect: str) -> Conversions:
    """How values of these columns of `table` are encoded, in this order."""
    return Conversions.of(encoder(table.c[name].type, dialect) for name in columns)
