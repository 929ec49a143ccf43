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
class PersonState:
    """The person's zone state, shared by all their phones in a batch; ``update_people`` writes it
    when a fix moved it (not for every fix: a person at home, or outside with an alert open,
    stays in one state and their row is left alone).

    ``last_fix_at`` is the freshest fix of any of their active phones, which the phones' rows
    already hold (``Device.last_seen``, rewritten per fix anyway): read from them, never written
    to the person's row."""

    enrolment_id: int
    last_fix_at: dt.datetime | None
    outside_since: dt.datetime | None
    outside_fixes: int
    inside_fixes: int
    loaded: tuple[Any, ...] = ()  # the zone state as read, to tell whether the batch moved it

    def __post_init__(self) -> None:
        self.loaded = self.zone_state()

    def zone_state(self) -> tuple[Any, ...]:
        return (self.outside_since, self.outside_fixes, self.inside_fixes)

    @property
    def changed(self) -> bool:
        return self.zone_state() != self.loaded


@dataclass(slots=True)
class DeviceState:
    """A phone's row as the batch reads it; the batch moves it, ``update_devices`` writes it."""

    id: int
    enrolment_id: int
    district_id: int | None
    gcj02: bool
    last_seen: dt.datetime | None
    battery: float | None
    person: PersonState
    name: str = ""
    last: Fix | None = None  # the newest fix of this batch, if newer than last_seen
    last_at: dt.datetime | None = None  # its time for alert logic (never after it was received)
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


def lock_phones(identifiers: Iterable[str]) -> dict[int, dt.datetime | None]:
    """PostgreSQL, inside the batch's transaction: lock every phone of the people these phones
    belong to, in id order, until commit; the freshest fix of each person's active phones.

    Two workers of a shared subscription (or a worker and an HTTP request) holding fixes of one
    person, even from two phones, then take turns instead of both acting on the same old state
    (a lost two-fixes count, or one alert raised twice). The phones' rows, not the people's:
    the batch rewrites the phones anyway, while a lock on the person's row would write to it
    for every fix (a row lock is a write of the row's header). Always phones in id order and
    nothing else, so two batches cannot deadlock. ``FOR NO KEY UPDATE`` is the lock the
    batch's own ``UPDATE`` takes."""
    if connection.vendor != "postgresql":
        return {}  # SQLite writes one transaction at a time
    table = Device._meta.db_table
    freshest: dict[int, dt.datetime | None] = {}
    for enrolment_id, active, last_seen in fetch_in(
        f"SELECT o.enrolment_id, o.active, o.last_seen FROM {table} o WHERE o.enrolment_id IN ("
        f"SELECT d.enrolment_id FROM {table} d WHERE d.identifier {{in}}) ORDER BY o.id FOR NO KEY UPDATE OF o",
        identifiers,
        "text",
    ):
        latest = freshest.setdefault(enrolment_id, None)
        if active and last_seen is not None and (latest is None or last_seen > latest):
            freshest[enrolment_id] = last_seen
    return freshest


def load_devices(identifiers: Iterable[str], *, lock: bool = False) -> dict[str, DeviceState]:
    """Active phones of active enrolments whose consent covers tracking, each with its person's
    zone state (one object per person); nothing else. ``lock``: see ``lock_phones``."""
    identifiers = list(identifiers)
    freshest = lock_phones(identifiers) if lock and connection.vendor == "postgresql" else None
    # The person's freshest fix: from the locked phones on PostgreSQL, else from their rows here.
    latest = (
        "NULL"
        if freshest is not None
        else f"(SELECT max(o.last_seen) FROM {Device._meta.db_table} o WHERE o.enrolment_id = d.enrolment_id "
        "AND o.active)"
    )
    rows = fetch_in(
        "SELECT d.identifier, d.id, d.enrolment_id, e.district_id, d.coord_system, d.last_seen, d.battery, "
        f"d.name, {latest}, e.outside_since, e.outside_fixes, e.inside_fixes "
        f"FROM {Device._meta.db_table} d JOIN {Enrolment._meta.db_table} e ON e.id = d.enrolment_id "
        "WHERE d.identifier {in} AND d.active AND e.active AND EXISTS ("
        f"SELECT 1 FROM {Consent._meta.db_table} c WHERE c.enrolment_id = d.enrolment_id "
        "AND c.withdrawn_at IS NULL AND c.covers_tracking)",
        identifiers,
        "text",
    )
    people: dict[int, PersonState] = {}
    states = {}
    for row in rows:
        person = people.get(row[2])
        if person is None:
            person = people[row[2]] = PersonState(
                enrolment_id=row[2],
                last_fix_at=_aware(freshest.get(row[2]) if freshest is not None else row[8]),
                outside_since=_aware(row[9]),
                outside_fixes=row[10],
                inside_fixes=row[11],
            )
        states[row[0]] = DeviceState(
            id=row[1],
            enrolment_id=row[2],
            district_id=row[3],
            gcj02=row[4] == Device.CoordSystem.GCJ02,
            last_seen=_aware(row[5]),
            battery=row[6],
            name=row[7],
            person=person,
        )
    return states


def open_alerts(enrolment_ids: Iterable[int]) -> dict[int, dict[str, int | None]]:
    """Each person's open alerts: kind → the phone it was raised on."""
    found: dict[int, dict[str, int | None]] = defaultdict(dict)
    for enrolment_id, kind, device_id in fetch_in(
        f"SELECT enrolment_id, kind, device_id FROM {Alert._meta.db_table} "
        "WHERE resolved_at IS NULL AND enrolment_id {in}",
        enrolment_ids,
        "bigint",
    ):
        found[enrolment_id][kind] = device_id
    return found


def _update_by_id(model: Any, columns: Sequence[tuple[str, str]], rows: list[tuple[Any, ...]]) -> None:
    """``UPDATE`` rows of ``model`` by id, one statement per batch: ``columns`` are (name,
    PostgreSQL array type) of every value but the last, which is the row's id."""
    if not rows:
        return
    table = connection.ops.quote_name(model._meta.db_table)
    if connection.vendor == "postgresql":
        # One statement for the batch (a round trip per row costs ~1 ms here).
        names = [name for name, _kind in columns]
        kinds = [kind for _name, kind in columns] + ["int8"]
        unnest = ", ".join(f"%b::{kind}[]" for kind in kinds)
        with raw_cursor() as cursor:
            cursor.execute(
                f"UPDATE {table} AS t SET " + ", ".join(f"{name} = v.{name}" for name in names) + " "
                f"FROM unnest({unnest}) AS v({', '.join(names)}, id) WHERE t.id = v.id",
                [pg_array(kind, column) for kind, column in zip(kinds, zip(*rows, strict=True), strict=True)],
            )
        return
    adapt = db_time()
    times = [k for k, (_name, kind) in enumerate(columns) if kind == "timestamptz"]
    values = []
    for row in rows:
        listed = list(row)
        for k in times:
            listed[k] = adapt(listed[k])
        values.append(listed)
    with connection.cursor() as cursor:
        cursor.executemany(
            f"UPDATE {table} SET " + ", ".join(f"{name} = %s" for name, _kind in columns) + " WHERE id = %s", values
        )


def update_devices(states: Sequence[DeviceState]) -> None:
    _update_by_id(
        Device,
        [
            ("last_seen", "timestamptz"),
            ("last_received", "timestamptz"),
            ("last_lat", "float8"),
            ("last_lon", "float8"),
            ("accuracy", "float8"),
            ("speed", "float8"),
            ("battery", "float8"),
        ],
        [
            (s.last_at, s.received, s.last.lat, s.last.lon, s.last.accuracy, s.last.speed, s.battery, s.id)
            for s in states
            if s.changed and s.last is not None
        ],
    )


def update_people(people: Iterable[PersonState]) -> None:
    """Write the zone state of the people a batch moved (only theirs: see ``PersonState``)."""
    _update_by_id(
        Enrolment,
        [
            ("outside_since", "timestamptz"),
            ("outside_fixes", "int4"),
            ("inside_fixes", "int4"),
        ],
        [
            (person.outside_since, person.outside_fixes, person.inside_fixes, person.enrolment_id)
            for person in people
            if person.changed
        ],
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
