"""Missing-person incidents: report, reach the nearest people who can search, log, close.

When a guardian or staff member reports someone missing (or escalates an alert), the incident
records the last known location and time at once (the newest of the phone's fix, the alert's
fix and, failing both, the home address), finds the grid workers and volunteers nearest to it
(the grid containing the point, the nearest grids around it, and the person's own grid) and
notifies them with the profile and the location through ``notify`` (stored, then delivered and
retried). Every action here is keyword-only, atomic and audited; callers check scope first.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any

import shapely
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from shapely.geometry import Point

from wangge.accounts.models import Role, User
from wangge.areas.models import Area, Membership, Organisation
from wangge.core.audit import Action, audit
from wangge.protection.models import (
    Alert,
    Consent,
    Device,
    Enrolment,
    Incident,
    IncidentUpdate,
    Location,
    Notification,
    Responder,
)
from wangge.protection.notify import queue_for_users
from wangge.registry.models import Guardianship

# How many grids around the last known location are alerted (the containing one included).
NEAREST_GRIDS = 3
# Metres per degree of latitude; longitude is scaled by cos(latitude). Good to a few metres at
# the scale of a district, which is all the ranking of nearby grids needs.
_M_PER_DEG_LAT = 110_574.0
_M_PER_DEG_LON_EQUATOR = 111_320.0


@dataclass(frozen=True)
class LastKnown:
    lat: float
    lon: float
    at: dt.datetime | None
    source: str  # "device", "alert", "sighting" or "home"


# -- where the person was last --------------------------------------------------------------


def _tracking_consent(enrolment: Enrolment) -> Consent | None:
    return enrolment.active_consent()


def last_known(enrolment: Enrolment, *, alert: Alert | None = None) -> LastKnown | None:
    """The newest position we know for the person: phone, alert, or the home address."""
    candidates: list[LastKnown] = []
    if _tracking_consent(enrolment) is not None:
        device = (
            Device.objects.filter(enrolment=enrolment, last_seen__isnull=False, last_lat__isnull=False)
            .order_by("-last_seen")
            .first()
        )
        if device is not None and device.last_lat is not None and device.last_lon is not None:
            candidates.append(LastKnown(device.last_lat, device.last_lon, device.last_seen, "device"))
        location = Location.objects.filter(enrolment=enrolment).order_by("-recorded_at").first()
        if location is not None:
            candidates.append(LastKnown(location.lat, location.lon, location.recorded_at, "device"))
        if alert is not None and alert.lat is not None and alert.lon is not None:
            candidates.append(LastKnown(alert.lat, alert.lon, alert.fix_at or alert.raised_at, "alert"))
    if candidates:
        return max(candidates, key=lambda c: c.at or dt.datetime.min.replace(tzinfo=dt.UTC))
    household = enrolment.resident.household
    building = household.building if household is not None else None
    if building is not None and building.lat is not None and building.lon is not None:
        return LastKnown(building.lat, building.lon, None, "home")
    return None


# -- who is nearest -------------------------------------------------------------------------


def _metric(lat0: float, lon0: float) -> tuple[float, float]:
    return _M_PER_DEG_LON_EQUATOR * math.cos(math.radians(lat0)), _M_PER_DEG_LAT


def grid_distances(*, lat: float, lon: float, count: int | None = None) -> list[tuple[int, float]]:
    """The ``count`` grids nearest to the point as (grid id, metres), nearest first (0 = inside).

    Uses the grid boundaries already parsed by ``wangge.areas.geometry`` (an STRtree): a
    window around the point is widened until it holds enough grids, and only those are
    measured, in a local metric projection.
    """
    from wangge.areas.geometry import _tree  # the cached, prepared grid boundaries

    count = count or NEAREST_GRIDS
    tree, ids, geoms = _tree(Area.Level.GRID)
    if not ids:
        return []
    kx, ky = _metric(lat, lon)
    window = 0.01
    candidates: list[int] = []
    while window <= 2.0:
        box = shapely.box(lon - window, lat - window, lon + window, lat + window)
        candidates = [int(i) for i in tree.query(box)]
        if len(candidates) >= count:
            break
        window *= 2
    if not candidates:
        return []
    projected = shapely.transform([geoms[i] for i in candidates], lambda xy: (xy - (lon, lat)) * (kx, ky))
    distances = shapely.distance(projected, Point(0.0, 0.0))
    ranked = sorted(zip(candidates, distances, strict=True), key=lambda pair: float(pair[1]))
    return [(ids[i], round(float(d), 1)) for i, d in ranked[:count]]


def distance_to_grid(*, grid_id: int, lat: float, lon: float) -> float | None:
    from wangge.areas.geometry import _tree

    _index, ids, geoms = _tree(Area.Level.GRID)
    try:
        geom = geoms[ids.index(grid_id)]
    except ValueError:
        return None
    kx, ky = _metric(lat, lon)
    projected = shapely.transform(geom, lambda xy: (xy - (lon, lat)) * (kx, ky))
    return round(float(shapely.distance(projected, Point(0.0, 0.0))), 1)


@dataclass(frozen=True)
class Candidate:
    user: User
    kind: str
    grid_id: int | None
    distance_m: float | None


def nearest_responders(enrolment: Enrolment, where: LastKnown | None) -> list[Candidate]:
    """Grid workers and volunteers of the grids nearest to ``where`` and of the person's grid.

    Nearest first; a person appears once, under the closest grid they serve.
    """
    grids: dict[int, float | None] = {}
    if where is not None:
        for grid_id, metres in grid_distances(lat=where.lat, lon=where.lon):
            grids[grid_id] = metres
    own = enrolment.grid_id
    if own is not None and own not in grids:
        grids[own] = distance_to_grid(grid_id=own, lat=where.lat, lon=where.lon) if where is not None else None

    found: dict[int, Candidate] = {}

    def order(c: Candidate) -> tuple[int, float]:
        return (
            0 if c.kind == Responder.Kind.OWN_GRID_WORKER else 1,
            c.distance_m if c.distance_m is not None else 1e12,
        )

    def offer(candidate: Candidate) -> None:
        current = found.get(candidate.user.pk)
        if current is None or order(candidate) < order(current):
            found[candidate.user.pk] = candidate

    workers = User.objects.filter(role=Role.GRID_WORKER, is_active=True, assignments__area_id__in=list(grids))
    assignments = list(workers.values_list("pk", "assignments__area_id"))
    users = {u.pk: u for u in workers.distinct()}
    for user_id, grid_id in assignments:
        if grid_id not in grids:
            continue
        kind = Responder.Kind.OWN_GRID_WORKER if grid_id == own else Responder.Kind.GRID_WORKER
        offer(Candidate(users[user_id], kind, grid_id, grids[grid_id]))

    memberships = Membership.objects.filter(
        organisation__kind=Organisation.Kind.VOLUNTEERS,
        organisation__area_id__in=list(grids),
        user__isnull=False,
        user__is_active=True,
    ).select_related("user", "organisation")
    for membership in memberships:
        assert membership.user is not None
        grid_id = membership.organisation.area_id
        offer(Candidate(membership.user, Responder.Kind.VOLUNTEER, grid_id, grids[grid_id]))
    return sorted(found.values(), key=order)


# -- messages -------------------------------------------------------------------------------


def _shares_with_workers(enrolment: Enrolment) -> bool:
    return Consent.objects.filter(
        enrolment=enrolment, withdrawn_at__isnull=True, covers_tracking=True, covers_sharing_workers=True
    ).exists()


def profile_summary(enrolment: Enrolment) -> dict[str, str]:
    """The parts of the profile a searcher needs; never the medical notes."""
    profile = getattr(enrolment, "profile", None)
    resident = enrolment.resident
    summary = {
        "name": resident.name,
        "sex": resident.get_sex_display(),
        "birth_year": str(resident.birth_date.year),
        "appearance": "",
        "habits": "",
        "routines": "",
        "places": "",
        "guardian_phones": "",
        "photo": "",
    }
    if profile is not None:
        summary.update(
            appearance=profile.appearance,
            habits=profile.habits,
            routines=profile.routines,
            places=profile.places,
            guardian_phones=profile.guardian_phones,
            photo=reverse("protection:photo", args=[enrolment.pk]) if profile.photo else "",
        )
    return summary


def incident_message(incident: Incident, *, with_location: bool, title: str = "") -> dict[str, Any]:
    enrolment = incident.enrolment
    profile = profile_summary(enrolment)
    lines = [
        _("%(name)s（%(sex)s，%(year)s年生）走失，请协助寻找。")
        % {"name": profile["name"], "sex": profile["sex"], "year": profile["birth_year"]}
    ]
    if with_location and incident.last_lat is not None and incident.last_lon is not None:
        when = (
            timezone.localtime(incident.last_seen_at).strftime("%Y-%m-%d %H:%M")
            if incident.last_seen_at
            else _("时间不详")
        )
        lines.append(
            _("最后已知位置：%(lat).6f, %(lon).6f（%(when)s）")
            % {"lat": incident.last_lat, "lon": incident.last_lon, "when": when}
        )
    if profile["appearance"]:
        lines.append(_("外貌特征：%(text)s") % {"text": profile["appearance"]})
    if profile["places"]:
        lines.append(_("常去地点：%(text)s") % {"text": profile["places"]})
    if profile["guardian_phones"]:
        lines.append(_("监护人：%(text)s") % {"text": profile["guardian_phones"].replace("\n", "；")})
    payload: dict[str, Any] = {
        "title": title or _("走失协查：%(name)s") % {"name": profile["name"]},
        "body": "\n".join(lines),
        "incident": incident.pk,
        "enrolment": enrolment.pk,
        "profile": profile,
        "url": reverse("protection:incident", args=[incident.pk]),
        "opened_at": incident.opened_at.isoformat(),
    }
    if with_location:
        payload.update(
            lat=incident.last_lat,
            lon=incident.last_lon,
            last_seen_at=incident.last_seen_at.isoformat() if incident.last_seen_at else None,
            last_source=incident.last_source,
        )
    return payload


def _guardians(enrolment: Enrolment) -> list[User]:
    return [
        g.guardian
        for g in Guardianship.objects.filter(resident_id=enrolment.resident_id).select_related("guardian")
        if g.guardian.is_active
    ]


def _notify(incident: Incident, *, users: list[User], exclude: Any = None, title: str = "") -> list[Notification]:
    """Guardians get the location; the others get it only if the consent covers sharing."""
    guardians = {u.pk for u in _guardians(incident.enrolment)}
    excluded = getattr(exclude, "pk", None)
    targets = {u.pk: u for u in users if u.pk != excluded}
    shares = _shares_with_workers(incident.enrolment)
    with_location = [u for u in targets.values() if shares or u.pk in guardians]
    without = [u for u in targets.values() if not (shares or u.pk in guardians)]
    rows: list[Notification] = []
    if with_location:
        rows += queue_for_users(
            users=with_location, payload=incident_message(incident, with_location=True, title=title), incident=incident
        )
    if without:
        rows += queue_for_users(
            users=without, payload=incident_message(incident, with_location=False, title=title), incident=incident
        )
    return rows


# -- actions --------------------------------------------------------------------------------


@transaction.atomic
def incident_report(*, by: Any, enrolment: Enrolment, description: str = "", alert: Alert | None = None) -> Incident:
    """Open a search (or return the one already open), notify the nearest responders."""
    enrolment = (
        Enrolment.objects.select_for_update(of=("self",))
        .select_related("resident__household__building")
        .get(pk=enrolment.pk)
    )
    if not enrolment.active:
        raise ValidationError(_("该人员的走失防护登记已结束"))
    existing = enrolment.incidents.filter(status=Incident.Status.OPEN).first()
    if existing is not None:
        if description.strip():
            incident_log_update(by=by, incident=existing, text=_("再次报告：%(text)s") % {"text": description.strip()})
        return existing
    where = last_known(enrolment, alert=alert)
    incident = Incident(
        enrolment=enrolment,
        opened_by=by if getattr(by, "is_authenticated", False) else None,
        description=description.strip(),
        alert=alert,
    )
    if where is not None:
        incident.last_lat, incident.last_lon = where.lat, where.lon
        incident.last_seen_at, incident.last_source = where.at, where.source
    incident.copy_scope(enrolment)
    incident.save()
    audit(
        actor=by,
        action=Action.CREATE,
        obj=incident,
        summary=_("报告走失：%(name)s") % {"name": enrolment.resident.name},
        detail={"alert": alert.pk if alert else None, "last_source": incident.last_source},
    )

    shares = _shares_with_workers(enrolment)
    candidates = nearest_responders(enrolment, where)
    Responder.objects.bulk_create(
        [
            Responder(
                incident=incident,
                user=c.user,
                kind=c.kind,
                grid_id=c.grid_id,
                distance_m=c.distance_m,
                shares_location=shares,
            )
            for c in candidates
        ]
    )
    _notify(incident, users=[c.user for c in candidates] + _guardians(enrolment), exclude=by)
    return incident


@transaction.atomic
def alert_escalate(*, by: Any, alert: Alert, description: str = "") -> Incident:
    """Turn an alert into a missing-person incident; the alert is closed as escalated."""
    alert = Alert.objects.select_for_update(of=("self",)).select_related("enrolment").get(pk=alert.pk)
    text = description.strip() or _("由告警升级：%(kind)s") % {"kind": alert.get_kind_display()}
    incident = incident_report(by=by, enrolment=alert.enrolment, description=text, alert=alert)
    if alert.resolved_at is None:
        alert.resolved_at = timezone.now()
    alert.detail = {**alert.detail, "escalated_incident": incident.pk}
    alert.save(update_fields=["resolved_at", "detail"])
    audit(actor=by, action=Action.UPDATE, obj=alert, summary=_("告警升级为走失事件 #%(pk)s") % {"pk": incident.pk})
    return incident


@transaction.atomic
def alert_resolve(*, by: Any, alert: Alert, note: str = "") -> Alert:
    alert = Alert.objects.select_for_update().get(pk=alert.pk)
    if alert.resolved_at is None:
        alert.resolved_at = timezone.now()
        alert.detail = {**alert.detail, "resolved_by": getattr(by, "pk", None), "note": note.strip()[:200]}
        alert.save(update_fields=["resolved_at", "detail"])
        audit(
            actor=by,
            action=Action.UPDATE,
            obj=alert,
            summary=_("解除告警：%(kind)s") % {"kind": alert.get_kind_display()},
        )
    return alert


def _require_open(incident: Incident) -> None:
    if incident.status != Incident.Status.OPEN:
        raise ValidationError(_("该走失事件已结束"))


@transaction.atomic
def incident_assign_searcher(*, by: Any, incident: Incident, searcher: User) -> Incident:
    _require_open(incident)
    if not searcher.is_active or searcher.role == Role.AUDITOR:
        raise ValidationError(_("该用户不能担任搜寻人员"))
    if incident.searchers.filter(pk=searcher.pk).exists():
        return incident
    incident.searchers.add(searcher)
    IncidentUpdate.objects.create(
        incident=incident,
        kind=IncidentUpdate.Kind.ASSIGNMENT,
        text=_("指派搜寻人员：%(name)s") % {"name": str(searcher)},
        by=by if getattr(by, "is_authenticated", False) else None,
    )
    audit(
        actor=by, action=Action.UPDATE, obj=incident, summary=_("指派搜寻人员：%(searcher)s") % {"searcher": searcher}
    )
    _notify(
        incident,
        users=[searcher],
        exclude=by,
        title=_("您被指派参与搜寻：%(name)s") % {"name": incident.enrolment.resident.name},
    )
    return incident


def _check_coordinates(lat: float | None, lon: float | None) -> None:
    if (lat is None) != (lon is None):
        raise ValidationError(_("纬度和经度需同时填写"))
    if lat is not None and lon is not None and not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise ValidationError(_("坐标超出范围"))


@transaction.atomic
def incident_log_update(
    *,
    by: Any,
    incident: Incident,
    text: str,
    kind: str = IncidentUpdate.Kind.NOTE,
    lat: float | None = None,
    lon: float | None = None,
    seen_at: dt.datetime | None = None,
) -> IncidentUpdate:
    """A progress note or a sighting; a sighting newer than the last known fix moves it."""
    _require_open(incident)
    text = text.strip()
    if not text:
        raise ValidationError(_("请填写内容"))
    if kind not in (IncidentUpdate.Kind.NOTE, IncidentUpdate.Kind.SIGHTING):
        raise ValidationError(_("记录类型无效"))
    _check_coordinates(lat, lon)
    now = timezone.now()
    if seen_at is not None and seen_at > now + dt.timedelta(minutes=5):
        raise ValidationError(_("目击时间不能晚于现在"))
    if kind == IncidentUpdate.Kind.SIGHTING and seen_at is None:
        seen_at = now
    update = IncidentUpdate.objects.create(
        incident=incident,
        kind=kind,
        text=text,
        lat=lat,
        lon=lon,
        seen_at=seen_at,
        by=by if getattr(by, "is_authenticated", False) else None,
    )
    if (
        kind == IncidentUpdate.Kind.SIGHTING
        and lat is not None
        and lon is not None
        and (incident.last_seen_at is None or (seen_at is not None and seen_at > incident.last_seen_at))
    ):
        incident.last_lat, incident.last_lon, incident.last_seen_at = lat, lon, seen_at
        incident.last_source = "sighting"
        incident.save(update_fields=["last_lat", "last_lon", "last_seen_at", "last_source"])
    audit(
        actor=by,
        action=Action.UPDATE,
        obj=incident,
        summary=_("走失事件%(kind)s：%(text)s") % {"kind": update.get_kind_display(), "text": text[:80]},
        detail={"update": update.pk, "kind": kind},
    )
    return update


@transaction.atomic
def incident_close(
    *,
    by: Any,
    incident: Incident,
    outcome: str,
    found_where: str = "",
    found_at: dt.datetime | None = None,
    condition: str = "",
) -> Incident:
    """Close the search; searchers and responders are told to stop and lose access to the trail."""
    incident = (
        Incident.objects.select_for_update(of=("self",)).select_related("enrolment__resident").get(pk=incident.pk)
    )
    _require_open(incident)
    if outcome not in Incident.Outcome.values:
        raise ValidationError(_("结果无效"))
    now = timezone.now()
    if outcome in (Incident.Outcome.FOUND, Incident.Outcome.RETURNED):
        found_at = found_at or now
        if found_at > now + dt.timedelta(minutes=5):
            raise ValidationError(_("找到时间不能晚于现在"))
        if found_at < incident.opened_at - dt.timedelta(days=1):
            raise ValidationError(_("找到时间早于报告时间"))
    else:
        found_at = None
    incident.status = Incident.Status.CLOSED
    incident.closed_at = now
    incident.outcome = outcome
    incident.found_where = found_where.strip()
    incident.found_at = found_at
    incident.found_condition = condition.strip()
    incident.save()
    summary = _("结束：%(outcome)s") % {"outcome": incident.get_outcome_display()}
    if found_where.strip():
        summary += _("，地点：%(where)s") % {"where": found_where.strip()}
    IncidentUpdate.objects.create(
        incident=incident,
        kind=IncidentUpdate.Kind.CLOSURE,
        text=summary,
        by=by if getattr(by, "is_authenticated", False) else None,
    )
    audit(
        actor=by,
        action=Action.UPDATE,
        obj=incident,
        summary=_("结束走失事件：%(outcome)s") % {"outcome": incident.get_outcome_display()},
        detail={"time_to_found_seconds": seconds(time_to_found(incident))},
    )
    users = [r.user for r in incident.responders.select_related("user")] + list(incident.searchers.all())
    users += _guardians(incident.enrolment)
    title = _("搜寻结束：%(name)s %(outcome)s") % {
        "name": incident.enrolment.resident.name,
        "outcome": incident.get_outcome_display(),
    }
    _notify(incident, users=users, exclude=by, title=title)
    return incident


# -- figures --------------------------------------------------------------------------------


def time_to_found(incident: Incident) -> dt.timedelta | None:
    if incident.found_at is None:
        return None
    return max(dt.timedelta(0), incident.found_at - incident.opened_at)


def elapsed(incident: Incident, *, now: dt.datetime | None = None) -> dt.timedelta:
    end = incident.closed_at if incident.status == Incident.Status.CLOSED and incident.closed_at else None
    return max(dt.timedelta(0), (end or now or timezone.now()) - incident.opened_at)


def seconds(delta: dt.timedelta | None) -> int | None:
    return None if delta is None else int(delta.total_seconds())


def duration_label(delta: dt.timedelta | None) -> str:
    """``3小时05分`` — how the pages show elapsed time and time to found."""
    if delta is None:
        return ""
    minutes = int(delta.total_seconds() // 60)
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    if days:
        return _("%(d)d天%(h)d小时%(m)02d分") % {"d": days, "h": hours, "m": minutes}
    if hours:
        return _("%(h)d小时%(m)02d分") % {"h": hours, "m": minutes}
    return _("%(m)d分钟") % {"m": minutes}
