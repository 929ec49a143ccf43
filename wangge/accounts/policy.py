"""Who may do what: every authorization decision by role, as one named predicate each.

Pages, the API, navigation, the admin and commands ask these predicates; nothing compares roles
inline. *Where* a user may act (their areas) is the scoped queries' job: an object out of scope
is a 404 before any predicate is asked, so the predicates decide by role and account state only.
"""

from __future__ import annotations

from typing import Any

from wangge.accounts.models import Role

# Roles that see ID numbers, phones and care categories in full on a detail page. Lists and
# exports are masked for everyone; an auditor reads the log, not the registry.
FULL_DETAIL_ROLES = frozenset(
    {Role.DISTRICT_ADMIN, Role.STREET_STAFF, Role.COMMUNITY_STAFF, Role.GRID_WORKER, Role.PETITION_OFFICE}
)
# Roles that read the registry (a guardian only their wards).
REGISTRY_ROLES = FULL_DETAIL_ROLES | {Role.DEPARTMENT, Role.GUARDIAN}
# Roles that record life events, households and care tags in the registry.
REGISTRY_WRITE_ROLES = frozenset({Role.DISTRICT_ADMIN, Role.STREET_STAFF, Role.COMMUNITY_STAFF, Role.GRID_WORKER})
IMPORT_ROLES = frozenset({Role.DISTRICT_ADMIN, Role.STREET_STAFF, Role.COMMUNITY_STAFF})
EXPORT_ROLES = frozenset({Role.DISTRICT_ADMIN, Role.STREET_STAFF, Role.COMMUNITY_STAFF, Role.GRID_WORKER})
# Roles that work through the area tree (its pages, the map, search); guardians and auditors do not.
AREA_ROLES = frozenset(
    {
        Role.DISTRICT_ADMIN,
        Role.STREET_STAFF,
        Role.COMMUNITY_STAFF,
        Role.GRID_WORKER,
        Role.PETITION_OFFICE,
        Role.DEPARTMENT,
    }
)
SEARCH_ROLES = AREA_ROLES
# The navigation offers the map to the roles that edit the registry from it.
MAP_MENU_ROLES = REGISTRY_WRITE_ROLES
# A grid division is previewed by staff down to a community and applied by a street or above.
DIVISION_PREVIEW_ROLES = frozenset({Role.DISTRICT_ADMIN, Role.STREET_STAFF, Role.COMMUNITY_STAFF})
DIVISION_APPLY_ROLES = frozenset({Role.DISTRICT_ADMIN, Role.STREET_STAFF})
AUDIT_ROLES = frozenset({Role.AUDITOR, Role.DISTRICT_ADMIN})
# The navigation's entry to missing-person protection.
PROTECTION_MENU_ROLES = frozenset(
    {Role.DISTRICT_ADMIN, Role.STREET_STAFF, Role.COMMUNITY_STAFF, Role.GRID_WORKER, Role.GUARDIAN}
)


def is_active(user: Any) -> bool:
    """A signed-in user whose account is not switched off; False for anonymous users."""
    return bool(getattr(user, "is_authenticated", False) and user.is_active)


def _role_in(user: Any, roles: frozenset[str]) -> bool:
    return is_active(user) and getattr(user, "role", None) in roles


def _role_is(user: Any, role: str) -> bool:
    return is_active(user) and getattr(user, "role", None) == role


# Accounts and the admin


def can_use_admin(user: Any) -> bool:
    """The Django admin is for district administrators with staff status only."""
    return _role_is(user, Role.DISTRICT_ADMIN) and bool(user.is_staff)


def can_read_audit_log(user: Any) -> bool:
    return _role_in(user, AUDIT_ROLES)


def is_grid_worker(user: Any) -> bool:
    """The account can be put in charge of a grid (its role, whatever its state)."""
    return getattr(user, "role", None) == Role.GRID_WORKER


# Areas and grid division


def can_browse_areas(user: Any) -> bool:
    """The area tree, area and building pages, the map and the areas API."""
    return _role_in(user, AREA_ROLES)


def can_see_map(user: Any) -> bool:
    """The navigation offers the map (others with area access can still open it)."""
    return _role_in(user, MAP_MENU_ROLES)


def can_preview_division(user: Any) -> bool:
    return _role_in(user, DIVISION_PREVIEW_ROLES)


def can_apply_division(user: Any) -> bool:
    """Apply a division and staff the grids it made."""
    return _role_in(user, DIVISION_APPLY_ROLES)


def can_set_grid_target(user: Any) -> bool:
    """A district's target households per grid."""
    return _role_is(user, Role.DISTRICT_ADMIN)


# Registry


def can_view_registry(user: Any) -> bool:
    return _role_in(user, REGISTRY_ROLES)


def sees_only_wards(user: Any) -> bool:
    """A guardian reads only the residents in their care, whatever their areas."""
    return _role_is(user, Role.GUARDIAN)


def can_edit_registry(user: Any) -> bool:
    return _role_in(user, REGISTRY_WRITE_ROLES)


def sees_full_detail(user: Any) -> bool:
    """ID numbers, phones and care categories unmasked on a detail page (and audited)."""
    return _role_in(user, FULL_DETAIL_ROLES)


def can_edit_care(user: Any) -> bool:
    """Care categories are sensitive: only editors who see them in full may change them."""
    return can_edit_registry(user) and sees_full_detail(user)


def can_search(user: Any) -> bool:
    return _role_in(user, SEARCH_ROLES)


def can_import(user: Any) -> bool:
    return _role_in(user, IMPORT_ROLES)


def can_export(user: Any) -> bool:
    return _role_in(user, EXPORT_ROLES)


# Missing-person protection


def can_see_protection(user: Any) -> bool:
    """The navigation offers missing-person protection."""
    return _role_in(user, PROTECTION_MENU_ROLES)
