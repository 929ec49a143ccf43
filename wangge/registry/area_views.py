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
from django.views.decorators.gzip import gzip_page
from django.views.decorators.http import require_POST

from wangge.accounts import policy
from wangge.accounts.models import Role, User
from wangge.areas import mapview
from wangge.areas.models import Area
from wangge.areas.queries import areas_within, buildings_visible_to, get_area, get_building
from wangge.registry import population, rollups, summary
from wangge.registry.actions import household_create
from wangge.registry.models import Resident
from wangge.registry.queries import households_visible_to


@login_required
def tree(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    if not policy.can_browse_areas(user):
        raise Http404
    return render(request, "areas/tree.html", {"rows": summary.tree_rows(summary.tree(user))})


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
@gzip_page
def geojson(request: HttpRequest) -> JsonResponse:
    """Streets, communities and grids (outlines) and buildings (points or clusters) of the user's
    scope: without base-map tiles the outlines and names are the map.

    ``zoom`` (the map's zoom level) sets how far outlines are simplified; ``bbox``
    (``west,south,east,north``) limits buildings, and outlines, to the view. Without ``bbox`` the
    whole scope is sent at the zoom that fits it, with ``extent`` for the map to fit. Buildings are
    points when at most ``mapview.POINT_LIMIT`` are in view, else clusters. Gzipped: the district
    view is well under 300 KB.
    """
    user: Any = request.user
    box = mapview.Box.parse(request.GET.get("bbox"))
    zoom = mapview.parse_zoom(request.GET.get("zoom"))
    grids = areas_within(user).filter(level=Area.Level.GRID).exclude(boundary=None)
    communities = areas_within(user).filter(level=Area.Level.COMMUNITY).exclude(boundary=None)
    streets = areas_within(user).filter(level=Area.Level.STREET).exclude(boundary=None)
    levels = ((Area.Level.STREET, streets), (Area.Level.COMMUNITY, communities), (Area.Level.GRID, grids))
    # boundaries (megabytes of JSON for a district) are read only for outlines not yet cached
    rows = {level: list(queryset.values_list("id", "name", "updated_at")) for level, queryset in levels}
    keys = [(pk, edited) for level_rows in rows.values() for pk, _name, edited in level_rows]
    boundaries: dict[int, Any] = {}

    def read_boundaries(zoom: int | None) -> None:
        wanted = [pk for pk, edited in keys if pk not in boundaries and mapview.needs_boundary(pk, edited, zoom)]
        for start in range(0, len(wanted), 500):
            boundaries.update(Area.objects.filter(pk__in=wanted[start : start + 500]).values_list("id", "boundary"))

    if zoom is None:
        # the extent does not depend on the zoom: the repaired outlines' bounds give it
        read_boundaries(None)
        extent = mapview.scope_bounds(
            b for pk, edited in keys if (b := mapview.bounds(pk, edited, boundaries.get(pk))) is not None
        )
        zoom = mapview.zoom_to_fit(extent if box is None else (box.west, box.south, box.east, box.north))
    else:
        extent = None
    read_boundaries(zoom)
    view = box.grown(0.25) if box is not None else None
    features: list[dict[str, Any]] = []
    shown_grids: list[int] = []
    for level, level_rows in rows.items():
        for pk, name, edited in level_rows:
            drawn = mapview.outline(pk, edited, boundaries.get(pk), zoom)
            if drawn is None or (view is not None and not view.touches(drawn[0])):
                continue
            if level == Area.Level.GRID:
                shown_grids.append(pk)
            features.append(
                {
                    "type": "Feature",
                    "geometry": drawn[1],
                    "properties": {
                        "kind": level,
                        "id": pk,
                        "name": name,
                        "url": reverse("registry:area", args=[pk]),
                        "households": 0 if level == Area.Level.GRID else None,
                    },
                }
            )
    if shown_grids:
        household_counts = rollups.grid_households(user, shown_grids)
        if household_counts is None:
            household_counts = dict(
                households_visible_to(user)
                .filter(grid_id__in=shown_grids)
                .values("grid")
                .annotate(n=Count("id"))
                .order_by()
                .values_list("grid", "n")
            )
        for feature in features:
            if feature["properties"]["kind"] == Area.Level.GRID:
                feature["properties"]["households"] = household_counts.get(feature["properties"]["id"], 0)
    buildings = buildings_visible_to(user).exclude(lon=None).exclude(lat=None)
    if view is not None:
        buildings = buildings.filter(lon__range=(view.west, view.east), lat__range=(view.south, view.north))
    # the query excludes missing coordinates; the comprehension tells the type checker so
    points = [
        (pk, lon, lat)
        for pk, lon, lat in buildings.values_list("id", "lon", "lat")
        if lon is not None and lat is not None
    ]
    if len(points) > mapview.POINT_LIMIT:
        for group in mapview.cluster(points, zoom):
            features.append(
                {
                    "type": "Feature",
                    "geometry": {"type": "Point", "coordinates": [group.lon, group.lat]},
                    "properties": {
                        "kind": "cluster",
                        "buildings": group.buildings,
                        "bounds": [group.west, group.south, group.east, group.north],
                    },
                }
            )
    else:
        ids = [pk for pk, _lon, _lat in points]
        names = dict(buildings_visible_to(user).filter(id__in=ids).values_list("id", "name")) if ids else {}
        building_counts = (
            dict(
                households_visible_to(user)
                .filter(building_id__in=ids)
                .values("building")
                .annotate(n=Count("id"))
                .order_by()
                .values_list("building", "n")
            )
            if ids
            else {}
        )
        for pk, lon, lat in points:
            features.append(
                {
                    "type": "Feature",
                    "geometry": {"type": "Point", "coordinates": [round(lon, 6), round(lat, 6)]},
                    "properties": {
                        "kind": "building",
                        "id": pk,
                        "name": names.get(pk, ""),
                        "url": reverse("registry:building", args=[pk]),
                        "households": building_counts.get(pk, 0),
                    },
                }
            )
    data: dict[str, Any] = {"type": "FeatureCollection", "zoom": zoom, "features": features}
    if extent is not None:
        data["extent"] = list(extent)
    return JsonResponse(data)
