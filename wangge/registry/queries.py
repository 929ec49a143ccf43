"""Every scoped read of personal data in the registry.

Views, the API, search and export call these with the acting user and nothing else filters
households or residents by hand. ``get_*`` raise ``Http404`` for objects out of scope, so a
page never confirms that someone exists outside the caller's areas.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Q, QuerySet
from django.http import Http404
from django.utils.translation import gettext as _

from wangge.accounts import policy
from wangge.areas.models import Area
from wangge.core import documents
from wangge.core.audit import Action, audit
from wangge.core.scope import NOTHING, area_filter, assigned_areas
from wangge.registry.models import DocumentType, Household, Resident, SearchKey


def _resident_filter(user: Any) -> Q:
    if not policy.can_view_registry(user):
        return NOTHING
    if policy.sees_only_wards(user):
        return Q(guardianships__guardian=user)
    return area_filter(user)


def residents_visible_to(user: Any) -> QuerySet[Resident]:
    return Resident.objects.filter(_resident_filter(user))


def households_visible_to(user: Any) -> QuerySet[Household]:
    if not policy.can_view_registry(user):
        return Household.objects.none()
    if policy.sees_only_wards(user):
        return Household.objects.filter(members__guardianships__guardian=user).distinct()
    return Household.objects.filter(area_filter(user))


def search_keys_visible_to(user: Any) -> QuerySet[SearchKey]:
    if not policy.can_view_registry(user):
        return SearchKey.objects.none()
    if policy.sees_only_wards(user):
        return SearchKey.objects.filter(resident__guardianships__guardian=user)
    return SearchKey.objects.filter(area_filter(user))


def sees_many_communities(user: Any) -> bool:
    """Whether the user's residents may live in more than one community (lists then name it)."""
    areas = assigned_areas(user)
    if areas.get("district") or areas.get("street"):
        return True
    if policy.sees_only_wards(user):
        return residents_visible_to(user).values("community_id").distinct().count() > 1
    communities = set(areas.get("community", ()))
    grids = areas.get("grid", ())
    if grids:
        communities |= set(Area.objects.filter(pk__in=grids).values_list("community_id", flat=True))
    return len(communities) > 1


def get_resident(user: Any, pk: Any) -> Resident:
    try:
        return (
            residents_visible_to(user)
            .select_related(
                "household__building", "grid", "community", "population_type", "document_type", "floating", "foreign"
            )
            .get(pk=pk)
        )
    except (Resident.DoesNotExist, ValueError, TypeError):
        raise Http404 from None


def resident_seen_in_full(user: Any, resident: Resident) -> bool:
    """Whether the user sees this (in-scope) resident unmasked; such a view is audited here.

    The page and the API call it inside the transaction that builds their answer, so nothing is
    shown when the audit entry cannot be written.
    """
    full = policy.sees_full_detail(user)
    if full:
        audit(
            actor=user,
            action=Action.VIEW,
            obj=resident,
            summary=_("查看 %(name)s 的完整信息") % {"name": resident.name},
        )
    return full


def get_household(user: Any, pk: Any) -> Household:
    try:
        return households_visible_to(user).select_related("building", "grid", "community", "dwelling__use").get(pk=pk)
    except (Household.DoesNotExist, ValueError, TypeError):
        raise Http404 from None


# Unscoped reads for the grid division, whose pages check the user's responsibility first.


def households_in_buildings(building_ids: list[int]) -> QuerySet[Household]:
    """Households of these buildings with their entrance, to cut a split building between grids."""
    return Household.objects.filter(building_id__in=building_ids).only("pk", "building_id", "entrance")


def household_counts(community_ids: list[int]) -> list[tuple[int, int | None, int]]:
    """(building, grid, households) for every building of these communities."""
    return list(
        Household.objects.filter(building__community_id__in=community_ids)
        .values("building_id", "grid_id")
        .annotate(n=Count("id"))
        .values_list("building_id", "grid_id", "n")
    )


def resident_by_document(user: Any, *, document_type: str, number: str) -> Resident | None:
    """The resident in the user's scope holding this number, read by the document type's rule
    (a 15-digit national ID as its 18-digit form); ``None`` when nobody in scope holds it or the
    number is not one of the type, which the registering action then reports."""
    fmt = DocumentType.objects.filter(code=document_type).values_list("format", flat=True).first()
    if fmt is None:
        return None
    try:
        parsed = documents.parse(fmt, number)
    except documents.InvalidDocument:
        return None
    return residents_visible_to(user).filter(id_number=parsed.number).first()
