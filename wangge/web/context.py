"""Template context shared by every page: the navigation for the user's role."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _

from wangge.accounts import policy
from wangge.groups.queries import registers_visible_to
from wangge.protection.queries import urgent_for


@dataclass(frozen=True)
class NavItem:
    label: Any
    url: str
    active: bool = False
    badge: int = 0  # open alerts and searches on the protection tab


def url_or_none(name: str) -> str | None:
    """A URL that another app may not have registered yet (search, import) is simply left out."""
    try:
        return reverse(name)
    except NoReverseMatch:
        return None


def _everyone(user: Any) -> bool:
    return True


def _sees_a_register(user: Any) -> bool:
    """Special groups only for a role that some register's policy lets see its people."""
    return bool(registers_visible_to(user))


# (url name, label, the policy's predicate for who sees it)
NAV: list[tuple[str, Any, Callable[[Any], bool]]] = [
    ("home", _("首页"), _everyone),
    # the grid worker's daily tool first, so it stays in the row on a phone
    ("worklist:today", _("走访"), policy.can_see_worklist),
    ("registry:tree", _("区域"), policy.can_browse_areas),
    ("registry:map", _("地图"), policy.can_see_map),
    ("protection:index", _("防走失"), policy.can_see_protection),
    ("cases:list", _("信访事件"), policy.can_view_cases),
    ("registry:rentals", _("出租房屋"), policy.can_see_registry_lists),
    ("groups:due", _("特殊人群"), _sees_a_register),
    ("places:places", _("重点场所"), policy.can_see_registry_lists),
    ("places:units", _("实有单位"), policy.can_see_registry_lists),
    ("registry:import", _("导入"), policy.can_import),
    ("audit_log", _("审计日志"), policy.can_read_audit_log),
]


def search_url() -> str:
    return url_or_none("registry:search") or "/search/"


def nav_items(user: Any, path: str) -> list[NavItem]:
    items: list[NavItem] = []
    for name, label, allowed in NAV:
        if not allowed(user):
            continue
        url = url_or_none(name)
        if url is None:
            continue
        active = path == url if url == "/" else path.startswith(url)
        badge = urgent_for(user).count if name == "protection:index" else 0
        items.append(NavItem(label=label, url=url, active=active, badge=badge))
    return items


def navigation(request: HttpRequest) -> dict[str, Any]:
    context: dict[str, Any] = {
        "MAP_TILE_URL": settings.MAP_TILE_URL,
        "MAP_TILE_ATTRIBUTION": settings.MAP_TILE_ATTRIBUTION,
    }
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        context["nav_items"] = nav_items(user, request.path)
        context["nav_search_url"] = search_url() if policy.can_search(user) else None
    return context
