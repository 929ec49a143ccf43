"""Names and links of areas, buildings, households and residents in the audit log, for a
reader who may see them (see ``wangge.core.audit_objects``)."""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from django.utils.translation import gettext_lazy

from wangge.areas.queries import areas_visible_to, buildings_visible_to
from wangge.core.audit_objects import int_ids, name_type, register
from wangge.registry.queries import households_visible_to, residents_visible_to


def _residents(reader: Any, ids: list[str]) -> dict[str, tuple[str, str]]:
    rows = residents_visible_to(reader).filter(pk__in=int_ids(ids)).values_list("pk", "name")
    return {str(pk): (name, reverse("registry:resident", args=[pk])) for pk, name in rows}


def _households(reader: Any, ids: list[str]) -> dict[str, tuple[str, str]]:
    rows = households_visible_to(reader).filter(pk__in=int_ids(ids)).select_related("building")
    return {str(h.pk): (str(h), reverse("registry:household", args=[h.pk])) for h in rows}


def _areas(reader: Any, ids: list[str]) -> dict[str, tuple[str, str]]:
    rows = areas_visible_to(reader).filter(pk__in=int_ids(ids)).values_list("pk", "name")
    return {str(pk): (name, reverse("registry:area", args=[pk])) for pk, name in rows}


def _buildings(reader: Any, ids: list[str]) -> dict[str, tuple[str, str]]:
    rows = buildings_visible_to(reader).filter(pk__in=int_ids(ids)).values_list("pk", "address", "name")
    return {str(pk): (address or name, reverse("registry:building", args=[pk])) for pk, address, name in rows}


def connect() -> None:
    register("registry.resident", _residents)
    register("registry.household", _households)
    register("areas.area", _areas)
    register("areas.building", _buildings)
    name_type("registry.search", gettext_lazy("居民搜索"))
    name_type("areas.division", gettext_lazy("网格划分"))
