"""PostgreSQL binary arrays built with numpy, and the server-binding cursor that sends them.

psycopg dumps a list parameter element by element in Python (≈0.4 µs each, 20-odd a fix); these
build the array's binary wire format for a whole column at once, for the ingest's bulk SQL.
"""

from __future__ import annotations

import struct
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
from django.db import connection

_ARRAY_HEADER = struct.Struct(">iiIii")  # ndim, has nulls, element type, length, lower bound
_PG_EPOCH = 946684800.0  # 2000-01-01 UTC, PostgreSQL's timestamp zero
_OIDS = {"int4": 23, "int8": 20, "float8": 701, "timestamptz": 1184}
_DTYPES = {"int4": ">i4", "int8": ">i8", "float8": ">f8", "timestamptz": ">i8"}


class PgArray:
    """A one-dimensional array already in PostgreSQL's binary format, for a ``%b::type[]``."""

    __slots__ = ("data",)

    def __init__(self, data: bytes) -> None:
        self.data = data


def pg_array(kind: str, values: Sequence[Any]) -> PgArray:
    """``values`` (None for NULL) as a binary ``kind[]``: int4, int8, float8 or timestamptz
    (aware datetimes)."""
    n = len(values)
    nulls = None
    # ``None in`` and whole-column conversions run in C; a generator per value cost ~0.3 µs a
    # value, a dozen columns a fix. The generators remain for columns with NULLs.
    if None in values:
        nulls = np.fromiter((value is None for value in values), bool, n)
    if kind == "timestamptz":
        # ``timestamp()`` of an aware datetime costs ~0.7 µs; a batch's fixes share a few seconds.
        epoch = {v: v.timestamp() for v in set(values) if v is not None}
        epoch[None] = 0.0
        seconds = np.fromiter(map(epoch.__getitem__, values), float, n)
        # float64 keeps 0.24 µs at today's epoch seconds, so rounding gives the exact microsecond.
        column = np.rint((seconds - _PG_EPOCH) * 1e6)
    elif kind == "float8":
        if nulls is None:
            column = np.array(values, dtype=float)
        else:
            column = np.fromiter((0.0 if v is None else v for v in values), float, n)
    elif nulls is None:
        column = np.array(values, dtype=np.int64)
    else:
        column = np.fromiter((0 if v is None else v for v in values), np.int64, n)
    dtype = np.dtype(_DTYPES[kind])
    records = np.empty(n, dtype=[("length", ">i4"), ("value", dtype)])
    records["length"] = dtype.itemsize
    records["value"] = column
    header = _ARRAY_HEADER.pack(1, 0 if nulls is None else 1, _OIDS[kind], n, 1)
    if nulls is None:
        return PgArray(header + records.tobytes())
    records["length"][nulls] = -1  # a NULL is its length alone
    keep = np.ones((n, records.dtype.itemsize), bool)
    keep[nulls, 4:] = False
    return PgArray(header + records.view(np.uint8).reshape(n, -1)[keep].tobytes())


_dumper_class: Any = None


def _register_pg_array(cursor: Any) -> None:
    global _dumper_class
    if _dumper_class is None:
        import psycopg

        class PgArrayDumper(psycopg.adapt.Dumper):
            format = psycopg.pq.Format.BINARY
            oid = 0  # the statement's cast says which array type it is

            def dump(self, obj: PgArray) -> bytes:
                return obj.data

        _dumper_class = PgArrayDumper
    cursor.adapters.register_dumper(PgArray, _dumper_class)


_logging_cursor_class: Any = None


def _logging_cursor() -> Any:
    """A psycopg cursor that records its statements where Django records its own (``DEBUG``,
    ``CaptureQueriesContext``), so a batch's statements can be counted whichever cursor ran
    them."""
    global _logging_cursor_class
    if _logging_cursor_class is None:
        import psycopg

        class LoggingCursor(psycopg.Cursor):
            def execute(self, query: Any, params: Any = None, **kwargs: Any) -> Any:
                start = time.monotonic()
                try:
                    return super().execute(query, params, **kwargs)
                finally:
                    connection.queries_log.append({"sql": str(query), "time": f"{time.monotonic() - start:.3f}"})

        _logging_cursor_class = LoggingCursor
    return _logging_cursor_class


def raw_cursor() -> Any:
    """psycopg's own server-side-binding cursor on Django's connection (same transaction).

    Django's PostgreSQL cursor binds on the client: arrays of thousands of values are quoted
    into the SQL text value by value, which cost more than the database's work.
    """
    import psycopg

    connection.ensure_connection()
    kind = _logging_cursor() if connection.queries_logged else psycopg.Cursor
    cursor = kind(connection.connection)
    _register_pg_array(cursor)
    return cursor
