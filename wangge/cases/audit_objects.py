"""Names and links of cases in the audit log, for a reader who may see them (see
``wangge.core.audit_objects``); others read only the type and the number."""

from __future__ import annotations

from typing import Any

from django.urls import reverse

from wangge.cases import queries
from wangge.core.audit_objects import int_ids, register


def _cases(reader: Any, ids: list[str]) -> dict[str, tuple[str, str]]:
    rows = queries.cases_visible_to(reader).filter(pk__in=int_ids(ids)).select_related("category")
    return {
        str(case.pk): (f"{case.number} {case.category.name}", reverse("cases:detail", args=[case.pk])) for case in rows
    }


def connect() -> None:
    register("cases.case", _cases)
