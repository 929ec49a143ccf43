"""Reporting someone missing and the live search page: the last known location and trail for
those entitled to it, progress notes and sightings, searchers, closing."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from wangge.areas.places import surroundings
from wangge.core import confirm
from wangge.protection import incidents, positions, queries
from wangge.protection.forms import AssignForm, CloseForm, ReportForm, UpdateForm
from wangge.protection.incidents import labels, responders
from wangge.protection.models import Alert, Enrolment, Incident
from wangge.protection.views.common import acting_user, add_errors, managed_enrolment, no_store

# How far back the live incident page draws the trail.
TRAIL_HOURS = 6
LIVE_POLL_SECONDS = 10
# Sightings described in words (a nearest-building search each, on every refresh); older ones
# show their coordinates.
DESCRIBED_SIGHTINGS = 10
# The purpose the live page's location reads are audited with.
PURPOSE = "incident"


@login_required
@require_POST
def report(request: HttpRequest, pk: int) -> HttpResponse:
    user = acting_user(request)
    enrolment = managed_enrolment(request, pk)
    form = ReportForm(request.POST)
    form.is_valid()
    if not confirm.confirmed(request):
        return confirm_report(request, enrolment)
    try:
        incident = incidents.incident_report(
            by=user, enrolment=enrolment, description=form.cleaned_data.get("description", "")
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("protection:enrolment", pk=enrolment.pk)
    messages.success(request, _("已报告走失，附近网格员和志愿者已收到通知"))
    return redirect("protection:incident", pk=incident.pk)


def confirm_report(request: HttpRequest, enrolment: Enrolment, alert: Alert | None = None) -> HttpResponse:
    """Reporting someone missing (or escalating an alert) notifies people: say whom first."""
    user = acting_user(request)
    name = enrolment.resident.name
    open_incident = enrolment.incidents.filter(status=Incident.Status.OPEN).first()
    if open_incident is not None:
        lines = [_("%(name)s 已在搜寻中：不会重复通知，只在搜寻记录中补充说明") % {"name": name}]
    else:
        count = len(responders.would_notify(enrolment, alert=alert, by=user))
        lines = [
            _("开始搜寻 %(name)s，记录最后已知位置") % {"name": name},
            ngettext(
                "立即通知 %(n)d 人（附近网格员、志愿者和监护人）",
                "立即通知 %(n)d 人（附近网格员、志愿者和监护人）",
                count,
            )
            % {"n": count},
        ]
    if alert is not None:
        lines.append(_("该告警标记为已升级"))
    return confirm.ask(
        request,
        title=(_("确认将 %(name)s 的告警升级为走失事件？") if alert else _("确认报告 %(name)s 走失？"))
        % {"name": name},
        consequences=lines,
        button=_("确认升级并通知") if alert else _("确认报告走失"),
        cancel_url=reverse("protection:alerts") if alert else reverse("protection:index"),
    )


def _live_context(request: HttpRequest, incident: Incident) -> dict[str, Any]:
    """What the live part of the page shows. The last known location, the trail and the
    sightings' places are shown only to those entitled to the person's locations (guardians,
    searchers and notified responders while the search is open, district administrators), and
    each such read is written to the audit log with the purpose "incident"."""
    user = acting_user(request)
    enrolment = incident.enrolment
    now = timezone.now()
    sees_locations = queries.may_read_locations(user, enrolment, purpose=PURPOSE)
    last = None
    last_position = None
    trail: list[dict[str, Any]] = []
    sightings: list[dict[str, Any]] = []
    updates = list(incident.updates.select_related("by")[:50])
    home = positions.home_of(enrolment)
    if sees_locations:
        open_ = incident.status == Incident.Status.OPEN
        since = (now if open_ else incident.opened_at) - dt.timedelta(hours=TRAIL_HOURS)
        rows = queries.locations_for(user, enrolment, purpose=PURPOSE, since=since, limit=2000)
        if not open_ and incident.closed_at:
            rows = [r for r in rows if r.recorded_at <= incident.closed_at]
        trail = [
            {"lat": r.lat, "lon": r.lon, "at": timezone.localtime(r.recorded_at).strftime("%H:%M"), "acc": r.accuracy}
            for r in reversed(rows)
        ]
        if incident.last_lat is not None and incident.last_lon is not None:
            last = {"lat": incident.last_lat, "lon": incident.last_lon}
            name = enrolment.resident.name
            last_position = positions.describe(
                incident.last_lat, incident.last_lon, home=home, label=_("%(name)s 最后位置") % {"name": name}
            )
        located = [u for u in updates if u.lat is not None and u.lon is not None]
        for update in located[:DESCRIBED_SIGHTINGS]:
            update.position = positions.describe(  # type: ignore[attr-defined]
                update.lat or 0.0, update.lon or 0.0, home=home, label=_("目击线索")
            )
        sightings = [
            {"lat": u.lat, "lon": u.lon, "text": u.text[:60]} for u in incident.updates.filter(lat__isnull=False)
        ]
    return {
        "incident": incident,
        "now": now,
        "elapsed": labels.duration_label(labels.elapsed(incident, now=now)),
        "time_to_found": labels.duration_label(labels.time_to_found(incident)),
        "sees_locations": sees_locations,
        "last": last,
        "last_position": last_position,
        "map_data": {"trail": trail, "last": last, "sightings": sightings},
        "updates": updates,
        "responders": incident.responders.select_related("user", "grid"),
        "searchers": incident.searchers.all(),
        "poll_seconds": LIVE_POLL_SECONDS,
    }


def _incident_context(request: HttpRequest, incident: Incident) -> dict[str, Any]:
    user = acting_user(request)
    enrolment = incident.enrolment
    coordinate = queries.can_coordinate(user, incident)
    context = _live_context(request, incident)
    read = queries.profile_for(user, incident, purpose=PURPOSE)
    # The streets, communities and buildings around the last position (else home), drawn once
    # under the live layers so the map means something without base-map tiles.
    centre = (incident.last_lat, incident.last_lon) if context["last"] else positions.home_of(enrolment)
    if context["sees_locations"] and centre and centre[0] is not None and centre[1] is not None:
        context["surroundings"] = surroundings(lat=centre[0], lon=centre[1], radius_m=1200)
    context.update(
        enrolment=enrolment,
        resident=enrolment.resident,
        profile=read.profile,
        medical=read.medical,
        coordinate=coordinate,
        update_form=UpdateForm(),
        close_form=CloseForm(),
        assign_form=(
            AssignForm(candidates=queries.searcher_candidates(incident), choices=queries.searcher_choices(incident))
            if coordinate
            else None
        ),
        guardians=enrolment.resident.guardianships.select_related("guardian"),
        deliveries=queries.incident_deliveries(incident),
    )
    return context


@login_required
def incident(request: HttpRequest, pk: int) -> HttpResponse:
    found = queries.get_incident(acting_user(request), pk)
    return render(request, "protection/incident.html", _incident_context(request, found))


@login_required
def incident_live(request: HttpRequest, pk: int) -> HttpResponse:
    """The part of the incident page that refreshes itself every ``LIVE_POLL_SECONDS``."""
    found = queries.get_incident(acting_user(request), pk)
    response = render(request, "protection/_incident_live.html", _live_context(request, found))
    return no_store(response)


@login_required
@require_POST
def incident_update(request: HttpRequest, pk: int) -> HttpResponse:
    user = acting_user(request)
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
            add_errors(form, exc)
        else:
            messages.success(request, _("已记录"))
            return redirect("protection:incident", pk=found.pk)
    context = _incident_context(request, found) | {"update_form": form, "open_form": "update"}
    return render(request, "protection/incident.html", context, status=400)


@login_required
@require_POST
def incident_assign(request: HttpRequest, pk: int) -> HttpResponse:
    user = acting_user(request)
    found = queries.get_incident(user, pk)
    if not queries.can_coordinate(user, found):
        raise Http404
    form = AssignForm(
        request.POST, candidates=queries.searcher_candidates(found), choices=queries.searcher_choices(found)
    )
    if form.is_valid():
        try:
            incidents.incident_assign_searcher(by=user, incident=found, searcher=form.cleaned_data["searcher"])
        except ValidationError as exc:
            add_errors(form, exc)
        else:
            messages.success(request, _("已指派搜寻人员并发出通知"))
            return redirect("protection:incident", pk=found.pk)
    context = _incident_context(request, found) | {"assign_form": form, "open_form": "assign"}
    return render(request, "protection/incident.html", context, status=400)


@login_required
@require_POST
def incident_close(request: HttpRequest, pk: int) -> HttpResponse:
    user = acting_user(request)
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
            add_errors(form, exc)
        else:
            messages.success(request, _("走失事件已结束"))
            return redirect("protection:incident", pk=found.pk)
    context = _incident_context(request, found) | {"close_form": form, "open_form": "close"}
    return render(request, "protection/incident.html", context, status=400)
