"""Access scope primitives: which area columns a user's assignments open.

Every table holding personal data carries ``grid``, ``community``, ``street`` and ``district``
columns; ``area_filter(user)`` turns the user's assigned area nodes into one ``Q`` over them.
The registry's ``queries.py`` builds every scoped read on it; nothing else filters by hand.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from django.db.models import Q

NOTHING = Q(pk__in=[])


def is_active_user(user: Any) -> bool:
    """True for a signed-in user whose account is not switched off; False for anonymous users."""
    return bool(getattr(user, "is_authenticated", False) and user.is_active)


def assigned_areas(user: Any) -> dict[str, list[int]]:
    """Area ids by level for an active, authenticated user; cached on the user object."""
    if not is_active_user(user):
        return {}
    cached = getattr(user, "_wangge_areas", None)
    if cached is None:
        cached = defaultdict(list)
        # Through the user's own assignments: core imports no app, it only knows that a user
        # is assigned area nodes that have a level.
        for area_id, level in user.assignments.values_list("area_id", "area__level"):
            cached[level].append(area_id)
        cached = dict(cached)
        user._wangge_areas = cached
    return cached


def area_filter(user: Any, *, prefix: str = "") -> Q:
    """``Q`` matching rows inside any area assigned to the user (empty when none)."""
    query = NOTHING
    for level, ids in assigned_areas(user).items():
        query |= Q(**{f"{prefix}{level}__in": ids})
    return query
