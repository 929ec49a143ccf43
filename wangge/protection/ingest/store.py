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
    district_id: int | None
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


def zones_for(enrolment_ids: Iterable[int]) -> dict[int, list[CompiledZone]]:
    """The active zones of these enrolments, compiled, in one query: a circle is compiled from
    that row; a polygon's shape (GeoJSON) is read again only when it is not yet compiled or was
    changed since (an edit bumps ``updated_at``; a removed or deactivated zone simply stops
    appearing). Compiled zones are kept by id, so a polygon is compiled once per process."""
    zones: dict[int, list[CompiledZone]] = defaultdict(list)
    table = SafeZone._meta.db_table
    current = fetch_in(
        "SELECT id, enrolment_id, updated_at, kind, center_lat, center_lon, radius_m, active_from, active_until, "
        f"name FROM {table} WHERE active AND enrolment_id {{in}}",
        enrolment_ids,
        "bigint",
    )
    with _zone_lock:
        cached = [(row, _zone_cache.get(row[0])) for row in current]
    compiled: dict[int, tuple[dt.datetime, CompiledZone | None]] = {}
    polygons: dict[int, tuple[Any, ...]] = {}
    for row, hit in cached:
        if hit is not None and hit[0] == row[2]:
            continue
        if row[3] == SafeZone.Kind.CIRCLE:
            compiled[row[0]] = (row[2], _compile(row, None))
        else:
            polygons[row[0]] = row
    if polygons:
        for zone_id, geojson in fetch_in(f"SELECT id, geojson FROM {table} WHERE id {{in}}", polygons, "bigint"):
            row = polygons[zone_id]
            shape = json.loads(geojson) if isinstance(geojson, str) else geojson
            compiled[zone_id] = (row[2], _compile(row, shape))
    if compiled:
        with _zone_lock:
            if len(_zone_cache) > 200_000:
                _zone_cache.clear()
            for zone_id, (updated, zone) in compiled.items():
                if zone is not None:  # a broken zone is tried again next time
                    _zone_cache[zone_id] = (updated, zone)
    for row, hit in cached:
        zone = compiled[row[0]][1] if row[0] in compiled else (hit[1] if hit is not None else None)
        if zone is not None:
            zones[row[1]].append(zone)
    return zones


def _compile(row: tuple[Any, ...], geojson: Any) -> CompiledZone | None:
    zone_id, enrolment_id, _updated, kind, lat, lon, radius, start, end, name = row
    try:
        return compile_zone(
            id=zone_id,
            enrolment_id=enrolment_id,
            name=name,
            kind=kind,
            geojson=geojson,
            center_lat=lat,
            center_lon=lon,
            radius_m=radius,
            active_from=_time(start),
            active_until=_time(end),
        )
    except (ValueError, TypeError, AttributeError):
        return None  # a broken zone must not stop ingest; the zone form validates shapes


def lock_phones(identifiers: Iterable[str]) -> list[tuple[Any, ...]]:
    """PostgreSQL, inside the batch's transaction: lock every phone of the people these phones
    belong to, in id order, until commit, and return those rows (``PHONE_COLUMNS``).

    Two workers of a shared subscription (or a worker and an HTTP request) holding fixes of one
    person, even from two phones, then take turns instead of both acting on the same old state
    (a lost two-fixes count, or one alert raised twice). The phones' rows, not the people's:
    the batch rewrites the phones anyway, while a lock on the person's row would write to it
    for every fix (a row lock is a write of the row's header). Always phones in id order and
    nothing else, so two batches cannot deadlock. ``FOR NO KEY UPDATE`` is the lock the
    batch's own ``UPDATE`` takes.

    The rows returned are the locked ones as they are once the lock is held (PostgreSQL
    re-reads a row it waited for), so the phones need no second read; the people's rows are
    not locked and are read by the next statement (``load_devices``), whose snapshot is taken
    after these locks were granted."""
    table = Device._meta.db_table
    return fetch_in(
        f"SELECT {', '.join('o.' + column for column in PHONE_COLUMNS)} FROM {table} o WHERE o.enrolment_id IN ("
        f"SELECT d.enrolment_id FROM {table} d WHERE d.identifier {{in}}) ORDER BY o.id FOR NO KEY UPDATE OF o",
        identifiers,
        "text",
    )


# What the batch reads of a phone: (identifier, id, enrolment_id, coord_system, last_seen, battery,
# name, active).
PHONE_COLUMNS = ("identifier", "id", "enrolment_id", "coord_system", "last_seen", "battery", "name", "active")

# The person's state and whether they may be tracked (an active enrolment whose consent covers it).
_PERSON_SQL = (
    f"SELECT e.id, e.district_id, e.outside_since, e.outside_fixes, e.inside_fixes FROM {Enrolment._meta.db_table} e "
    "WHERE e.id {in} AND e.active AND EXISTS ("
    f"SELECT 1 FROM {Consent._meta.db_table} c WHERE c.enrolment_id = e.id "
    "AND c.withdrawn_at IS NULL AND c.covers_tracking)"
)


def load_devices(identifiers: Iterable[str], *, lock: bool = False) -> dict[str, DeviceState]:
    """Active phones of active enrolments whose consent covers tracking, each with its person's
    zone state (one object per person); nothing else. ``lock`` (PostgreSQL): see
    ``lock_phones``; the person's freshest fix then comes from the locked phones."""
    identifiers = list(identifiers)
    if lock and connection.vendor == "postgresql":
        wanted = set(identifiers)
        phones = lock_phones(identifiers)
        freshest: dict[int, dt.datetime | None] = {}
        for _identifier, _id, enrolment_id, _coords, last_seen, _battery, _name, active in phones:
            latest = freshest.setdefault(enrolment_id, None)
            if active and last_seen is not None and (latest is None or last_seen > latest):
                freshest[enrolment_id] = last_seen
        batch = [row for row in phones if row[0] in wanted and row[7]]
        people = {
            row[0]: (row[1], freshest.get(row[0]), *row[2:])
            for row in fetch_in(_PERSON_SQL, {row[2] for row in batch}, "bigint")
        }
        return _states(batch, people)
    # The person's freshest fix from their phones' rows (SQLite writes one transaction at a time).
    table = Device._meta.db_table
    rows = fetch_in(
        "SELECT d.identifier, d.id, d.enrolment_id, d.coord_system, d.last_seen, d.battery, d.name, d.active, "
        f"e.district_id, (SELECT max(o.last_seen) FROM {table} o WHERE o.enrolment_id = d.enrolment_id AND o.active), "
        f"e.outside_since, e.outside_fixes, e.inside_fixes FROM {table} d "
        f"JOIN {Enrolment._meta.db_table} e ON e.id = d.enrolment_id "
        "WHERE d.identifier {in} AND d.active AND e.active AND EXISTS ("
        f"SELECT 1 FROM {Consent._meta.db_table} c WHERE c.enrolment_id = d.enrolment_id "
        "AND c.withdrawn_at IS NULL AND c.covers_tracking)",
        identifiers,
        "text",
    )
    return _states([row[:8] for row in rows], {row[2]: row[8:] for row in rows})


def _states(phones: list[tuple[Any, ...]], people: dict[int, tuple[Any, ...]]) -> dict[str, DeviceState]:
    """``DeviceState`` of each phone (``PHONE_COLUMNS``) whose person is in ``people``: enrolment
    id → (district_id, freshest fix, outside_since, outside_fixes, inside_fixes)."""
    persons: dict[int, PersonState] = {}
    states = {}
    for identifier, device_id, enrolment_id, coords, last_seen, battery, name, _active in phones:
        found = people.get(enrolment_id)
        if found is None:
            continue  # the person is not tracked (enrolment ended, no consent)
        person = persons.get(enrolment_id)
        if person is None:
            person = persons[enrolment_id] = PersonState(
                enrolment_id=enrolment_id,
                district_id=found[0],
                last_fix_at=_aware(found[1]),
                outside_since=_aware(found[2]),
                outside_fixes=found[3],
                inside_fixes=found[4],
            )
        states[identifier] = DeviceState(
            id=device_id,
            enrolment_id=enrolment_id,
            district_id=person.district_id,
            gcj02=coords == Device.CoordSystem.GCJ02,
            last_seen=_aware(last_seen),
            battery=battery,
            name=name,
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
    # An executemany, not one UPDATE … FROM (VALUES …): SQLite does the same B-tree work per
    # row either way, and measured (1,000 of 100,000 rows) the single statement was 5–20 % slower.
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
