"""Every write of a missing-person search: report (or escalate an alert), assign searchers,
log progress and sightings, close. Keyword-only, atomic and audited; callers check scope first."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from wangge.accounts import policy
from wangge.accounts.models import User
from wangge.core.audit import Action, audit, recorded_user
from wangge.protection import queries
from wangge.protection.incidents.labels import seconds, time_to_found
from wangge.protection.incidents.messages import notify_incident
from wangge.protection.incidents.responders import last_known, nearest_responders
from wangge.protection.models import Alert, Enrolment, Incident, IncidentUpdate, Responder


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
        opened_by=recorded_user(by),
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

    shares = queries.shares_location_with_workers(enrolment)
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
    notify_incident(incident, users=[c.user for c in candidates] + queries.guardians_of(enrolment), exclude=by)
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
    refused = policy.why_not_searcher(searcher, incident.enrolment.resident)
    if refused:
        raise ValidationError(refused)
    if incident.searchers.filter(pk=searcher.pk).exists():
        return incident
    incident.searchers.add(searcher)
    IncidentUpdate.objects.create(
        incident=incident,
        kind=IncidentUpdate.Kind.ASSIGNMENT,
        text=_("指派搜寻人员：%(name)s") % {"name": str(searcher)},
        by=recorded_user(by),
    )
    audit(
        actor=by, action=Action.UPDATE, obj=incident, summary=_("指派搜寻人员：%(searcher)s") % {"searcher": searcher}
    )
    notify_incident(
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
        by=recorded_user(by),
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
    # The timeline shows the kind ("结束") before the text: the text is the outcome alone.
    summary = str(incident.get_outcome_display())
    if found_where.strip():
        summary += _("，地点：%(where)s") % {"where": found_where.strip()}
    IncidentUpdate.objects.create(
        incident=incident,
        kind=IncidentUpdate.Kind.CLOSURE,
        text=summary,
        by=recorded_user(by),
    )
    audit(
        actor=by,
        action=Action.UPDATE,
        obj=incident,
        summary=_("结束走失事件：%(outcome)s") % {"outcome": incident.get_outcome_display()},
        detail={"time_to_found_seconds": seconds(time_to_found(incident))},
    )
    users = [r.user for r in incident.responders.select_related("user")] + list(incident.searchers.all())
    users += queries.guardians_of(incident.enrolment)
    title = _("搜寻结束：%(name)s %(outcome)s") % {
        "name": incident.enrolment.resident.name,
        "outcome": incident.get_outcome_display(),
    }
    notify_incident(incident, users=users, exclude=by, title=title)
    return incident
