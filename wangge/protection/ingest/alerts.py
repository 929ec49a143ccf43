"""The phone's alert state machine: distances to the safe zones, then raise or resolve
``left_zone``, ``low_battery``, ``sos`` and ``silent`` for each new fix, and store what was raised."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from django.conf import settings
from django.utils import timezone

from wangge.protection.ingest.store import DeviceState
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
    resolved_at: dt.datetime | None = None


def _resolve(
    state: DeviceState,
    kind: str,
    at: dt.datetime,
    raise_: list[AlertChange],
    resolve: list[tuple[int, str, dt.datetime]],
) -> None:
    # Raised earlier in this same batch: store it already resolved.
    for change in reversed(raise_):
        if change.state.enrolment_id == state.enrolment_id and change.kind == kind and change.resolved_at is None:
            change.resolved_at = at
            return
    resolve.append((state.enrolment_id, kind, at))


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
    outside: float | None,
    open_kinds: set[str],
    raise_: list[AlertChange],
    resolve: list[tuple[int, str, dt.datetime]],
) -> None:
    """The phone's state machine for one new fix; ``outside`` is its ``outside_many`` distance."""
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
            raise_.append(AlertChange(Alert.Kind.LEFT_ZONE, state, fix, {"metres_outside": round(outside, 1)}))
            open_kinds.add(Alert.Kind.LEFT_ZONE)
    # else: outside by less than the fix's accuracy: cannot tell, so the state stays as it was.

    threshold = float(settings.WANGGE_LOW_BATTERY_PERCENT)
    if fix.battery is not None:
        if fix.battery < threshold and Alert.Kind.LOW_BATTERY not in open_kinds:
            raise_.append(AlertChange(Alert.Kind.LOW_BATTERY, state, fix, {"battery": fix.battery}))
            open_kinds.add(Alert.Kind.LOW_BATTERY)
        elif fix.battery >= threshold + LOW_BATTERY_HYSTERESIS and Alert.Kind.LOW_BATTERY in open_kinds:
            _resolve(state, Alert.Kind.LOW_BATTERY, fix.recorded_at, raise_, resolve)
            open_kinds.discard(Alert.Kind.LOW_BATTERY)
    if fix.alarm == "sos" and Alert.Kind.SOS not in open_kinds:
        raise_.append(AlertChange(Alert.Kind.SOS, state, fix, {}))
        open_kinds.add(Alert.Kind.SOS)


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
            resolved_at=change.resolved_at,
            detail=change.detail,
        )
        alert.copy_scope(enrolment)
        alert.save()
        notify_alert(alert)
        alerts.append(alert)
    return alerts
