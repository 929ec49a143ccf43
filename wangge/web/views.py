"""The home page: what each role needs first when they open Wangge on their phone."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from wangge.accounts import policy
from wangge.accounts.models import Role
from wangge.areas.models import Area
from wangge.areas.queries import areas_within
from wangge.core.models import AuditEntry
from wangge.protection.queries import urgent_for
from wangge.registry import summary
from wangge.registry.models import Resident
from wangge.registry.queries import residents_visible_to


@login_required
def home(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    role = user.role
    context: dict[str, Any] = {"role": role}
    if policy.can_see_protection_alerts(user):
        # The first minutes of a search decide it: open alerts and searches come first.
        context["urgent"] = urgent_for(user)
    if role == Role.GRID_WORKER:
        grids = list(areas_within(user).filter(level=Area.Level.GRID).order_by("name"))
        context["grids"] = [
            {"summary": summary.area_totals(user, grid), "buildings": summary.buildings_with_counts(user, grid=grid)}
            for grid in grids
        ]
        template = "web/home_grid_worker.html"
    elif role == Role.COMMUNITY_STAFF:
        communities = list(areas_within(user).filter(level=Area.Level.COMMUNITY).order_by("name"))
        context["communities"] = [
            {"summary": summary.area_totals(user, c), "children": summary.children_of(user, c)} for c in communities
        ]
        template = "web/home_community.html"
    elif role == Role.GUARDIAN:
        context["wards"] = residents_visible_to(user).select_related("household__building", "community")
        template = "web/home_guardian.html"
    elif role == Role.AUDITOR:
        context["recent"] = AuditEntry.objects.order_by("-at", "-id")[:10]
        template = "web/home_auditor.html"
    else:
        # District, street, petition office and departments: the tree from their assignments.
        tops = _top_assignments(user)
        context["tops"] = [
            {"summary": summary.area_totals(user, a), "children": summary.children_of(user, a)} for a in tops
        ]
        context["can_search"] = True
        template = "web/home_overview.html"
    context["living"] = Resident.Status.LIVING
    return render(request, template, context)


def _top_assignments(user: Any) -> list[Area]:
    """Assigned areas not already inside another assigned area, coarsest first."""
    assigned = list(user.areas.all())
    ids = {a.pk for a in assigned}
    tops = [a for a in assigned if not ({a.district_id, a.street_id, a.community_id} & ids)]
    return sorted(tops, key=lambda a: (a.depth, a.code, a.name))
