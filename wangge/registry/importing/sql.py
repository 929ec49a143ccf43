"""Plain ``executemany`` inserts and updates for the import's hot path.

Django's ``bulk_create`` spends most of its time compiling SQL (about four fifths of an
import's write time on SQLite, where it may also bind only 999 parameters per statement);
one prepared statement run over many parameter tuples does the same work several times
faster, on SQLite and PostgreSQL alike. Values are adapted with the backend's own operations,
so dates and times are stored exactly as the ORM would store them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from django.db import connection, models


def _quote(name: str | None) -> str:
    assert name
    return connection.ops.quote_name(name)


def _column(model: type[models.Model], name: str) -> str:
    field = model._meta.get_field(name)
    assert isinstance(field, models.Field)
    return _quote(field.column)


def adapt_date(value: dt.date | None) -> Any:
    return connection.ops.adapt_datefield_value(value)


def adapt_datetime(value: dt.datetime | None) -> Any:
    return connection.ops.adapt_datetimefield_value(value)


def insert(model: type[models.Model], fields: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    if not rows:
        return
    meta = model._meta
    columns = ", ".join(_column(model, name) for name in fields)
    placeholders = ", ".join(["%s"] * len(fields))
    sql = f"INSERT INTO {_quote(meta.db_table)} ({columns}) VALUES ({placeholders})"
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)


def update(model: type[models.Model], fields: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """``rows`` hold the new values of ``fields`` followed by the primary key."""
    if not rows:
        return
    meta = model._meta
    assignments = ", ".join(f"{_column(model, name)} = %s" for name in fields)
    sql = f"UPDATE {_quote(meta.db_table)} SET {assignments} WHERE {_quote(meta.pk.column)} = %s"
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)


@contextmanager
def large_cache(kibibytes: int = 256 * 1024) -> Iterator[None]:
    """A bigger SQLite page cache while importing, then the previous size again.

    The default 2 MB cache makes every insert into the large indexes (search keys, ID
    numbers) a trip to disk once the tables outgrow it; PostgreSQL needs nothing of the sort.
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
    B-tree inserts. Use inside the import's transaction: SQLite's DDL is transactional, so a
    failed import rolls the indexes back with everything else, and readers keep seeing the
    committed table with its indexes meanwhile. PostgreSQL would lock the table, so there
    the indexes stay.
    """
    if not enabled or connection.vendor != "sqlite":
        yield
        return
    quoted = _column(model, column)
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
