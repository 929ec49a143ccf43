"""Template context shared by every page: the navigation for the user's role."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _

from wangge.accounts.models import IMPORT_ROLES, Role
from wangge.areas.views import MAP_ROLES
from wangge.core.views import AUDIT_ROLES


@dataclass(frozen=True)
class NavItem:
    label: Any
    url: str
    active: bool = False


def url_or_none(name: str) -> str | None:
    """A URL that another app may not have registered yet (search, import) is simply left out."""
    try:
        return reverse(name)
    except NoReverseMatch:
        return None


# (url name, label, roles that see it); "*" for everyone signed in.
NAV: list[tuple[str, Any, frozenset[str] | str]] = [
    ("home", _("首页"), "*"),
    (
        "areas:tree",
        _("区域"),
        frozenset(
            {
                Role.DISTRICT_ADMIN,
                Role.STREET_STAFF,
                Role.COMMUNITY_STAFF,
                Role.GRID_WORKER,
                Role.PETITION_OFFICE,
                Role.DEPARTMENT,
            }
        ),
    ),
    ("areas:map", _("地图"), MAP_ROLES),
    (
        "protection:index",
        _("防走失"),
        frozenset({Role.DISTRICT_ADMIN, Role.STREET_STAFF, Role.COMMUNITY_STAFF, Role.GRID_WORKER, Role.GUARDIAN}),
    ),
    ("registry:import", _("导入"), IMPORT_ROLES),
    ("core:audit", _("审计日志"), AUDIT_ROLES),
]

SEARCH_ROLES = frozenset(
    {
        Role.DISTRICT_ADMIN,
        Role.STREET_STAFF,
        Role.COMMUNITY_STAFF,
        Role.GRID_WORKER,
        Role.PETITION_OFFICE,
        Role.DEPARTMENT,
    }
)


def search_url() -> str:
    return url_or_none("registry:search") or "/search/"


def nav_items(user: Any, path: str) -> list[NavItem]:
    items: list[NavItem] = []
    for name, label, roles in NAV:
        if roles != "*" and user.role not in roles:
            continue
        url = url_or_none(name)
        if url is None:
            continue
        active = path == url if url == "/" else path.startswith(url)
        items.append(NavItem(label=label, url=url, active=active))
    return items


def navigation(request: HttpRequest) -> dict[str, Any]:
    context: dict[str, Any] = {
        "MAP_TILE_URL": settings.MAP_TILE_URL,
        "MAP_TILE_ATTRIBUTION": settings.MAP_TILE_ATTRIBUTION,
    }
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        context["nav_items"] = nav_items(user, request.path)
        context["nav_search_url"] = search_url() if user.role in SEARCH_ROLES else None
    return context
