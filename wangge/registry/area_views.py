"""Area pages: the tree, one page per area (street, community, grid), buildings and the map.

They are the registry seen through the area tree (households and residents counted per area), so
they live here, above ``areas``. Everything is read through ``wangge.areas.queries`` and
``wangge.registry.queries``; an area or building outside the user's part of the tree is a 404.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from wangge.accounts import policy
from wangge.accounts.models import Role, User
from wangge.areas.models import Area
from wangge.areas.queries import areas_within, buildings_visible_to, get_area, get_building
from wangge.registry import population, summary
from wangge.registry.actions import household_create
from wangge.registry.models import Resident
from wangge.registry.queries import households_visible_to


@login_required
def tree(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    if not policy.can_browse_areas(user):
        raise Http404
    return render(request, "areas/tree.html", {"roots": summary.tree(user)})


@login_required
def area(request: HttpRequest, pk: int) -> HttpResponse:
    user: Any = request.user
    node = get_area(user, pk)
    context: dict[str, Any] = {
        "area": node,
        "crumbs": summary.ancestors(user, node),
        "totals": summary.area_totals(user, node),
        "headcounts": population.headcounts(user, node),
        "can_divide": policy.can_preview_division(user),
    }
    if node.level == Area.Level.GRID:
        context["buildings"] = summary.buildings_with_counts(user, grid=node)
        context["workers"] = User.objects.filter(
            assignments__area=node, role=Role.GRID_WORKER, is_active=True
        ).order_by("full_name", "username")
        context["organisations"] = node.organisations.annotate(members=Count("memberships")).order_by("kind", "name")
    else:
        context["children"] = summary.children_of(user, node)
        if node.level == Area.Level.COMMUNITY:
            # Buildings imported without a grid still need a home on this page.
            context["unassigned"] = summary.buildings_with_counts(user, community=node)
            context["unassigned"] = [b for b in context["unassigned"] if b.grid_id is None]
            context["organisations"] = node.organisations.annotate(members=Count("memberships"))
    return render(request, "areas/area.html", context)


@login_required
def building(request: HttpRequest, pk: int) -> HttpResponse:
    user: Any = request.user
    node = get_building(user, pk)
    households = list(
        households_visible_to(user)
        .filter(building=node)
        .select_related("head")
        .annotate(living=Count("members", filter=Q(members__status=Resident.Status.LIVING)))
    )
    # Entrances in natural order (2 before 10); households without one after them all.
    households.sort(key=lambda h: (not h.entrance, summary.natural_key(h.entrance), summary.natural_key(h.room)))
    grid = node.grid
    context = {
        "building": node,
        "crumbs": [*summary.ancestors(user, grid), grid] if grid else [],
        "entrances": summary.group_by(households, "entrance"),
        "household_count": len(households),
        "can_edit": policy.can_edit_registry(user),
    }
    return render(request, "areas/building.html", context)


@login_required
@require_POST
def household_add(request: HttpRequest, pk: int) -> HttpResponse:
    user: Any = request.user
    node = get_building(user, pk)
    if not policy.can_edit_registry(user):
        raise Http404
    try:
        household = household_create(
            by=user,
            building=node,
            entrance=request.POST.get("entrance", "").strip()[:10],
            room=request.POST.get("room", "").strip()[:20],
        )
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
        return redirect("registry:building", pk=node.pk)
    messages.success(request, _("已新建住户 %(a)s") % {"a": household.address})
    return redirect("registry:household", pk=household.pk)


@login_required
def map_page(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    if not policy.can_browse_areas(user):
        raise Http404
    return render(
        request,
        "areas/map.html",
        {"tile_url": settings.MAP_TILE_URL, "tile_attribution": settings.MAP_TILE_ATTRIBUTION},
    )


@login_required
def geojson(request: HttpRequest) -> JsonResponse:
    """Streets, communities and grids (polygons) and buildings (points) of the user's scope, as
    one FeatureCollection: without base-map tiles the outlines and names are the map."""
    user: Any = request.user
    features: list[dict[str, Any]] = []
    household_counts = {
        row["grid"]: row["n"] for row in households_visible_to(user).values("grid").annotate(n=Count("id")).order_by()
    }
    grids = areas_within(user).filter(level=Area.Level.GRID).exclude(boundary=None)
    communities = areas_within(user).filter(level=Area.Level.COMMUNITY).exclude(boundary=None)
    streets = areas_within(user).filter(level=Area.Level.STREET).exclude(boundary=None)
    levels = ((Area.Level.STREET, streets), (Area.Level.COMMUNITY, communities), (Area.Level.GRID, grids))
    for level, queryset in levels:
        for node in queryset.only("id", "name", "boundary", "level"):
            features.append(
                {
                    "type": "Feature",
                    "geometry": node.boundary,
                    "properties": {
                        "kind": level,
                        "id": node.pk,
                        "name": node.name,
                        "url": reverse("registry:area", args=[node.pk]),
                        "households": household_counts.get(node.pk, 0) if level == Area.Level.GRID else None,
                    },
                }
            )
    building_counts = {
        row["building"]: row["n"]
        for row in households_visible_to(user).values("building").annotate(n=Count("id")).order_by()
    }
    for b in buildings_visible_to(user).exclude(lon=None).exclude(lat=None).only("id", "name", "lon", "lat"):
        features.append(
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [b.lon, b.lat]},
                "properties": {
                    "kind": "building",
                    "id": b.pk,
                    "name": b.name,
                    "url": reverse("registry:building", args=[b.pk]),
                    "households": building_counts.get(b.pk, 0),
                },
            }
        )
    return JsonResponse({"type": "FeatureCollection", "features": features})
