"""The protection overview (a guardian's relatives, or a worker's enrolments, searches and
alerts), the alerts page and the user's own notifications."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from wangge.accounts import policy
from wangge.core import confirm
from wangge.protection import actions, incidents, positions, queries
from wangge.protection.models import Alert, Incident, Notification
from wangge.protection.views.common import acting_user
from wangge.protection.views.incidents import confirm_report


@login_required
def index(request: HttpRequest) -> HttpResponse:
    """A guardian's relatives, or the enrolments, open searches and alerts in a worker's areas."""
    user = acting_user(request)
    notifications = list(queries.notifications_for(user))
    for notification in notifications:
        notification.link = notification_link(notification)  # type: ignore[attr-defined]
    context: dict[str, Any] = {
        "notifications": notifications,
        "unread": {n.pk for n in notifications if n.read_at is None},
        "open_incidents": queries.incidents_visible_to(user)
        .filter(status=Incident.Status.OPEN)
        .select_related("enrolment__resident")
        .order_by("-opened_at"),
    }
    if policy.has_guardian_home(user):
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


def notification_link(notification: Notification) -> str:
    """Where a notification leads: its search's live page, or its alert on the alerts page."""
    if notification.incident_id:
        return reverse("protection:incident", args=[notification.incident_id])
    if notification.alert_id:
        return reverse("protection:alerts") + f"#alert-{notification.alert_id}"
    return str(notification.payload.get("url") or "")


@login_required
@require_POST
def notifications_read(request: HttpRequest) -> HttpResponse:
    actions.notifications_mark_read(by=acting_user(request))
    return redirect("protection:index")


@login_required
def alerts(request: HttpRequest) -> HttpResponse:
    user = acting_user(request)
    if not policy.can_see_protection_alerts(user):
        raise Http404
    rows = queries.open_alerts_visible_to(user).select_related("enrolment__resident", "grid").order_by("-raised_at")
    recent = (
        queries.alerts_visible_to(user)
        .filter(resolved_at__isnull=False)
        .select_related("enrolment__resident")
        .order_by("-resolved_at")[:20]
    )
    shown = list(rows.select_related("enrolment__resident__household__building")[:200])
    for alert in shown:
        if alert.lat is not None and alert.lon is not None and _alert_position_shown(user, alert):
            alert.position = positions.describe(  # type: ignore[attr-defined]
                alert.lat,
                alert.lon,
                home=positions.home_of(alert.enrolment),
                label=_("%(name)s 告警位置") % {"name": alert.enrolment.resident.name},
            )
    return render(request, "protection/alerts.html", {"alerts": shown, "recent": recent})


def _alert_position_shown(user: Any, alert: Alert) -> bool:
    """Where the alert happened, to those its notification told it to: the person's guardians
    and others entitled to their locations, or the grid's workers when the consent covers
    sharing with them."""
    if policy.can_read_locations(user, alert.enrolment, "alert"):
        return True
    consent = alert.enrolment.active_consent()
    return consent is not None and consent.covers_sharing_workers


@login_required
@require_POST
def alert_resolve(request: HttpRequest, pk: int) -> HttpResponse:
    user = acting_user(request)
    alert = queries.get_alert(user, pk)
    if not queries.can_manage(user, alert.enrolment):
        raise Http404
    incidents.alert_resolve(by=user, alert=alert, note=request.POST.get("note", ""))
    messages.success(request, _("已解除告警"))
    return redirect("protection:alerts")


@login_required
@require_POST
def alert_escalate(request: HttpRequest, pk: int) -> HttpResponse:
    user = acting_user(request)
    alert = queries.get_alert(user, pk)
    if not queries.can_manage(user, alert.enrolment):
        raise Http404
    if not confirm.confirmed(request):
        return confirm_report(request, alert.enrolment, alert=alert)
    try:
        incident = incidents.alert_escalate(by=user, alert=alert, description=request.POST.get("description", ""))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("protection:alerts")
    messages.success(request, _("已升级为走失事件，附近网格员和志愿者已收到通知"))
    return redirect("protection:incident", pk=incident.pk)
