"""The ingest's SQL: the hot reads and the bulk writes of a batch, per database vendor.

The hot reads are plain SQL: with a thousand ids per batch, preparing ORM lookups cost more
than the queries themselves. PostgreSQL gets arrays in binary through ``pgbinary``.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connection

from wangge.protection.ingest.pgbinary import pg_array, raw_cursor
from wangge.protection.models import Alert, Consent, Device, Enrolment, Location, SafeZone
from wangge.protection.protocols import Fix
from wangge.protection.zones import CompiledZone, compile_zone


@dataclass(slots=True)
class DeviceState:
    """A phone's row as the batch reads it; the state machine moves it, ``update_devices`` writes it."""

    id: int
    enrolment_id: int
    district_id: int | None
    gcj02: bool
    last_seen: dt.datetime | None
    outside_since: dt.datetime | None
    outside_fixes: int
    battery: float | None
    last: Fix | None = None  # the newest fix of this batch, if newer than last_seen
    received: dt.datetime | None = None
    changed: bool = False


# Compiled zones by id, checked against ``updated_at`` so an edited zone is recompiled.
_zone_cache: dict[int, tuple[dt.datetime, CompiledZone]] = {}
_zone_lock = threading.Lock()


def fetch_in(sql: str, values: Iterable[Any], pg_type: str) -> list[tuple[Any, ...]]:
    """Run ``sql`` whose ``{in}`` is a membership test of ``values``: ``IN (%s, …)`` on SQLite,
    ``= ANY(array)`` through a server-binding cursor on PostgreSQL (a thousand quoted literals
    cost PostgreSQL more to parse and plan than to run the query)."""
    items = list(values)
    if not items:
        return []
    if connection.vendor == "postgresql":
        with raw_cursor() as cursor:
            # Binary results: Django's text loader parses every timestamp with a regex in Python.
            param = pg_array("int8", items) if pg_type == "bigint" else items
            cursor.execute(sql.replace("{in}", f"= ANY(%b::{pg_type}[])"), [param], binary=True)
            return cursor.fetchall()
    with connection.cursor() as cursor:
        cursor.execute(sql.replace("{in}", "IN (" + ", ".join(["%s"] * len(items)) + ")"), items)
        return cursor.fetchall()


def _aware(value: Any) -> dt.datetime | None:
    """A datetime from a raw query (SQLite gives text, PostgreSQL a datetime)."""
    if value is None or isinstance(value, dt.datetime):
        return value if value is None or value.tzinfo else value.replace(tzinfo=dt.UTC)
    parsed = dt.datetime.fromisoformat(str(value))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def db_time() -> Any:
    """The datetime adapter for this connection, fast for the UTC datetimes of fixes.

    Django's SQLite adapter converts to naive UTC text through ``make_naive`` (≈4 µs a value, four
    values a fix); for a UTC datetime that is just ``str`` of it without the zone. PostgreSQL
    takes aware datetimes as they are.
    """
    if connection.vendor != "sqlite":
        return connection.ops.adapt_datetimefield_value
    slow = connection.ops.adapt_datetimefield_value
    utc = dt.UTC
    # Phones report whole seconds, so a batch of thousands of fixes holds few distinct times.
    seen: dict[dt.datetime, str] = {}

    def adapt(value: dt.datetime | None) -> str | None:
        if value is None:
            return None
        text = seen.get(value)
        if text is None:
            text = str(value.replace(tzinfo=None)) if value.tzinfo is utc else str(slow(value))
            seen[value] = text
        return text

    return adapt


def _time(value: Any) -> dt.time | None:
    return value if value is None or isinstance(value, dt.time) else dt.time.fromisoformat(str(value))


# The hot reads are plain SQL: with a thousand ids per batch, preparing ORM lookups cost more
def zones_for(enrolment_ids: Iterable[int]) -> dict[int, list[CompiledZone]]:
    """The active zones of these enrolments, compiled. Only id and ``updated_at`` are read for
    every zone; the full row (shape, hours) only for a zone not yet compiled or changed since
    (an edit bumps ``updated_at``; a removed or deactivated zone simply stops appearing)."""
    zones: dict[int, list[CompiledZone]] = defaultdict(list)
    table = SafeZone._meta.db_table
    current = fetch_in(
        f"SELECT id, enrolment_id, updated_at FROM {table} WHERE active AND enrolment_id {{in}}",
        enrolment_ids,
        "bigint",
    )
    with _zone_lock:
        cached = [(zone_id, enrolment, updated, _zone_cache.get(zone_id)) for zone_id, enrolment, updated in current]
    stale = [zone_id for zone_id, _e, updated, hit in cached if hit is None or hit[0] != updated]
    fresh: dict[int, CompiledZone | None] = {}
    if stale:
        rows = fetch_in(
            "SELECT id, enrolment_id, name, kind, geojson, center_lat, center_lon, radius_m, active_from, "
            f"active_until, updated_at FROM {table} WHERE id {{in}}",
            stale,
            "bigint",
        )
        for zone_id, enrolment_id, name, kind, geojson, lat, lon, radius, start, end, updated in rows:
            try:
                compiled = compile_zone(
                    id=zone_id,
                    enrolment_id=enrolment_id,
                    name=name,
                    kind=kind,
                    geojson=json.loads(geojson) if isinstance(geojson, str) else geojson,
                    center_lat=lat,
                    center_lon=lon,
                    radius_m=radius,
                    active_from=_time(start),
                    active_until=_time(end),
                )
            except (ValueError, TypeError, AttributeError):
                fresh[zone_id] = None  # a broken zone must not stop ingest; the zone form validates shapes
                continue
            fresh[zone_id] = compiled
            with _zone_lock:
                if len(_zone_cache) > 200_000:
                    _zone_cache.clear()
                _zone_cache[zone_id] = (updated, compiled)
    for zone_id, enrolment_id, _updated, hit in cached:
        zone = fresh.get(zone_id) if zone_id in fresh else (hit[1] if hit is not None else None)
        if zone is not None:
            zones[enrolment_id].append(zone)
    return zones


def load_devices(identifiers: Iterable[str], *, lock: bool = False) -> dict[str, DeviceState]:
    """Active phones of active enrolments whose consent covers tracking; nothing else.

    ``lock`` (PostgreSQL, inside the batch's transaction): the phones' rows are locked in id order
    until commit, so two workers of a shared subscription (or a worker and an HTTP request)
    holding fixes of the same phone take turns instead of both acting on the same old state
    (a lost two-fixes count, or a left-zone alert raised twice).
    """
    suffix = " ORDER BY d.id FOR UPDATE OF d" if lock and connection.vendor == "postgresql" else ""
    rows = fetch_in(
        "SELECT d.identifier, d.id, d.enrolment_id, e.district_id, d.coord_system, d.last_seen, "
        "d.outside_since, d.outside_fixes, d.battery "
        f"FROM {Device._meta.db_table} d JOIN {Enrolment._meta.db_table} e ON e.id = d.enrolment_id "
        "WHERE d.identifier {in} AND d.active AND e.active AND EXISTS ("
        f"SELECT 1 FROM {Consent._meta.db_table} c WHERE c.enrolment_id = d.enrolment_id "
        "AND c.withdrawn_at IS NULL AND c.covers_tracking)" + suffix,
        identifiers,
        "text",
    )
    return {
        row[0]: DeviceState(
            id=row[1],
            enrolment_id=row[2],
            district_id=row[3],
            gcj02=row[4] == Device.CoordSystem.GCJ02,
            last_seen=_aware(row[5]),
            outside_since=_aware(row[6]),
            outside_fixes=row[7],
            battery=row[8],
        )
        for row in rows
    }


def open_alerts(enrolment_ids: Iterable[int]) -> dict[int, set[str]]:
    found: dict[int, set[str]] = defaultdict(set)
    for enrolment_id, kind in fetch_in(
        f"SELECT enrolment_id, kind FROM {Alert._meta.db_table} WHERE resolved_at IS NULL AND enrolment_id {{in}}",
        enrolment_ids,
        "bigint",
    ):
        found[enrolment_id].add(kind)
    return found


def update_devices(states: Sequence[DeviceState]) -> None:
    rows = [
        (
            s.last.recorded_at if s.last else s.last_seen,
            s.received,
            s.last.lat if s.last else None,
            s.last.lon if s.last else None,
            s.last.accuracy if s.last else None,
            s.last.speed if s.last else None,
            s.battery,
            s.outside_since,
            s.outside_fixes,
            s.id,
        )
        for s in states
        if s.changed and s.last is not None
    ]
    if not rows:
        return
    table = connection.ops.quote_name(Device._meta.db_table)
    if connection.vendor == "postgresql":
        # One statement for the batch (a round trip per row costs ~1 ms here).
        columns = list(zip(*rows, strict=True))
        with raw_cursor() as cursor:
            cursor.execute(
                f"UPDATE {table} AS d SET last_seen = v.last_seen, last_received = v.last_received, "
                "last_lat = v.last_lat, last_lon = v.last_lon, accuracy = v.accuracy, speed = v.speed, "
                "battery = v.battery, outside_since = v.outside_since, outside_fixes = v.outside_fixes "
                "FROM unnest(%b::timestamptz[], %b::timestamptz[], %b::float8[], %b::float8[], %b::float8[], "
                "%b::float8[], %b::float8[], %b::timestamptz[], %b::int[], %b::bigint[]) "
                "AS v(last_seen, last_received, last_lat, last_lon, accuracy, speed, battery, outside_since, "
                "outside_fixes, id) WHERE d.id = v.id",
                [
                    pg_array(kind, column)
                    for kind, column in zip(
                        ("timestamptz",) * 2 + ("float8",) * 5 + ("timestamptz", "int4", "int8"), columns, strict=True
                    )
                ],
            )
        return
    adapt = db_time()
    rows = [(adapt(r[0]), adapt(r[1]), *r[2:7], adapt(r[7]), *r[8:]) for r in rows]
    with connection.cursor() as cursor:
        cursor.executemany(
            f"UPDATE {table} SET last_seen = %s, last_received = %s, last_lat = %s, last_lon = %s, "
            "accuracy = %s, speed = %s, battery = %s, outside_since = %s, outside_fixes = %s WHERE id = %s",
            rows,
        )


LOCATION_COLUMNS = (
    "device_id",
    "enrolment_id",
    "district_id",
    "recorded_at",
    "received_at",
    "lat",
    "lon",
    "accuracy",
    "speed",
    "bearing",
    "altitude",
    "battery",
    "source",
)


def insert_locations(rows: list[tuple[Any, ...]]) -> None:
    """One prepared INSERT run for every row; a duplicate (same phone, time and place) is skipped.

    Plain ``executemany`` rather than ``bulk_create``: building a model instance and compiling
    SQL per row cost more than the database's own work. ``ON CONFLICT DO NOTHING`` is the same
    statement on SQLite (≥ 3.24) and PostgreSQL.
    """
    table = connection.ops.quote_name(Location._meta.db_table)
    columns = ", ".join(LOCATION_COLUMNS)
    if connection.vendor == "postgresql":
        # One INSERT … SELECT FROM unnest(arrays) for the batch: one round trip, one plan.
        types = ("int8", "int8", "int8", "timestamptz", "timestamptz") + ("float8",) * 7
        unnest = ", ".join(f"%b::{kind}[]" for kind in (*types, "text"))
        *numeric, sources = zip(*rows, strict=True)
        params: list[Any] = [pg_array(kind, column) for kind, column in zip(types, numeric, strict=True)]
        with raw_cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {table} ({columns}) SELECT * FROM unnest({unnest}) ON CONFLICT DO NOTHING",
                [*params, list(sources)],
            )
        return
    placeholders = ", ".join(["%s"] * len(LOCATION_COLUMNS))
    with connection.cursor() as cursor:
        cursor.executemany(
            f"INSERT INTO {table} ({columns}) VALUES ({placeholders}) ON CONFLICT DO NOTHING",
            rows,
        )
