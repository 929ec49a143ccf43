"""Location ingest: store a batch of fixes, update the phones, check zones, raise alerts.

``ingest(fixes)`` is the one write path for every protocol (HTTP requests pass a batch of one,
the MQTT worker up to a thousand). It is built for throughput: a handful of queries per batch
whatever its size (devices, consent, zones, open alerts, one bulk insert, one executemany
update), zones compiled once and cached, and the per-fix work done in memory.

Rules:
- No consent, no tracking: fixes for unknown or inactive devices, or for an enrolment without
  an active consent covering tracking, are refused and not stored.
- GCJ-02 phones are converted to WGS-84 before anything else.
- Fixes are stored whatever their order; only a fix newer than the phone's latest moves the
  phone's state and can raise or resolve an alert, so late or redelivered messages never raise
  false alarms.
- A fix is outside only if it lies farther outside every active zone than its own accuracy.
  ``left_zone`` is raised after two consecutive outside fixes, or once the phone has been
  outside for ``WANGGE_ZONE_DWELL_SECONDS``; a fix clearly inside resolves it.
"""

from __future__ import annotations

import datetime as dt
import json
import struct
import threading
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from wangge.core.coords import gcj02_to_wgs84
from wangge.protection.models import Alert, Consent, Device, Enrolment, Location, SafeZone
from wangge.protection.notify import notify_alert
from wangge.protection.protocols import Fix
from wangge.protection.zones import M_PER_DEG_LAT, CompiledZone, compile_zone, haversine_many

LOW_BATTERY_HYSTERESIS = 5.0


@dataclass
class Result:
    stored: int = 0  # written (a redelivered duplicate counts here too: it is already stored)
    refused: int = 0  # unknown device or no active consent: not stored
    alerts: list[Alert] = field(default_factory=list)
    resolved: int = 0
    refused_identifiers: set[str] = field(default_factory=set)


@dataclass(slots=True)
class _DeviceState:
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


def _fetch_in(sql: str, values: Iterable[Any], pg_type: str) -> list[tuple[Any, ...]]:
    """Run ``sql`` whose ``{in}`` is a membership test of ``values``: ``IN (%s, …)`` on SQLite,
    ``= ANY(array)`` through a server-binding cursor on PostgreSQL (a thousand quoted literals
    cost PostgreSQL more to parse and plan than to run the query)."""
    items = list(values)
    if not items:
        return []
    if connection.vendor == "postgresql":
        with _raw_cursor() as cursor:
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


def _db_time() -> Any:
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


# -- PostgreSQL binary arrays, built with numpy ------------------------------------------------
# psycopg dumps a list parameter element by element in Python (≈0.4 µs each, 20-odd a fix);
# these build the array's binary wire format for a whole column at once.

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
    if any(value is None for value in values):
        nulls = np.fromiter((value is None for value in values), bool, n)
    if kind == "timestamptz":
        seconds = np.fromiter((0.0 if v is None else v.timestamp() for v in values), float, n)
        # float64 keeps 0.24 µs at today's epoch seconds, so rounding gives the exact microsecond.
        column = np.rint((seconds - _PG_EPOCH) * 1e6)
    elif kind == "float8":
        column = np.fromiter((0.0 if v is None else v for v in values), float, n)
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


def _raw_cursor() -> Any:
    """psycopg's own server-side-binding cursor on Django's connection (same transaction).

    Django's PostgreSQL cursor binds on the client: arrays of thousands of values are quoted
    into the SQL text value by value, which cost more than the database's work.
    """
    import psycopg

    connection.ensure_connection()
    cursor = psycopg.Cursor(connection.connection)
    _register_pg_array(cursor)
    return cursor


def _time(value: Any) -> dt.time | None:
    return value if value is None or isinstance(value, dt.time) else dt.time.fromisoformat(str(value))


# The hot reads are plain SQL: with a thousand ids per batch, preparing ORM lookups cost more
# than the queries themselves.
def _zones_for(enrolment_ids: Iterable[int]) -> dict[int, list[CompiledZone]]:
    """The active zones of these enrolments, compiled. Only id and ``updated_at`` are read for
    every zone; the full row (shape, hours) only for a zone not yet compiled or changed since
    (an edit bumps ``updated_at``; a removed or deactivated zone simply stops appearing)."""
    zones: dict[int, list[CompiledZone]] = defaultdict(list)
    table = SafeZone._meta.db_table
    current = _fetch_in(
        f"SELECT id, enrolment_id, updated_at FROM {table} WHERE active AND enrolment_id {{in}}",
        enrolment_ids,
        "bigint",
    )
    with _zone_lock:
        cached = [(zone_id, enrolment, updated, _zone_cache.get(zone_id)) for zone_id, enrolment, updated in current]
    stale = [zone_id for zone_id, _e, updated, hit in cached if hit is None or hit[0] != updated]
    fresh: dict[int, CompiledZone | None] = {}
    if stale:
        rows = _fetch_in(
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


def _load_devices(identifiers: Iterable[str], *, lock: bool = False) -> dict[str, _DeviceState]:
    """Active phones of active enrolments whose consent covers tracking; nothing else.

    ``lock`` (PostgreSQL, inside the batch's transaction): the phones' rows are locked in id order
    until commit, so two workers of a shared subscription (or a worker and an HTTP request)
    holding fixes of the same phone take turns instead of both acting on the same old state
    (a lost two-fixes count, or a left-zone alert raised twice).
    """
    suffix = " ORDER BY d.id FOR UPDATE OF d" if lock and connection.vendor == "postgresql" else ""
    rows = _fetch_in(
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
        row[0]: _DeviceState(
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


def _open_alerts(enrolment_ids: Iterable[int]) -> dict[int, set[str]]:
    found: dict[int, set[str]] = defaultdict(set)
    for enrolment_id, kind in _fetch_in(
        f"SELECT enrolment_id, kind FROM {Alert._meta.db_table} WHERE resolved_at IS NULL AND enrolment_id {{in}}",
        enrolment_ids,
        "bigint",
    ):
        found[enrolment_id].add(kind)
    return found


@dataclass(slots=True)
class _AlertChange:
    kind: str
    state: _DeviceState
    fix: Fix
    detail: dict[str, Any]
    resolved_at: dt.datetime | None = None


def _resolve(
    state: _DeviceState,
    kind: str,
    at: dt.datetime,
    raise_: list[_AlertChange],
    resolve: list[tuple[int, str, dt.datetime]],
) -> None:
    # Raised earlier in this same batch: store it already resolved.
    for change in reversed(raise_):
        if change.state.enrolment_id == state.enrolment_id and change.kind == kind and change.resolved_at is None:
            change.resolved_at = at
            return
    resolve.append((state.enrolment_id, kind, at))


def _outside_by(zones: list[CompiledZone], fix: Fix) -> float | None:
    """Metres outside every zone active at the fix's local time; None when none is active."""
    if not zones:
        return None
    if any(zone.active_from is not None for zone in zones):
        local = timezone.localtime(fix.recorded_at).time()
        active = [zone for zone in zones if zone.active_at(local)]
    else:
        active = zones
    if not active:
        return None
    return min(zone.metres_outside(fix.lat, fix.lon) for zone in active)


def _outside_many(items: Sequence[tuple[Fix, list[CompiledZone]]]) -> list[float | None]:
    """``_outside_by`` for many fixes at once: circles with numpy, polygons with shapely's
    vectorised distance, so the per-fix Python work is only picking the zones active then."""
    circle_ix: list[int] = []
    circle_lat: list[float] = []
    circle_lon: list[float] = []
    circle_r: list[float] = []
    poly_ix: list[int] = []
    poly_geom: list[Any] = []
    poly_x: list[float] = []
    poly_y: list[float] = []
    any_zone = [False] * len(items)
    for k, (fix, zones) in enumerate(items):
        if not zones:
            continue
        if any(zone.active_from is not None for zone in zones):
            local = timezone.localtime(fix.recorded_at).time()
            zones = [zone for zone in zones if zone.active_at(local)]
        for zone in zones:
            any_zone[k] = True
            if zone.center is not None:
                circle_ix.append(k)
                circle_lat.append(zone.center[0])
                circle_lon.append(zone.center[1])
                circle_r.append(zone.radius)
            else:
                poly_ix.append(k)
                poly_geom.append(zone.polygon)
                poly_x.append((fix.lon - zone.origin[1]) * zone.m_per_deg_lon)
                poly_y.append((fix.lat - zone.origin[0]) * M_PER_DEG_LAT)
    best = np.full(len(items), np.inf)
    if circle_ix:
        ix = np.asarray(circle_ix)
        lat = np.fromiter((items[k][0].lat for k in circle_ix), float, len(circle_ix))
        lon = np.fromiter((items[k][0].lon for k in circle_ix), float, len(circle_ix))
        metres = haversine_many(lat, lon, np.asarray(circle_lat), np.asarray(circle_lon)) - np.asarray(circle_r)
        np.minimum.at(best, ix, np.maximum(metres, 0.0))
    if poly_ix:
        metres = shapely.distance(np.asarray(poly_geom, dtype=object), shapely.points(poly_x, poly_y))
        np.minimum.at(best, np.asarray(poly_ix), metres)
    return [float(value) if present else None for value, present in zip(best.tolist(), any_zone, strict=True)]


def _evaluate(
    state: _DeviceState,
    fix: Fix,
    outside: float | None,
    open_kinds: set[str],
    raise_: list[_AlertChange],
    resolve: list[tuple[int, str, dt.datetime]],
) -> None:
    """The phone's state machine for one new fix; ``outside`` is ``_outside_by`` of it."""
    dwell = dt.timedelta(seconds=settings.WANGGE_ZONE_DWELL_SECONDS)
    if Alert.Kind.SILENT in open_kinds:
        _resolve(state, Alert.Kind.SILENT, fix.recorded_at, raise_, resolve)
        open_kinds.discard(Alert.Kind.SILENT)
    if outside is None or outside == 0.0:
        state.outside_since, state.outside_fixes = None, 0
        if outside == 0.0 and Alert.Kind.LEFT_ZONE in open_kinds:
            _resolve(state, Alert.Kind.LEFT_ZONE, fix.recorded_at, raise_, resolve)
            open_kinds.discard(Alert.Kind.LEFT_ZONE)
    elif outside > (fix.accuracy or 0.0):
        if state.outside_since is None:
            state.outside_since = fix.recorded_at
        state.outside_fixes += 1
        dwelt = fix.recorded_at - state.outside_since >= dwell
        if Alert.Kind.LEFT_ZONE not in open_kinds and (state.outside_fixes >= 2 or dwelt):
            raise_.append(_AlertChange(Alert.Kind.LEFT_ZONE, state, fix, {"metres_outside": round(outside, 1)}))
            open_kinds.add(Alert.Kind.LEFT_ZONE)
    # else: outside by less than the fix's accuracy: cannot tell, so the state stays as it was.

    threshold = float(settings.WANGGE_LOW_BATTERY_PERCENT)
    if fix.battery is not None:
        if fix.battery < threshold and Alert.Kind.LOW_BATTERY not in open_kinds:
            raise_.append(_AlertChange(Alert.Kind.LOW_BATTERY, state, fix, {"battery": fix.battery}))
            open_kinds.add(Alert.Kind.LOW_BATTERY)
        elif fix.battery >= threshold + LOW_BATTERY_HYSTERESIS and Alert.Kind.LOW_BATTERY in open_kinds:
            _resolve(state, Alert.Kind.LOW_BATTERY, fix.recorded_at, raise_, resolve)
            open_kinds.discard(Alert.Kind.LOW_BATTERY)
    if fix.alarm == "sos" and Alert.Kind.SOS not in open_kinds:
        raise_.append(_AlertChange(Alert.Kind.SOS, state, fix, {}))
        open_kinds.add(Alert.Kind.SOS)


def _update_devices(states: Sequence[_DeviceState]) -> None:
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
        with _raw_cursor() as cursor:
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
    adapt = _db_time()
    rows = [(adapt(r[0]), adapt(r[1]), *r[2:7], adapt(r[7]), *r[8:]) for r in rows]
    with connection.cursor() as cursor:
        cursor.executemany(
            f"UPDATE {table} SET last_seen = %s, last_received = %s, last_lat = %s, last_lon = %s, "
            "accuracy = %s, speed = %s, battery = %s, outside_since = %s, outside_fixes = %s WHERE id = %s",
            rows,
        )


_LOCATION_COLUMNS = (
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


def _insert_locations(rows: list[tuple[Any, ...]]) -> None:
    """One prepared INSERT run for every row; a duplicate (same phone, time and place) is skipped.

    Plain ``executemany`` rather than ``bulk_create``: building a model instance and compiling
    SQL per row cost more than the database's own work. ``ON CONFLICT DO NOTHING`` is the same
    statement on SQLite (≥ 3.24) and PostgreSQL.
    """
    table = connection.ops.quote_name(Location._meta.db_table)
    columns = ", ".join(_LOCATION_COLUMNS)
    if connection.vendor == "postgresql":
        # One INSERT … SELECT FROM unnest(arrays) for the batch: one round trip, one plan.
        types = ("int8", "int8", "int8", "timestamptz", "timestamptz") + ("float8",) * 7
        unnest = ", ".join(f"%b::{kind}[]" for kind in (*types, "text"))
        *numeric, sources = zip(*rows, strict=True)
        params: list[Any] = [pg_array(kind, column) for kind, column in zip(types, numeric, strict=True)]
        with _raw_cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {table} ({columns}) SELECT * FROM unnest({unnest}) ON CONFLICT DO NOTHING",
                [*params, list(sources)],
            )
        return
    placeholders = ", ".join(["%s"] * len(_LOCATION_COLUMNS))
    with connection.cursor() as cursor:
        cursor.executemany(
            f"INSERT INTO {table} ({columns}) VALUES ({placeholders}) ON CONFLICT DO NOTHING",
            rows,
        )


def ingest(fixes: Sequence[Fix], *, now: dt.datetime | None = None) -> Result:
    """Store a batch of fixes atomically; alerts' notifications are sent after commit.

    The phones' state is read inside the same transaction that writes it (and locked on
    PostgreSQL), so concurrent batches for one phone cannot act on a stale state.
    """
    with transaction.atomic():
        if connection.vendor == "postgresql" and len(fixes) >= 50:
            # Every lookup of a batch is by key, for at most a few thousand keys: index probes.
            # Left to itself the planner hashes the whole enrolment table for the phones' query
            # and the whole phones' table for their update (a scan per batch that grows with the
            # number of people); for this transaction only.
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL enable_hashjoin = off; SET LOCAL enable_mergejoin = off")
        return _ingest(fixes, now=now)


def _ingest(fixes: Sequence[Fix], *, now: dt.datetime | None) -> Result:
    result = Result()
    if not fixes:
        return result
    received = now or timezone.now()
    states = _load_devices({fix.identifier for fix in fixes}, lock=True)
    accepted: list[tuple[_DeviceState, Fix]] = []
    for fix in fixes:
        state = states.get(fix.identifier)
        if state is None:
            result.refused += 1
            result.refused_identifiers.add(fix.identifier)
            continue
        if state.gcj02:
            fix.lat, fix.lon = gcj02_to_wgs84(fix.lat, fix.lon)
        accepted.append((state, fix))
    if not accepted:
        return result
    accepted.sort(key=lambda pair: pair[1].recorded_at)  # each phone's fixes in time order
    enrolment_ids = {state.enrolment_id for state in states.values()}
    zones = _zones_for(enrolment_ids)
    open_alerts = _open_alerts(enrolment_ids)

    adapt = _db_time()
    received_db = adapt(received)
    rows = []
    raise_: list[_AlertChange] = []
    resolve: list[tuple[int, str, dt.datetime]] = []
    news: list[tuple[_DeviceState, Fix]] = []
    for state, fix in accepted:
        rows.append(
            (
                state.id,
                state.enrolment_id,
                state.district_id,
                adapt(fix.recorded_at),
                received_db,
                fix.lat,
                fix.lon,
                fix.accuracy,
                fix.speed,
                fix.bearing,
                fix.altitude,
                fix.battery,
                fix.source,
            )
        )
        if state.last_seen is not None and fix.recorded_at <= state.last_seen:
            continue  # late or redelivered: stored, but it says nothing about now
        state.last_seen = fix.recorded_at
        state.last, state.received, state.changed = fix, received, True
        if fix.battery is not None:
            state.battery = fix.battery
        news.append((state, fix))
    # Distances for every new fix at once, then each phone's state machine in time order (two
    # fixes of one phone in the same batch both count towards the two-fixes rule).
    outside = _outside_many([(fix, zones.get(state.enrolment_id, [])) for state, fix in news])
    for (state, fix), metres in zip(news, outside, strict=True):
        _evaluate(state, fix, metres, open_alerts[state.enrolment_id], raise_, resolve)

    _insert_locations(rows)
    _update_devices(list(states.values()))
    for enrolment_id, kind, at in resolve:
        result.resolved += Alert.objects.filter(enrolment_id=enrolment_id, kind=kind, resolved_at__isnull=True).update(
            resolved_at=at
        )
    if raise_:
        result.alerts = _raise(raise_)
    result.stored = len(rows)
    return result


def _raise(changes: list[_AlertChange]) -> list[Alert]:
    enrolments = Enrolment.objects.select_related("resident").in_bulk({c.state.enrolment_id for c in changes})
    alerts = []
    for change in changes:
        enrolment = enrolments[change.state.enrolment_id]
        location_id = (
            Location.objects.filter(
                device_id=change.state.id, recorded_at=change.fix.recorded_at, lat=change.fix.lat, lon=change.fix.lon
            )
            .values_list("id", flat=True)
            .first()
        )
        alert = Alert(
            enrolment=enrolment,
            device_id=change.state.id,
            kind=change.kind,
            location_id=location_id,
            lat=change.fix.lat,
            lon=change.fix.lon,
            fix_at=change.fix.recorded_at,
            resolved_at=change.resolved_at,
            detail=change.detail,
        )
        alert.copy_scope(enrolment)
        alert.save()
        notify_alert(alert)
        alerts.append(alert)
    return alerts


def check_silent(*, now: dt.datetime | None = None) -> list[Alert]:
    """Raise ``silent`` for phones outside their zone (or with an open left-zone alert) that have
    sent nothing for ``WANGGE_SILENT_MINUTES``."""
    moment = now or timezone.now()
    cutoff = moment - dt.timedelta(minutes=settings.WANGGE_SILENT_MINUTES)
    open_silent = Alert.objects.filter(kind=Alert.Kind.SILENT, resolved_at__isnull=True).values("enrolment_id")
    left = Alert.objects.filter(kind=Alert.Kind.LEFT_ZONE, resolved_at__isnull=True).values("enrolment_id")
    candidates = (
        Device.objects.filter(active=True, enrolment__active=True, last_seen__lt=cutoff)
        .exclude(enrolment_id__in=open_silent)
        .filter(enrolment__consents__withdrawn_at__isnull=True, enrolment__consents__covers_tracking=True)
        .filter(Q(outside_since__isnull=False) | Q(enrolment_id__in=left))
        .select_related("enrolment")
        .distinct()
    )
    alerts: list[Alert] = []
    with transaction.atomic():
        for device in candidates:
            if any(a.enrolment_id == device.enrolment_id for a in alerts):
                continue
            alert = Alert(
                enrolment=device.enrolment,
                device=device,
                kind=Alert.Kind.SILENT,
                raised_at=moment,
                lat=device.last_lat,
                lon=device.last_lon,
                fix_at=device.last_seen,
                detail={"silent_minutes": int((moment - (device.last_seen or moment)).total_seconds() // 60)},
            )
            alert.copy_scope(device.enrolment)
            alert.save()
            notify_alert(alert)
            alerts.append(alert)
    return alerts
