"""Missing-person protection in the demo: most people with the dementia care tag enrolled with
consent, a phone, a safe zone around home and a few weeks of tracks; one open left-zone alert,
one search under way (searchers, a sighting) and one closed search with its time to find.

The many rows (enrolments, consents, phones, zones, fixes) are written in bulk; the story (the
alert's notifications, the searches) goes through the protection app's own actions, so it is
audited and notified exactly as in real use. Tracks are a few hundred fixes per person, thinned
like a phone reporting on movement, and capped in total so a full-size district stays quick.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from django.db.models import Q
from django.utils import timezone

from wangge.core import bulk
from wangge.protection.incidents import actions as incident_actions
from wangge.protection.models import (
    Alert,
    Consent,
    Device,
    Enrolment,
    Incident,
    IncidentUpdate,
    Location,
    Notification,
    Profile,
    SafeZone,
)
from wangge.protection.notify import notify_alert
from wangge.protection.zones import haversine
from wangge.registry.models import Resident

ENROLLED_SHARE = 0.85  # most of the people with the dementia tag
TRACK_DAYS = 21
ZONE_RADIUS_M = 400.0
# A day's fixes: three at home overnight, a morning and an afternoon walk of five, one at home
# in the evening (a phone reporting on movement sends little while its owner sits still).
FIXES_PER_DAY = 14
TRACK_CAP = 50_000  # fixes in all, whatever the district's size
M_PER_DEG_LAT = 110_574.0

APPEARANCES = [
    "身高约160厘米，偏瘦，白发，常穿深蓝色外套",
    "身高约170厘米，微胖，戴眼镜，常穿灰色夹克",
    "身高约155厘米，短发花白，常穿红色毛衣，拄拐杖",
    "身高约165厘米，驼背，常戴黑色毛线帽",
]
PLACES = ["菜市场、社区公园", "老年活动中心、早市", "附近超市、小区花园", "公交站、街心公园"]
HABITS = ["早晚各散步一次，爱看下棋", "喜欢去早市，常说要回老房子", "午饭后散步，记不清回家的路"]


@dataclass
class Story:
    """What the demo's protection part made, for the summary and the tests."""

    enrolled: int = 0
    fixes: int = 0
    open_alert: int | None = None
    active_incident: int | None = None
    closed_incident: int | None = None
    time_to_find: dt.timedelta | None = None
    notes: list[str] = field(default_factory=list)


def _offset(lat: float, lon: float, metres: float, bearing: float) -> tuple[float, float]:
    d_lat = metres * math.cos(bearing) / M_PER_DEG_LAT
    d_lon = metres * math.sin(bearing) / (111_320.0 * math.cos(math.radians(lat)))
    return lat + d_lat, lon + d_lon


def _walk(rng: np.random.Generator, start: dt.datetime, lat: float, lon: float, reach: float, fixes: int) -> list:
    """Out to a place ``reach`` metres away and back, ``fixes`` fixes ten minutes apart."""
    bearing = rng.uniform(0, 2 * math.pi)
    out = []
    for i in range(fixes):
        share = math.sin(math.pi * (i + 1) / (fixes + 1))  # out, then back
        wobble = rng.normal(0, 15)
        a, b = _offset(lat, lon, reach * share, bearing)
        a, b = _offset(a, b, wobble, bearing + math.pi / 2)
        out.append((start + dt.timedelta(minutes=10 * i + float(rng.uniform(0, 3))), a, b))
    return out


def _track(
    rng: np.random.Generator, *, lat: float, lon: float, end: dt.datetime, days: int, per_person: int
) -> list[tuple[dt.datetime, float, float]]:
    """A few weeks of plausible fixes ending before ``end``: home overnight, two walks a day
    inside the zone; thinned to ``per_person``."""
    local_end = timezone.localtime(end)
    fixes: list[tuple[dt.datetime, float, float]] = []
    for day in range(days, -1, -1):
        midnight = (local_end - dt.timedelta(days=day)).replace(hour=0, minute=0, second=0, microsecond=0)
        for hour in (1, 4, 7):
            fixes.append(
                (
                    midnight + dt.timedelta(hours=hour, minutes=float(rng.uniform(0, 50))),
                    *_offset(lat, lon, abs(rng.normal(0, 8)), rng.uniform(0, 2 * math.pi)),
                )
            )
        fixes += _walk(rng, midnight + dt.timedelta(hours=8, minutes=float(rng.uniform(0, 60))), lat, lon,
                       rng.uniform(80, ZONE_RADIUS_M * 0.7), 5)  # fmt: skip
        fixes += _walk(rng, midnight + dt.timedelta(hours=15, minutes=float(rng.uniform(0, 60))), lat, lon,
                       rng.uniform(80, ZONE_RADIUS_M * 0.7), 5)  # fmt: skip
        fixes.append((midnight + dt.timedelta(hours=19, minutes=float(rng.uniform(0, 50))), lat, lon))
    fixes = [f for f in fixes if f[0] < end]
    if len(fixes) > per_person:
        keep = np.sort(rng.choice(len(fixes), per_person, replace=False))
        keep[-1] = len(fixes) - 1  # the latest fix stays: it is the phone's "last seen"
        fixes = [fixes[i] for i in keep]
    return fixes


def build(
    *,
    dementia_pks: list[int],
    ward_pk: int | None,
    searched_pk: int | None,
    found_pk: int | None,
    guardian: Any,
    guardian_relationship: str,
    staff: Any,
    grid_worker: Any,
    volunteer: Any,
    alert_pk: int | None,
    people: Any,
    seed: int,
    now: dt.datetime | None = None,
) -> Story:
    """Enrol most of ``dementia_pks`` (always the guardian's ward and the people of the alert
    and the searches) and play the alert and the two searches."""
    now = now or timezone.now()
    rng = np.random.default_rng(seed + 7)
    story = Story()
    keep = {pk for pk in (ward_pk, alert_pk, searched_pk, found_pk) if pk is not None}
    chosen = [pk for pk in dementia_pks if pk in keep or rng.random() < ENROLLED_SHARE]
    rows = {
        r["pk"]: r
        for r in Resident.objects.filter(pk__in=chosen).values(
            "pk",
            "name",
            "grid_id",
            "community_id",
            "street_id",
            "district_id",
            "household__building__lat",
            "household__building__lon",
        )
    }
    home = {
        pk: (float(row["household__building__lat"]), float(row["household__building__lon"]))
        for pk, row in rows.items()
        if row["household__building__lat"] is not None and row["household__building__lon"] is not None
    }
    chosen = [pk for pk in chosen if pk in home]
    if not chosen:
        return story
    enrolments = Enrolment.objects.bulk_create(
        [
            Enrolment(
                resident_id=pk,
                enrolled_by=staff,
                enrolled_at=now - dt.timedelta(days=int(rng.integers(TRACK_DAYS + 10, 400))),
                grid_id=rows[pk]["grid_id"],
                community_id=rows[pk]["community_id"],
                street_id=rows[pk]["street_id"],
                district_id=rows[pk]["district_id"],
            )
            for pk in chosen
        ]
    )
    by_resident = {e.resident_id: e for e in enrolments}
    ward = ward_pk
    consents, profiles, devices, zones = [], [], [], []
    for index, enrolment in enumerate(enrolments):
        relative = people.person(sex="MF"[index % 2], age=int(rng.integers(35, 60)), relationship="child")
        given_by = guardian.full_name if enrolment.resident_id == ward else relative.name
        phone = guardian.phone if enrolment.resident_id == ward else relative.phone
        consents.append(
            Consent(
                enrolment=enrolment,
                given_by_kind=Consent.GivenBy.GUARDIAN,
                given_by_name=given_by,
                relationship=guardian_relationship,
                date=timezone.localdate(enrolment.enrolled_at),
                recorded_by=staff,
            )
        )
        profiles.append(
            Profile(
                enrolment=enrolment,
                appearance=APPEARANCES[index % len(APPEARANCES)],
                habits=HABITS[index % len(HABITS)],
                places=PLACES[index % len(PLACES)],
                guardian_phones=f"{given_by} {phone}".strip(),
            )
        )
        devices.append(Device(enrolment=enrolment, name="手机"))
        zones.append(
            SafeZone(
                enrolment=enrolment,
                name="家附近",
                kind=SafeZone.Kind.CIRCLE,
                center_lat=home[enrolment.resident_id][0],
                center_lon=home[enrolment.resident_id][1],
                radius_m=ZONE_RADIUS_M,
            )
        )
    Consent.objects.bulk_create(consents)
    Profile.objects.bulk_create(profiles)
    devices = Device.objects.bulk_create(devices)
    SafeZone.objects.bulk_create(zones)
    story.enrolled = len(enrolments)

    # Tracks: everyone's phone reported a few minutes ago, except the people of the story.
    per_person = max(20, min(TRACK_DAYS * FIXES_PER_DAY, TRACK_CAP // len(enrolments)))
    searched, found = searched_pk, found_pk
    local = timezone.localtime(now).utcoffset() or dt.timedelta(0)
    locations: list[dict[str, Any]] = []
    last: dict[int, tuple[dt.datetime, float, float, float]] = {}
    for enrolment, device in zip(enrolments, devices, strict=True):
        row = rows[enrolment.resident_id]
        lat, lon = home[enrolment.resident_id]
        end = now - dt.timedelta(minutes=float(rng.uniform(2, 8)))
        extra: list[tuple[dt.datetime, float, float]] = []
        if enrolment.resident_id == alert_pk:
            # Out of the zone half an hour ago, and still walking away.
            end = now - dt.timedelta(minutes=40)
            extra = _walk(rng, end, lat, lon, ZONE_RADIUS_M * 3.2, 7)[:4]
        elif enrolment.resident_id == searched:
            # Left home this afternoon; the phone's last fix was an hour ago, far from home.
            end = now - dt.timedelta(minutes=110)
            extra = _walk(rng, end, lat, lon, ZONE_RADIUS_M * 5, 11)[:5]
        fixes = _track(rng, lat=lat, lon=lon, end=end, days=TRACK_DAYS, per_person=per_person) + extra
        battery = 100.0
        for when, a, b in fixes:
            # Charged overnight, drained through the day (local hours; Shanghai keeps no DST).
            battery = 100.0 if (when.astimezone(dt.UTC) + local).hour < 8 else max(12.0, battery - rng.uniform(1, 4))
            locations.append(
                {
                    "device_id": device.pk,
                    "enrolment_id": enrolment.pk,
                    "district_id": row["district_id"],
                    "recorded_at": when,
                    "received_at": when + dt.timedelta(seconds=float(rng.uniform(1, 20))),
                    "lat": round(a, 7),
                    "lon": round(b, 7),
                    "accuracy": round(float(rng.uniform(5, 30)), 1),
                    "battery": round(battery),
                    "source": Location.Source.OWNTRACKS_MQTT,
                }
            )
        when, a, b = fixes[-1]
        last[enrolment.pk] = (when, a, b, round(battery))
        is_outside = haversine(a, b, lat, lon) > ZONE_RADIUS_M
        Device.objects.filter(pk=device.pk).update(
            last_seen=when, last_received=when, last_lat=round(a, 7), last_lon=round(b, 7), battery=round(battery)
        )
        Enrolment.objects.filter(pk=enrolment.pk).update(
            outside_since=extra[1][0] if is_outside and len(extra) > 1 else None,
            outside_fixes=3 if is_outside else 0,
            inside_fixes=0 if is_outside else 2,
        )
    bulk.insert(Location, locations)
    story.fixes = len(locations)

    # The open alert: left the zone, raised at the second fix outside.
    if alert_pk in by_resident:
        enrolment = by_resident[alert_pk]
        lat, lon = home[alert_pk]
        trail = list(Location.objects.filter(enrolment=enrolment).order_by("-recorded_at")[:4])
        outside = [fix for fix in reversed(trail) if haversine(fix.lat, fix.lon, lat, lon) > ZONE_RADIUS_M]
        fix = outside[1] if len(outside) > 1 else trail[0]
        alert = Alert.objects.create(
            enrolment=enrolment,
            device=enrolment.devices.first(),
            kind=Alert.Kind.LEFT_ZONE,
            raised_at=fix.received_at,
            location=fix,
            lat=fix.lat,
            lon=fix.lon,
            fix_at=fix.recorded_at,
            grid_id=enrolment.grid_id,
            community_id=enrolment.community_id,
            street_id=enrolment.street_id,
            district_id=enrolment.district_id,
            detail={
                "zone": "家附近",
                "distance_m": round(haversine(fix.lat, fix.lon, lat, lon)),
            },
        )
        notify_alert(alert)
        story.open_alert = alert.pk

    # The search under way: reported by the family, two searchers, a sighting.
    if searched in by_resident:
        enrolment = by_resident[searched]
        incident = incident_actions.incident_report(
            by=guardian if searched == ward else staff,
            enrolment=enrolment,
            description="下午出门买菜，一直没有回来，电话打不通。",
        )
        Incident.objects.filter(pk=incident.pk).update(opened_at=now - dt.timedelta(minutes=35))
        incident.refresh_from_db()
        for searcher in (grid_worker, volunteer):
            if searcher is not None:
                incident_actions.incident_assign_searcher(by=staff, incident=incident, searcher=searcher)
        when, a, b, _battery = last[enrolment.pk]
        seen_lat, seen_lon = _offset(a, b, 350, float(rng.uniform(0, 2 * math.pi)))
        incident_actions.incident_log_update(
            by=volunteer or staff,
            incident=incident,
            kind=IncidentUpdate.Kind.SIGHTING,
            text="超市门口有人看见一位相似的老人，穿深色外套，往南走了。",
            lat=round(seen_lat, 7),
            lon=round(seen_lon, 7),
            seen_at=now - dt.timedelta(minutes=15),
        )
        story.active_incident = incident.pk

    # A search closed last week: found two hours and a quarter after it was reported.
    if found in by_resident:
        enrolment = by_resident[found]
        incident = incident_actions.incident_report(
            by=staff, enrolment=enrolment, description="晚饭后散步未归，家属到处找不到。"
        )
        opened = now - dt.timedelta(days=6, hours=3)
        Incident.objects.filter(pk=incident.pk).update(opened_at=opened)
        incident.refresh_from_db()
        story.time_to_find = dt.timedelta(hours=2, minutes=17)
        incident = incident_actions.incident_close(
            by=staff,
            incident=incident,
            outcome=Incident.Outcome.FOUND,
            found_where="火车站候车室",
            found_at=opened + story.time_to_find,
            condition="身体无碍，已送回家",
        )
        closed = opened + story.time_to_find + dt.timedelta(minutes=20)
        Incident.objects.filter(pk=incident.pk).update(closed_at=closed)
        IncidentUpdate.objects.filter(incident=incident).update(created_at=closed)
        Notification.objects.filter(incident=incident).update(created_at=opened, read_at=closed)
        story.closed_incident = incident.pk
    # Demo people's phone numbers are invented: nothing leaves the server, the in-app
    # notifications stay.
    Notification.objects.exclude(channel=Notification.Channel.IN_APP).filter(
        Q(alert_id=story.open_alert) | Q(incident_id__in=[story.active_incident, story.closed_incident])
    ).delete()
    return story
