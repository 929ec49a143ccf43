"""The safe zones of an enrolment: drawing, listing and deleting them."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from wangge.areas.places import surroundings
from wangge.core import confirm
from wangge.protection import actions, positions, queries
from wangge.protection.forms import ZoneForm
from wangge.protection.models import SafeZone
from wangge.protection.views.common import acting_user, managed_enrolment
from wangge.protection.zones import circle_polygon


def _zone_features(zones: QuerySet[SafeZone]) -> list[dict[str, Any]]:
    features = []
    for zone in zones.filter(active=True):
        geometry: Any
        if zone.kind == "circle" and zone.center_lat is not None and zone.center_lon is not None:
            geometry = circle_polygon(zone.center_lat, zone.center_lon, zone.radius_m or 0)
        else:
            geometry = zone.geojson
        if geometry:
            features.append({"type": "Feature", "geometry": geometry, "properties": {"name": zone.name, "id": zone.pk}})
    return features


# The circle a new safe zone starts as, around the home building: the block and its gates.
HOME_RADIUS_M = 300


@login_required
def zones(request: HttpRequest, pk: int) -> HttpResponse:
    """The safe zones and the editor, which starts as a circle of ``HOME_RADIUS_M`` around the
    home building, ready to save, over the streets, communities and buildings around it."""
    enrolment = managed_enrolment(request, pk)
    home = positions.home_of(enrolment)
    shown = queries.zones_for(acting_user(request), enrolment)
    initial: dict[str, Any] = {}
    if home is not None:
        initial = {"center_lat": round(home[0], 6), "center_lon": round(home[1], 6), "radius_m": HOME_RADIUS_M}
        if shown.filter(active=True).exists():
            initial["name"] = ""  # "家" exists already: the next one needs its own name
    form = ZoneForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        actions.zone_create(
            by=acting_user(request),
            enrolment=enrolment,
            name=data["name"],
            active_from=data["active_from"],
            active_until=data["active_until"],
            **data["shape"],
        )
        messages.success(request, _("已保存安全区域"))
        return redirect("protection:zones", pk=enrolment.pk)
    context = {
        "enrolment": enrolment,
        "form": form,
        "zones": shown,
        "features": {"type": "FeatureCollection", "features": _zone_features(shown)},
        "home": list(home) if home else None,
        "surroundings": surroundings(lat=home[0], lon=home[1]) if home else None,
    }
    return render(request, "protection/zones.html", context, status=400 if request.method == "POST" else 200)


@login_required
@require_POST
def zone_delete(request: HttpRequest, pk: int) -> HttpResponse:
    user = acting_user(request)
    zone = queries.get_zone(user, pk)
    enrolment_pk = zone.enrolment_id
    if not confirm.confirmed(request):
        return confirm.ask(
            request,
            title=_("确认删除安全区域“%(zone)s”？") % {"zone": zone.name},
            consequences=[
                _("离开这个区域不再产生告警，也不再通知监护人和网格员"),
                _("删除后无法恢复，需要时请重新绘制"),
            ],
            button=_("确认删除"),
            cancel_url=reverse("protection:zones", args=[enrolment_pk]),
        )
    actions.zone_delete(by=user, zone=zone)
    messages.success(request, _("已删除安全区域"))
    return redirect("protection:zones", pk=enrolment_pk)
