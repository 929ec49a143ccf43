"""Pages of missing-person protection: enrolment and consent, profile, phones, zones, alerts,
and the live incident page.

Reads go through ``queries`` (out of scope = 404; a location read is audited with its purpose);
writes go through ``actions`` (the ingest engineer's enrolment, consent, device and zone
actions) and ``incidents``.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import mimetypes
from typing import Any
from urllib.parse import urlencode, urlsplit

import segno
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from wangge.accounts.models import Role, User
from wangge.core.audit import Action, audit
from wangge.protection import actions, incidents, queries
from wangge.protection.forms import (
    AssignForm,
    CloseForm,
    ConsentForm,
    DeviceForm,
    ProfileForm,
    ReportForm,
    UpdateForm,
    ZoneForm,
)
from wangge.protection.models import Device, Enrolment, Incident, Notification, Profile
from wangge.registry.queries import get_resident

# How far back the live incident page draws the trail.
TRAIL_HOURS = 6
LIVE_POLL_SECONDS = 10


def _user(request: HttpRequest) -> Any:
    return request.user


def _errors(form: Any, exc: ValidationError) -> None:
    for message in exc.messages:
        form.add_error(None, message)


# -- lists ----------------------------------------------------------------------------------


@login_required
def index(request: HttpRequest) -> HttpResponse:
    """A guardian's relatives, or the enrolments, open searches and alerts in a worker's areas."""
    user = _user(request)
    notifications = list(queries.notifications_for(user))
    unread = [n.pk for n in notifications if n.read_at is None]
    if unread:
        Notification.objects.filter(pk__in=unread).update(read_at=timezone.now())
    context: dict[str, Any] = {
        "notifications": notifications,
        "unread": set(unread),
        "open_incidents": queries.incidents_visible_to(user)
        .filter(status=Incident.Status.OPEN)
        .select_related("enrolment__resident")
        .order_by("-opened_at"),
    }
    if user.role == Role.GUARDIAN:
        wards = []
        for resident in queries.wards_of(user).select_related("household__building", "community"):
            enrolment = resident.enrolments.filter(active=True).first()
            wards.append(
                {
                    "resident": resident,
                    "enrolment": enrolment,
                    "open": enrolment.incidents.filter(status=Incident.Status.OPEN).first() if enrolment else None,
                }
            )
        context["wards"] = wards
        return render(request, "protection/guardian.html", context)
    context["enrolments"] = (
        queries.enrolments_visible_to(user)
        .filter(active=True)
        .select_related("resident", "grid")
        .order_by("grid__name", "resident__name")[:500]
    )
    context["alert_count"] = queries.open_alerts_visible_to(user).count()
    return render(request, "protection/index.html", context)


@login_required
def alerts(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    if user.role not in queries.AREA_ROLES and user.role != Role.GUARDIAN:
        raise Http404
    rows = queries.open_alerts_visible_to(user).select_related("enrolment__resident", "grid").order_by("-raised_at")
    recent = (
        queries.alerts_visible_to(user)
        .filter(resolved_at__isnull=False)
        .select_related("enrolment__resident")
        .order_by("-resolved_at")[:20]
    )
    return render(request, "protection/alerts.html", {"alerts": rows[:200], "recent": recent})


@login_required
@require_POST
def alert_resolve(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    alert = queries.get_alert(user, pk)
    if not queries.can_manage(user, alert.enrolment):
        raise Http404
    incidents.alert_resolve(by=user, alert=alert, note=request.POST.get("note", ""))
    messages.success(request, _("已解除告警"))
    return redirect("protection:alerts")


@login_required
@require_POST
def alert_escalate(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    alert = queries.get_alert(user, pk)
    if not queries.can_manage(user, alert.enrolment):
        raise Http404
    try:
        incident = incidents.alert_escalate(by=user, alert=alert, description=request.POST.get("description", ""))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("protection:alerts")
    messages.success(request, _("已升级为走失事件，附近网格员和志愿者已收到通知"))
    return redirect("protection:incident", pk=incident.pk)


# -- enrolment and consent ------------------------------------------------------------------


def _may_enrol(user: Any, resident: Any) -> bool:
    if user.role in queries.AREA_ROLES:
        return True
    return resident.guardianships.filter(guardian=user).exists()


@login_required
def enrol(request: HttpRequest, resident_pk: int) -> HttpResponse:
    user = _user(request)
    resident = get_resident(user, resident_pk)
    if not _may_enrol(user, resident):
        raise Http404
    existing = resident.enrolments.filter(active=True).first()
    if existing is not None:
        return redirect("protection:enrolment", pk=existing.pk)
    form = ConsentForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        with transaction.atomic():
            enrolment = actions.enrolment_create(by=user, resident=resident)
            actions.consent_record(
                by=user,
                enrolment=enrolment,
                given_by_kind=data["given_by_kind"],
                given_by_name=data["given_by_name"],
                relationship=data["relationship"],
                date=data["date"],
                covers_tracking=data["covers_tracking"],
                covers_sharing_workers=data["covers_sharing_workers"],
                covers_sharing_police=data["covers_sharing_police"],
                document=data["document"],
            )
        messages.success(request, _("已登记走失防护，请完善走失预案档案并登记手机"))
        return redirect("protection:enrolment", pk=enrolment.pk)
    status = 400 if request.method == "POST" else 200
    return render(request, "protection/enrol.html", {"resident": resident, "form": form}, status=status)


def _enrolment_context(request: HttpRequest, enrolment: Enrolment) -> dict[str, Any]:
    user = _user(request)
    manage = queries.can_manage(user, enrolment)
    profile, _created = Profile.objects.get_or_create(enrolment=enrolment)
    return {
        "enrolment": enrolment,
        "resident": enrolment.resident,
        "manage": manage,
        "consents": enrolment.consents.select_related("recorded_by", "withdrawn_by"),
        "active_consent": enrolment.active_consent(),
        "profile": profile,
        "medical": queries.sees_medical_notes(user, enrolment),
        "devices": enrolment.devices.all() if manage else [],
        "zones": enrolment.zones.all(),
        "open_incident": enrolment.incidents.filter(status=Incident.Status.OPEN).first(),
        "past_incidents": enrolment.incidents.filter(status=Incident.Status.CLOSED)[:10],
        "alerts": enrolment.alerts.all()[:10],
        "consent_form": ConsentForm(),
        "device_form": DeviceForm(),
        "report_form": ReportForm(),
        "guardians": enrolment.resident.guardianships.select_related("guardian"),
    }


@login_required
def enrolment(request: HttpRequest, pk: int) -> HttpResponse:
    enrolment = queries.get_enrolment(_user(request), pk)
    return render(request, "protection/enrolment.html", _enrolment_context(request, enrolment))


def _managed(request: HttpRequest, pk: int) -> Enrolment:
    user = _user(request)
    enrolment = queries.get_enrolment(user, pk)
    if not queries.can_manage(user, enrolment):
        raise Http404
    return enrolment


@login_required
@require_POST
def consent_add(request: HttpRequest, pk: int) -> HttpResponse:
    enrolment = _managed(request, pk)
    form = ConsentForm(request.POST, request.FILES)
    if not form.is_valid():
        context = _enrolment_context(request, enrolment) | {"consent_form": form, "open_form": "consent"}
        return render(request, "protection/enrolment.html", context, status=400)
    data = form.cleaned_data
    actions.consent_record(by=_user(request), enrolment=enrolment, **{k: v for k, v in data.items()})
    messages.success(request, _("已登记知情同意"))
    return redirect("protection:enrolment", pk=enrolment.pk)


@login_required
@require_POST
def consent_withdraw(request: HttpRequest, pk: int) -> HttpResponse:
    enrolment = _managed(request, pk)
    actions.consent_withdraw(by=_user(request), enrolment=enrolment)
    messages.success(request, _("已撤回知情同意：停止位置跟踪，既往位置不再显示"))
    return redirect("protection:enrolment", pk=enrolment.pk)


@login_required
def consent_document(request: HttpRequest, pk: int, consent_pk: int) -> HttpResponseBase:
    enrolment = _managed(request, pk)
    consent = enrolment.consents.filter(pk=consent_pk).exclude(document="").first()
    if consent is None:
        raise Http404
    audit(
        actor=_user(request),
        action=Action.VIEW,
        obj=consent,
        summary=_("查看同意书：%(name)s") % {"name": enrolment.resident.name},
    )
    return _file(consent.document)


def _file(field: Any) -> FileResponse:
    try:
        handle = field.open("rb")
    except (FileNotFoundError, ValueError):
        raise Http404 from None
    content_type = mimetypes.guess_type(field.name)[0] or "application/octet-stream"
    response = FileResponse(handle, content_type=content_type)
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
def photo(request: HttpRequest, pk: int) -> HttpResponseBase:
    enrolment = queries.get_enrolment(_user(request), pk)
    profile = getattr(enrolment, "profile", None)
    if profile is None or not profile.photo:
        raise Http404
    return _file(profile.photo)


# -- profile --------------------------------------------------------------------------------


@login_required
def profile_edit(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    enrolment = _managed(request, pk)
    profile, _created = Profile.objects.get_or_create(enrolment=enrolment)
    medical = queries.sees_medical_notes(user, enrolment)
    form = ProfileForm(request.POST or None, request.FILES or None, instance=profile, medical=medical)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            profile = form.save(commit=False)
            profile.updated_by = user
            profile.save()
            audit(
                actor=user,
                action=Action.UPDATE,
                obj=profile,
                summary=_("更新走失预案档案：%(name)s") % {"name": enrolment.resident.name},
                detail={"fields": sorted(form.changed_data)},
            )
        messages.success(request, _("已保存走失预案档案"))
        return redirect("protection:enrolment", pk=enrolment.pk)
    status = 400 if request.method == "POST" else 200
    return render(request, "protection/profile_form.html", {"enrolment": enrolment, "form": form}, status=status)


# -- devices --------------------------------------------------------------------------------


def _qr(data: str) -> str:
    return segno.make(data, error="m", micro=False).svg_inline(scale=4, border=2, dark="#1d2733")


def _public_mqtt(request: HttpRequest) -> tuple[str, int, bool]:
    """Host and port phones use for MQTT: ``WANGGE_MQTT_PUBLIC_URL`` if set, else the broker's
    URL with a loopback host replaced by this site's host."""
    raw = getattr(settings, "WANGGE_MQTT_PUBLIC_URL", "") or settings.MQTT_URL
    parts = urlsplit(raw)
    host = parts.hostname or ""
    if host in ("", "127.0.0.1", "localhost", "::1"):
        host = request.get_host().split(":")[0]
    tls = parts.scheme in ("mqtts", "ssl", "tls")
    return host, parts.port or (8883 if tls else 1883), tls


def device_setup(request: HttpRequest, device: Device, password: str | None) -> dict[str, Any]:
    """Everything to type into OwnTracks and Traccar Client, and QR codes that type it for you.

    OwnTracks imports ``owntracks:///config?inline=<base64 of a _type=configuration JSON>``
    (mode 3 = HTTP, 0 = MQTT); Traccar Client applies a scanned ``https://…?id=…`` URL as its
    server URL and device identifier.
    """
    owntracks_url = request.build_absolute_uri(reverse("locations-owntracks"))
    osmand_url = request.build_absolute_uri(reverse("locations-osmand"))
    user, device_name = device.identifier, device.owntracks_device
    http_config: dict[str, Any] = {
        "_type": "configuration",
        "mode": 3,
        "url": owntracks_url,
        "auth": True,
        "username": user,
        "deviceId": device_name,
        "tid": device.identifier[:2].upper(),
    }
    host, port, tls = _public_mqtt(request)
    mqtt_config: dict[str, Any] = {
        "_type": "configuration",
        "mode": 0,
        "host": host,
        "port": port,
        "tls": tls,
        "auth": True,
        "username": user,
        "deviceId": device_name,
        "tid": device.identifier[:2].upper(),
    }
    if password:
        http_config["password"] = password
        mqtt_config["password"] = password

    def inline(config: dict[str, Any]) -> str:
        raw = json.dumps(config, ensure_ascii=False, separators=(",", ":")).encode()
        return "owntracks:///config?inline=" + base64.b64encode(raw).decode()

    traccar_link = osmand_url + "?" + urlencode({"id": device.identifier, "accuracy": "high", "interval": 60})
    return {
        "device": device,
        "password": password,
        "owntracks_url": owntracks_url,
        "osmand_url": osmand_url,
        "mqtt_host": host,
        "mqtt_port": port,
        "mqtt_tls": tls,
        "mqtt_topic": f"owntracks/{user}/{device_name}",
        "owntracks_http_link": inline(http_config),
        "owntracks_http_qr": _qr(inline(http_config)),
        "owntracks_mqtt_link": inline(mqtt_config),
        "owntracks_mqtt_qr": _qr(inline(mqtt_config)),
        "traccar_link": traccar_link,
        "traccar_qr": _qr(traccar_link),
    }


def _no_store(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
def device_add(request: HttpRequest, pk: int) -> HttpResponse:
    enrolment = _managed(request, pk)
    form = DeviceForm(request.POST)
    if not form.is_valid():
        context = _enrolment_context(request, enrolment) | {"device_form": form, "open_form": "device"}
        return render(request, "protection/enrolment.html", context, status=400)
    device, password = actions.device_register(
        by=_user(request),
        enrolment=enrolment,
        name=form.cleaned_data["name"],
        coord_system=form.cleaned_data["coord_system"],
    )
    # Rendered, not redirected: the password exists only in this response.
    context = device_setup(request, device, password) | {"enrolment": enrolment, "just_created": True}
    return _no_store(render(request, "protection/device.html", context))


@login_required
def device(request: HttpRequest, pk: int) -> HttpResponse:
    found = queries.get_device(_user(request), pk)
    context = device_setup(request, found, None) | {"enrolment": found.enrolment}
    return render(request, "protection/device.html", context)


@login_required
@require_POST
def device_reset(request: HttpRequest, pk: int) -> HttpResponse:
    found = queries.get_device(_user(request), pk)
    password = actions.device_reset_password(by=_user(request), device=found)
    context = device_setup(request, found, password) | {"enrolment": found.enrolment, "just_reset": True}
    return _no_store(render(request, "protection/device.html", context))


# -- zones ----------------------------------------------------------------------------------


def _zone_features(enrolment: Enrolment) -> list[dict[str, Any]]:
    from wangge.protection.zones import circle_polygon

    features = []
    for zone in enrolment.zones.filter(active=True):
        geometry: Any
        if zone.kind == "circle" and zone.center_lat is not None and zone.center_lon is not None:
            geometry = circle_polygon(zone.center_lat, zone.center_lon, zone.radius_m or 0)
        else:
            geometry = zone.geojson
        if geometry:
            features.append({"type": "Feature", "geometry": geometry, "properties": {"name": zone.name, "id": zone.pk}})
    return features


@login_required
def zones(request: HttpRequest, pk: int) -> HttpResponse:
    enrolment = _managed(request, pk)
    form = ZoneForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        actions.zone_create(
            by=_user(request),
            enrolment=enrolment,
            name=data["name"],
            active_from=data["active_from"],
            active_until=data["active_until"],
            **data["shape"],
        )
        messages.success(request, _("已保存安全区域"))
        return redirect("protection:zones", pk=enrolment.pk)
    building = enrolment.resident.household.building if enrolment.resident.household else None
    home = [building.lat, building.lon] if building and building.lat is not None else None
    context = {
        "enrolment": enrolment,
        "form": form,
        "zones": enrolment.zones.all(),
        "features": {"type": "FeatureCollection", "features": _zone_features(enrolment)},
        "home": home,
    }
    return render(request, "protection/zones.html", context, status=400 if request.method == "POST" else 200)


@login_required
@require_POST
def zone_delete(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    zone = queries.get_zone(user, pk)
    enrolment_pk = zone.enrolment_id
    actions.zone_delete(by=user, zone=zone)
    messages.success(request, _("已删除安全区域"))
    return redirect("protection:zones", pk=enrolment_pk)


# -- incidents ------------------------------------------------------------------------------


@login_required
@require_POST
def report(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    enrolment = queries.get_enrolment(user, pk)
    if not queries.can_manage(user, enrolment):
        raise Http404
    form = ReportForm(request.POST)
    form.is_valid()
    try:
        incident = incidents.incident_report(
            by=user, enrolment=enrolment, description=form.cleaned_data.get("description", "")
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("protection:enrolment", pk=enrolment.pk)
    messages.success(request, _("已报告走失，附近网格员和志愿者已收到通知"))
    return redirect("protection:incident", pk=incident.pk)


def _searcher_candidates(incident: Incident) -> Any:
    """Staff assigned on the path from the person's grid up to the district, the people already
    notified, and the guardians; not those already searching."""
    ids = [i for i in (incident.grid_id, incident.community_id, incident.street_id, incident.district_id) if i]
    guardians = incident.enrolment.resident.guardianships.values("guardian_id")
    return (
        User.objects.filter(is_active=True)
        .exclude(role=Role.AUDITOR)
        .filter(
            Q(role__in=list(queries.AREA_ROLES), assignments__area_id__in=ids)
            | Q(protection_responses__incident=incident)
            | Q(pk__in=guardians)
        )
        .exclude(pk__in=incident.searchers.values("pk"))
        .distinct()
        .order_by("full_name", "username")
    )


def _live_context(request: HttpRequest, incident: Incident) -> dict[str, Any]:
    """What the live part of the page shows. The last known location, the trail and the
    sightings' places are shown only to those entitled to the person's locations (guardians,
    searchers and notified responders while the search is open, district administrators), and
    each such read is written to the audit log with the purpose "incident"."""
    user = _user(request)
    enrolment = incident.enrolment
    now = timezone.now()
    sees_locations = queries.may_read_locations(user, enrolment)
    last = None
    trail: list[dict[str, Any]] = []
    sightings: list[dict[str, Any]] = []
    if sees_locations:
        open_ = incident.status == Incident.Status.OPEN
        since = (now if open_ else incident.opened_at) - dt.timedelta(hours=TRAIL_HOURS)
        rows = queries.locations_for(user, enrolment, purpose="incident", since=since, limit=2000)
        if not open_ and incident.closed_at:
            rows = [r for r in rows if r.recorded_at <= incident.closed_at]
        trail = [
            {"lat": r.lat, "lon": r.lon, "at": timezone.localtime(r.recorded_at).strftime("%H:%M"), "acc": r.accuracy}
            for r in reversed(rows)
        ]
        if incident.last_lat is not None and incident.last_lon is not None:
            last = {"lat": incident.last_lat, "lon": incident.last_lon}
        sightings = [
            {"lat": u.lat, "lon": u.lon, "text": u.text[:60]} for u in incident.updates.filter(lat__isnull=False)
        ]
    return {
        "incident": incident,
        "now": now,
        "elapsed": incidents.duration_label(incidents.elapsed(incident, now=now)),
        "time_to_found": incidents.duration_label(incidents.time_to_found(incident)),
        "sees_locations": sees_locations,
        "last": last,
        "map_data": {"trail": trail, "last": last, "sightings": sightings},
        "updates": incident.updates.select_related("by")[:50],
        "responders": incident.responders.select_related("user", "grid"),
        "searchers": incident.searchers.all(),
        "poll_seconds": LIVE_POLL_SECONDS,
    }


def _incident_context(request: HttpRequest, incident: Incident) -> dict[str, Any]:
    user = _user(request)
    enrolment = incident.enrolment
    coordinate = queries.can_coordinate(user, incident)
    profile, _created = Profile.objects.get_or_create(enrolment=enrolment)
    context = _live_context(request, incident)
    context.update(
        enrolment=enrolment,
        resident=enrolment.resident,
        profile=profile,
        medical=queries.sees_medical_notes(user, enrolment),
        coordinate=coordinate,
        update_form=UpdateForm(),
        close_form=CloseForm(),
        assign_form=AssignForm(candidates=_searcher_candidates(incident)) if coordinate else None,
        guardians=enrolment.resident.guardianships.select_related("guardian"),
        notifications=incident.notifications.values("channel", "status").order_by(),
    )
    return context


@login_required
def incident(request: HttpRequest, pk: int) -> HttpResponse:
    found = queries.get_incident(_user(request), pk)
    return render(request, "protection/incident.html", _incident_context(request, found))


@login_required
def incident_live(request: HttpRequest, pk: int) -> HttpResponse:
    """The part of the incident page that refreshes itself every ``LIVE_POLL_SECONDS``."""
    found = queries.get_incident(_user(request), pk)
    response = render(request, "protection/_incident_live.html", _live_context(request, found))
    return _no_store(response)


@login_required
@require_POST
def incident_update(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    found = queries.get_incident(user, pk)
    form = UpdateForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            incidents.incident_log_update(
                by=user,
                incident=found,
                text=data["text"],
                kind=data["kind"],
                lat=data["lat"],
                lon=data["lon"],
                seen_at=data["seen_at"],
            )
        except ValidationError as exc:
            _errors(form, exc)
        else:
            messages.success(request, _("已记录"))
            return redirect("protection:incident", pk=found.pk)
    context = _incident_context(request, found) | {"update_form": form, "open_form": "update"}
    return render(request, "protection/incident.html", context, status=400)


@login_required
@require_POST
def incident_assign(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    found = queries.get_incident(user, pk)
    if not queries.can_coordinate(user, found):
        raise Http404
    form = AssignForm(request.POST, candidates=_searcher_candidates(found))
    if form.is_valid():
        try:
            incidents.incident_assign_searcher(by=user, incident=found, searcher=form.cleaned_data["searcher"])
        except ValidationError as exc:
            _errors(form, exc)
        else:
            messages.success(request, _("已指派搜寻人员并发出通知"))
            return redirect("protection:incident", pk=found.pk)
    context = _incident_context(request, found) | {"assign_form": form, "open_form": "assign"}
    return render(request, "protection/incident.html", context, status=400)


@login_required
@require_POST
def incident_close(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    found = queries.get_incident(user, pk)
    if not queries.can_coordinate(user, found):
        raise Http404
    form = CloseForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            incidents.incident_close(
                by=user,
                incident=found,
                outcome=data["outcome"],
                found_where=data["found_where"],
                found_at=data["found_at"],
                condition=data["condition"],
            )
        except ValidationError as exc:
            _errors(form, exc)
        else:
            messages.success(request, _("走失事件已结束"))
            return redirect("protection:incident", pk=found.pk)
    context = _incident_context(request, found) | {"close_form": form, "open_form": "close"}
    return render(request, "protection/incident.html", context, status=400)
