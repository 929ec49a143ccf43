"""The person's alert state machine: distances to the safe zones, then raise or resolve
``left_zone``, ``low_battery``, ``sos``, ``silent`` and ``phone_off`` for each new fix, and store
what was raised.

Alert state belongs to the person, not the phone: the zone rule reads only the freshest fix of
any of their active phones (a phone left at home cannot pull them back inside, nor make them
flap in and out). Times are the server's receive time whenever the phone's clock is ahead.
A left-zone alert is raised by two outside fixes (or dwelling outside) and resolved only by two
consecutive fixes inside, so one forged or stray fix can neither resolve it nor hold it back.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from wangge.protection.ingest.store import DeviceState, PersonState
from wangge.protection.models import Alert, Enrolment, Location
from wangge.protection.notify import notify_alert
from wangge.protection.protocols import Fix
from wangge.protection.zones import M_PER_DEG_LAT, CompiledZone, haversine_many

LOW_BATTERY_HYSTERESIS = 5.0


@dataclass(slots=True)
class AlertChange:
    kind: str
    state: DeviceState
    fix: Fix
    detail: dict[str, Any]
    raised_at: dt.datetime
    resolved_at: dt.datetime | None = None


@dataclass(slots=True)
class Changes:
    """What a batch's fixes raise and resolve, all at the server time the batch was received."""

    received: dt.datetime
    raise_: list[AlertChange]
    resolve: list[tuple[int, str, dt.datetime]]

    def raise_alert(self, kind: str, state: DeviceState, fix: Fix, detail: dict[str, Any]) -> None:
        self.raise_.append(AlertChange(kind, state, fix, {"phone": state.name, **detail}, self.received))

    def resolve_alert(self, state: DeviceState, kind: str) -> None:
        # Raised earlier in this same batch: store it already resolved.
        for change in reversed(self.raise_):
            if change.state.enrolment_id == state.enrolment_id and change.kind == kind and change.resolved_at is None:
                change.resolved_at = self.received
                return
        self.resolve.append((state.enrolment_id, kind, self.received))


def outside_many(items: Sequence[tuple[Fix, list[CompiledZone]]]) -> list[float | None]:
    """Metres outside every zone active at each fix's local time (None when none is active), for
    many fixes at once: circles with numpy, polygons with shapely's vectorised distance, so the
    per-fix Python work is only picking the zones active then."""
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


def evaluate(
    state: DeviceState,
    fix: Fix,
    at: dt.datetime,
    outside: float | None,
    fresh: bool,
    open_kinds: dict[str, int | None],
    changes: Changes,
) -> None:
    """The state machine for one fix newer than its phone's latest; ``at`` is its time for
    alert logic, ``outside`` its ``outside_many`` distance, ``fresh`` whether it is also the
    freshest fix of the person (only those move the zone state)."""
    for kind in (Alert.Kind.SILENT, Alert.Kind.PHONE_OFF):
        # A phone reported: the person is not silent, the phone not switched off.
        if kind in open_kinds:
            changes.resolve_alert(state, kind)
            del open_kinds[kind]
    if fresh:
        _zone(state, state.person, fix, at, outside, open_kinds, changes)

    threshold = float(settings.WANGGE_LOW_BATTERY_PERCENT)
    if fix.battery is not None:
        if fix.battery < threshold and Alert.Kind.LOW_BATTERY not in open_kinds:
            changes.raise_alert(Alert.Kind.LOW_BATTERY, state, fix, {"battery": fix.battery})
            open_kinds[Alert.Kind.LOW_BATTERY] = state.id
        elif (
            fix.battery >= threshold + LOW_BATTERY_HYSTERESIS
            and Alert.Kind.LOW_BATTERY in open_kinds
            # Only the phone that was low: another, charged phone says nothing about it.
            and open_kinds[Alert.Kind.LOW_BATTERY] in (state.id, None)
        ):
            changes.resolve_alert(state, Alert.Kind.LOW_BATTERY)
            del open_kinds[Alert.Kind.LOW_BATTERY]
    # Only from a sender that proved it is the phone (see api.authenticate_osmand); an SOS is
    # taken from any phone's new fix, freshest or not.
    if fix.alarm == "sos" and fix.verified and Alert.Kind.SOS not in open_kinds:
        changes.raise_alert(Alert.Kind.SOS, state, fix, {})
        open_kinds[Alert.Kind.SOS] = state.id


def _zone(
    state: DeviceState,
    person: PersonState,
    fix: Fix,
    at: dt.datetime,
    outside: float | None,
    open_kinds: dict[str, int | None],
    changes: Changes,
) -> None:
    dwell = dt.timedelta(seconds=settings.WANGGE_ZONE_DWELL_SECONDS)
    if outside is None:  # no zone active now: nothing to be outside of
        person.outside_since, person.outside_fixes, person.inside_fixes = None, 0, 0
    elif outside == 0.0:
        if person.outside_since is None and not person.outside_fixes and Alert.Kind.LEFT_ZONE not in open_kinds:
            return  # inside, and nothing outside to clear: counting fixes inside would change nothing
        person.inside_fixes = min(person.inside_fixes + 1, 2)
        if person.inside_fixes >= 2:  # a second fix inside corroborates the first
            person.outside_since, person.outside_fixes = None, 0
            if Alert.Kind.LEFT_ZONE in open_kinds:
                changes.resolve_alert(state, Alert.Kind.LEFT_ZONE)
                del open_kinds[Alert.Kind.LEFT_ZONE]
    elif outside > (fix.accuracy or 0.0):
        person.inside_fixes = 0
        if person.outside_since is None:
            person.outside_since = at
        # Capped: the rule reads only "two or more", and a count that stopped moving leaves the
        # person's row unwritten while they stay outside.
        person.outside_fixes = min(person.outside_fixes + 1, 2)
        dwelt = at - person.outside_since >= dwell
        if Alert.Kind.LEFT_ZONE not in open_kinds and (person.outside_fixes >= 2 or dwelt):
            changes.raise_alert(Alert.Kind.LEFT_ZONE, state, fix, {"metres_outside": round(outside, 1)})
            open_kinds[Alert.Kind.LEFT_ZONE] = state.id
    # else: outside by less than the fix's accuracy: cannot tell, so the state stays as it was.


def raise_alerts(changes: list[AlertChange]) -> list[Alert]:
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
            raised_at=change.raised_at,
            resolved_at=change.resolved_at,
            detail=change.detail,
        )
        alert.copy_scope(enrolment)
        if not save_open_alert(alert):
            continue
        notify_alert(alert)
        alerts.append(alert)
    return alerts


def save_open_alert(alert: Alert) -> bool:
    """Store the alert unless the person already has one of its kind open (the database's
    partial unique constraint decides when two workers race); False if so, nothing notified."""
    try:
        with transaction.atomic():
            alert.save()
    except IntegrityError:
        return False
    return True
