"""Bulk writes of many rows at once, for the import, the demo and the search index.

Django's ``bulk_create`` spends most of its time building model instances and compiling SQL
(about four fifths of an import's write time on SQLite, where it may also bind only 999
parameters per statement); one prepared statement run by ``executemany`` over many parameter
tuples does the same work several times faster, on SQLite and PostgreSQL alike.

Rows are named: each is a mapping from a field's name (``household`` or ``household_id`` for a
foreign key, whose value is the id) to its value, so callers never keep columns in step with
positions. This module builds the column list, the statement and the parameter tuples. Dates,
times and values of other non-plain fields (JSON, decimals, UUIDs) are converted exactly as the
ORM would convert them; an insert gives a field it was not given its default (``auto_now`` and
``auto_now_add`` fields: the current time), so a field added later with a default does not break
a caller. No signals run and nothing is validated: callers validate first.

On PostgreSQL, ``insert`` and ``insert_values`` stream the rows with ``COPY`` instead (see
``_copy``); ``upsert``, ``update`` and inserts that ignore conflicts stay statements.

``large_cache`` and ``deferred_indexes`` make a long SQLite load cheaper; both do nothing on
PostgreSQL.

Core is the bottom layer: nothing here imports an app.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from itertools import islice
from operator import itemgetter
from typing import Any

from django.db import connection, models
from django.db.models.fields import AutoFieldMixin
from django.utils import timezone

Row = Mapping[str, Any]
BATCH = 5_000  # parameter tuples built and sent per ``executemany``

# Values of these fields go to the driver as they are: the ORM's own preparation of them is
# int()/str() of what already is an int or a str.
_PLAIN = (
    models.IntegerField,  # and the automatic primary keys
    models.CharField,
    models.TextField,
    models.BooleanField,
    models.FloatField,
    models.ForeignKey,
)


def _quote(name: str | None) -> str:
    assert name
    return connection.ops.quote_name(name)


def _field(model: type[models.Model], name: str) -> models.Field:
    """The concrete field called ``name`` or whose attname is ``name`` (``household_id``)."""
    field = model._meta.get_field(name) if name != "pk" else model._meta.pk
    assert isinstance(field, models.Field) and field.concrete, f"{model.__name__}.{name} is not a column"
    return field


def _adapter(field: models.Field) -> Callable[[Any], Any] | None:
    """How to turn a Python value into what the driver takes, or None to pass it unchanged.

    Dates and times repeat a lot in bulk (one ``now`` for every row), so their forms are cached.
    """
    if isinstance(field, _PLAIN):
        return None
    if isinstance(field, models.DateTimeField):
        convert: Callable[[Any], Any] = connection.ops.adapt_datetimefield_value
    elif isinstance(field, models.DateField):
        convert = connection.ops.adapt_datefield_value
    elif isinstance(field, models.TimeField):
        convert = connection.ops.adapt_timefield_value
    else:
        return lambda value: field.get_db_prep_save(value, connection)
    seen: dict[Any, Any] = {}

    def adapt(value: Any) -> Any:
        try:
            return seen[value]
        except KeyError:
            result = seen[value] = convert(value)
            return result

    return adapt


def _default(field: models.Field, now: dt.datetime) -> Any:
    if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
        value: Any = now if isinstance(field, models.DateTimeField) else timezone.localdate(now)
    else:
        value = field.get_default()
    return field.get_db_prep_save(value, connection)


class _Statement:
    """Parameter tuples for ``fields`` (in that order) from named rows, plus constant columns."""

    def __init__(self, model: type[models.Model], fields: Sequence[str], constants: Sequence[Any] = ()) -> None:
        self.fields = [_field(model, name) for name in fields]
        getter = itemgetter(*fields)
        self.get: Callable[[Row], tuple[Any, ...]] = getter if len(fields) > 1 else lambda row: (getter(row),)
        self.adapters = [(i, a) for i, f in enumerate(self.fields) if (a := _adapter(f)) is not None]
        self.constants = tuple(constants)

    def params(self, rows: Iterable[Row]) -> Iterator[tuple[Any, ...]]:
        if not self.adapters and not self.constants:
            return map(self.get, rows)  # the common case of millions of key rows: no Python loop
        return self._converted(rows)

    def _converted(self, rows: Iterable[Row]) -> Iterator[tuple[Any, ...]]:
        get, adapters, constants = self.get, self.adapters, self.constants
        for row in rows:
            if adapters:
                values = list(get(row))
                for i, adapt in adapters:
                    values[i] = adapt(values[i])
                yield (*values, *constants)
            else:
                yield (*get(row), *constants)


def _names(rows: Sequence[Row], fields: Sequence[str] | None) -> list[str]:
    return list(fields if fields is not None else rows[0].keys())


def _run(sql: str, params: Iterator[tuple[Any, ...]], batch: int) -> None:
    with connection.cursor() as cursor:
        while chunk := list(islice(params, batch)):
            cursor.executemany(sql, chunk)


def _copy(model: type[models.Model], columns: Sequence[models.Field], params: Iterator[tuple[Any, ...]]) -> None:
    """PostgreSQL: the rows through one ``COPY … FROM STDIN`` (psycopg 3's ``cursor.copy``).

    ``executemany`` of an ``INSERT`` makes the server parse and plan every row again (Django's
    psycopg cursors bind on the client, so there is no prepared statement to reuse): at an
    import's millions of rows the backend spent most of its time in ``PARSE``. ``COPY`` streams
    the rows into the table in one statement, in the same transaction, checking the same
    constraints. Values are the ones ``executemany`` would bind; psycopg writes them in COPY's
    text format (``None`` as NULL, JSON through its ``Jsonb`` wrapper).
    """
    column_list = ", ".join(_quote(f.column) for f in columns)
    # The driver's own cursor, so errors are turned into Django's (IntegrityError…) here.
    sql = f"COPY {_quote(model._meta.db_table)} ({column_list}) FROM STDIN"
    with connection.cursor() as cursor, connection.wrap_database_errors, cursor.cursor.copy(sql) as copy:
        write = copy.write_row
        for row in params:
            write(row)


def _insert_columns(
    model: type[models.Model], rows: Sequence[Row], fields: Sequence[str] | None
) -> tuple[list[models.Field], _Statement]:
    names = _names(rows, fields)
    given = [_field(model, name) for name in names]
    now = timezone.now()
    # Every other column but an automatic primary key gets its default.
    rest = [f for f in model._meta.concrete_fields if f not in given and not isinstance(f, AutoFieldMixin)]
    return [*given, *rest], _Statement(model, names, [_default(f, now) for f in rest])


def _insert_sql(model: type[models.Model], rows: Sequence[Row], fields: Sequence[str] | None) -> tuple[str, _Statement]:
    columns, statement = _insert_columns(model, rows, fields)
    placeholders = ", ".join(["%s"] * len(columns))
    column_list = ", ".join(_quote(f.column) for f in columns)
    return f"INSERT INTO {_quote(model._meta.db_table)} ({column_list}) VALUES ({placeholders})", statement


def _copies() -> bool:
    return connection.vendor == "postgresql"


def insert(
    model: type[models.Model],
    rows: Sequence[Row],
    *,
    fields: Sequence[str] | None = None,
    ignore_conflicts: bool = False,
    batch: int = BATCH,
) -> int:
    """Insert ``rows`` (all with the same names: ``fields``, or the first row's keys).

    ``ignore_conflicts`` skips a row that would break a unique constraint (``ON CONFLICT DO
    NOTHING``, the same on SQLite ≥ 3.24 and PostgreSQL). Returns the number of rows given.
    """
    if not rows:
        return 0
    if _copies() and not ignore_conflicts:
        columns, statement = _insert_columns(model, rows, fields)
        _copy(model, columns, statement.params(rows))
        return len(rows)
    sql, statement = _insert_sql(model, rows, fields)
    if ignore_conflicts:
        sql += " ON CONFLICT DO NOTHING"
    _run(sql, statement.params(rows), batch)
    return len(rows)


def insert_values(model: type[models.Model], fields: Sequence[str], values: Sequence[tuple[Any, ...]]) -> int:
    """``insert`` for rows that are already tuples in ``fields`` order, of fields whose values go
    to the driver unchanged (integers, text, foreign keys: no dates), for the millions of search
    keys an import writes. Returns the number of rows given."""
    if not values:
        return 0
    statement = _Statement(model, fields)
    assert not statement.adapters, f"insert_values takes plain fields only, not {fields}"
    columns, full = _insert_columns(model, [], fields)
    constants = full.constants
    params = iter(values) if not constants else ((*row, *constants) for row in values)
    if _copies():
        _copy(model, columns, params)
    else:
        sql, _full = _insert_sql(model, [], fields)
        _run(sql, params, BATCH)
    return len(values)


def upsert(
    model: type[models.Model],
    rows: Sequence[Row],
    *,
    unique: Sequence[str],
    update: Sequence[str],
    fields: Sequence[str] | None = None,
    batch: int = BATCH,
) -> int:
    """Insert ``rows``; where one clashes with an existing row on the ``unique`` fields (which
    must carry a unique constraint), set that row's ``update`` fields from it instead."""
    if not rows:
        return 0
    sql, statement = _insert_sql(model, rows, fields)
    target = ", ".join(_quote(_field(model, name).column) for name in unique)
    assignments = ", ".join(
        f"{column} = EXCLUDED.{column}" for column in (_quote(_field(model, name).column) for name in update)
    )
    sql += f" ON CONFLICT ({target}) DO UPDATE SET {assignments}"
    _run(sql, statement.params(rows), batch)
    return len(rows)


def update(
    model: type[models.Model],
    rows: Sequence[Row],
    *,
    key: str = "id",
    fields: Sequence[str] | None = None,
    batch: int = BATCH,
) -> int:
    """Set, in each row's record found by its ``key`` field, the row's other fields.

    ``fields`` (default: the first row's keys except ``key``) are the ones written.
    """
    if not rows:
        return 0
    names = [name for name in _names(rows, fields) if name != key]
    statement = _Statement(model, [*names, key])
    assignments = ", ".join(f"{_quote(f.column)} = %s" for f in statement.fields[:-1])
    sql = f"UPDATE {_quote(model._meta.db_table)} SET {assignments} WHERE {_quote(statement.fields[-1].column)} = %s"
    _run(sql, statement.params(rows), batch)
    return len(rows)


@contextmanager
def large_cache(kibibytes: int = 256 * 1024) -> Iterator[None]:
    """A bigger SQLite page cache for a bulk load, then the previous size again.

    The default 2 MB cache makes every insert into a large index (search keys, ID numbers) a
    trip to disk once the tables outgrow it; PostgreSQL needs nothing of the sort.
    """
    if connection.vendor != "sqlite":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA cache_size")
        previous = cursor.fetchone()[0]
        cursor.execute(f"PRAGMA cache_size = -{int(kibibytes)}")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA cache_size = {int(previous)}")


@contextmanager
def deferred_indexes(model: type[models.Model], *, column: str, enabled: bool) -> Iterator[None]:
    """On SQLite, drop the indexes that cover ``column`` for a bulk load and rebuild them after.

    Building an index once from sorted rows is several times cheaper than millions of random
    B-tree inserts. Use inside the load's transaction: SQLite's DDL is transactional, so a
    failed load rolls the indexes back with everything else, and readers keep seeing the
    committed table with its indexes meanwhile. PostgreSQL would lock the table, so there
    the indexes stay.
    """
    if not enabled or connection.vendor != "sqlite":
        yield
        return
    quoted = _quote(_field(model, column).column)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = %s AND sql IS NOT NULL",
            [model._meta.db_table],
        )
        indexes = [(name, text) for name, text in cursor.fetchall() if quoted in text]
        for name, _text in indexes:
            cursor.execute(f"DROP INDEX {_quote(name)}")
    yield
    with connection.cursor() as cursor:
        for _name, text in indexes:
            cursor.execute(text)
