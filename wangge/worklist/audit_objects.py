"""Names and links of visits and tasks in the audit log, for a reader who may see them."""

from __future__ import annotations

from typing import Any

from django.urls import reverse

from wangge.core.audit_objects import int_ids, register
from wangge.worklist import queries


def _visits(reader: Any, ids: list[str]) -> dict[str, tuple[str, str]]:
    rows = queries.visits_visible_to(reader).filter(pk__in=int_ids(ids)).select_related("household__building")
    return {str(v.pk): (f"{v.household.address} {v.visited_at:%Y-%m-%d}", reverse("worklist:today")) for v in rows}


def connect() -> None:
    register("worklist.visit", _visits)
