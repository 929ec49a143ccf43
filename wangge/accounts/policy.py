"""Who may do what: every authorization decision by role, as one named predicate each.

Pages, the API, navigation, the admin and commands ask these predicates; nothing compares roles
inline. *Where* a user may act (their areas) is the scoped queries' job: an object out of scope
is a 404 before any predicate is asked, so the predicates decide by role and account state only.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from wangge.accounts.models import Role
from wangge.core.scope import assigned_areas

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


def why_not_apply_division(user: Any) -> str | None:
    """Why ``user``, who may see a division's preview, may not apply it (a translated reason to
    show instead of the apply button), or None when they may."""
    if can_apply_division(user):
        return None
    if _role_is(user, Role.COMMUNITY_STAFF):
        return _(
            "社区工作人员可以预览划分，但应用划分会调整网格边界和住户归属，须由街道或区级工作人员操作。"
            "如需调整，请把本页建议告知街道。"
        )
    return _("您的角色只能预览划分，不能应用。应用须由街道或区级工作人员操作。")


def can_set_grid_target(user: Any) -> bool:
    """A district's target households per grid."""
    return _role_is(user, Role.DISTRICT_ADMIN)


# Registry


def can_view_registry(user: Any) -> bool:
    return _role_in(user, REGISTRY_ROLES)


def sees_only_wards(user: Any) -> bool:
    """A guardian reads only the residents in their care, whatever their areas."""
    return _role_is(user, Role.GUARDIAN)


def can_see_registry_lists(user: Any) -> bool:
    """The registry's lists by area (rentals, units, key places): readers of the registry who
    are not limited to their wards."""
    return can_view_registry(user) and not sees_only_wards(user)


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


def can_import_rentals(user: Any) -> bool:
    """A rentals register file (出租房屋): everyone who registers rentals, grid workers included
    (the grid worker keeps the grid's rentals; rows outside their areas are refused). The
    residents import stays with staff (``can_import``)."""
    return can_edit_registry(user)


def can_import_rooms(user: Any) -> bool:
    """A rooms register file (实有房屋: use, area, owner): as for rentals, everyone who keeps the
    registry, grid workers included (rows outside their areas are refused)."""
    return can_edit_registry(user)


# Missing-person protection


def can_see_protection(user: Any) -> bool:
    """The navigation offers missing-person protection."""
    return _role_in(user, PROTECTION_MENU_ROLES)


# Staff who see and manage the enrolments (not the locations) of the people in their areas, and
# who may be asked to search.
PROTECTION_STAFF_ROLES = frozenset({Role.DISTRICT_ADMIN, Role.STREET_STAFF, Role.COMMUNITY_STAFF, Role.GRID_WORKER})


def _in_assigned_areas(user: Any, obj: Any) -> bool:
    """Whether ``obj`` (with ``grid_id`` … ``district_id`` columns) lies in an area of the user."""
    return any(getattr(obj, f"{level}_id", None) in ids for level, ids in assigned_areas(user).items())


def can_manage_protection(user: Any) -> bool:
    """Staff whose areas' enrolments, alerts and searches they see and manage."""
    return is_active(user) and user.role in PROTECTION_STAFF_ROLES


def has_guardian_home(user: Any) -> bool:
    """Guardians land on the page of their relatives rather than the staff overview."""
    return is_active(user) and user.role == Role.GUARDIAN


def can_see_protection_alerts(user: Any) -> bool:
    """The alerts page: staff of the areas, and guardians (for their relatives)."""
    return can_manage_protection(user) or has_guardian_home(user)


def is_guardian_of(user: Any, resident: Any) -> bool:
    return is_active(user) and resident.guardianships.filter(guardian=user).exists()


def can_enrol(user: Any, resident: Any) -> bool:
    """Staff (the resident page has already checked the resident is in their scope) and the
    resident's guardians."""
    return can_manage_protection(user) or is_guardian_of(user, resident)


def can_be_searcher(user: Any) -> bool:
    """Who may be assigned as a searcher: any active account except an auditor's."""
    return is_active(user) and user.role != Role.AUDITOR


# Whether district administrators are offered as field searchers. They coordinate a search from
# the office (they already see it all); offering them beside the grid's own people only buries
# the ones who can walk there. Set to True where a district wants them in the field.
DISTRICT_ADMIN_SEARCHES_IN_FIELD = False
FIELD_SEARCHER_ROLES = frozenset({Role.STREET_STAFF, Role.COMMUNITY_STAFF, Role.GRID_WORKER}) | (
    {Role.DISTRICT_ADMIN} if DISTRICT_ADMIN_SEARCHES_IN_FIELD else set()
)


def why_not_searcher(user: Any, resident: Any) -> str | None:
    """Why ``user`` is not asked to search for ``resident`` (a translated reason), or None when
    they may be. A guardian is family, told already, and not "asked to help" find their own
    relative; an auditor only reads the record."""
    if not can_be_searcher(user):
        return _("该用户不能担任搜寻人员")
    if is_guardian_of(user, resident):
        return _("监护人是走失者的家人，已收到通知，不作为搜寻人员指派")
    return None


def sees_medical_notes_by_role(user: Any) -> bool:
    """Staff roles that may read a person's medical notes when responsible for the person
    (guardians always may)."""
    return is_active(user) and user.role in FULL_DETAIL_ROLES and user.role in PROTECTION_STAFF_ROLES


def reads_district_locations(user: Any) -> bool:
    """District administrators read the locations of the people of their district without an
    open search; other staff only while searching."""
    return is_active(user) and user.role == Role.DISTRICT_ADMIN


def can_read_locations(user: Any, enrolment: Any, purpose: str) -> bool:
    """Whether ``user`` may read the person's locations for ``purpose``: a purpose is given, a
    consent covering tracking stands, and the user is a guardian, a searcher of an open search,
    a notified responder of one when consent covers sharing, or the district's administrator."""
    if not purpose.strip() or not is_active(user):
        return False
    if enrolment.active_consent() is None:
        return False
    if is_guardian_of(user, enrolment.resident):
        return True
    searching = enrolment.incidents.filter(status="open")
    if searching.filter(searchers=user).exists():
        return True
    if searching.filter(responders__user=user, responders__shares_location=True).exists():
        return True
    return reads_district_locations(user) and _in_assigned_areas(user, enrolment)


# Petitions and grid events (wangge.cases). Where is the scoped queries' job: area columns for
# everyone, and a department handler only the cases of their departments.

CASE_ROLES = frozenset(
    {
        Role.DISTRICT_ADMIN,
        Role.STREET_STAFF,
        Role.COMMUNITY_STAFF,
        Role.GRID_WORKER,
        Role.PETITION_OFFICE,
        Role.DEPARTMENT,
    }
)
# Who registers a case: the reception desk and grid workers from the field.
CASE_INTAKE_ROLES = CASE_ROLES - {Role.DEPARTMENT}
# Who decides on acceptance, assigns, transfers, rules on merit, verifies and closes.
CASE_DECIDE_ROLES = frozenset({Role.DISTRICT_ADMIN, Role.STREET_STAFF, Role.COMMUNITY_STAFF, Role.PETITION_OFFICE})


def can_view_cases(user: Any) -> bool:
    return _role_in(user, CASE_ROLES)


def sees_only_department_cases(user: Any) -> bool:
    """A department handler reads only the cases their departments lead or help with."""
    return _role_is(user, Role.DEPARTMENT)


def can_take_cases(user: Any) -> bool:
    return _role_in(user, CASE_INTAKE_ROLES)


def can_decide_cases(user: Any) -> bool:
    return _role_in(user, CASE_DECIDE_ROLES)


def can_work_cases(user: Any) -> bool:
    """Home visits, replies and resolutions: everyone who sees the case in their scope."""
    return _role_in(user, CASE_ROLES)


# The worklist: tasks, visits and coverage (issue 12)

# Staff who work the tasks and visits of their areas; party members and volunteers work only the
# households linked to them, whatever their role.
WORKLIST_STAFF_ROLES = REGISTRY_WRITE_ROLES
COVERAGE_ROLES = frozenset({Role.DISTRICT_ADMIN, Role.STREET_STAFF, Role.COMMUNITY_STAFF})


def is_worklist_staff(user: Any) -> bool:
    return _role_in(user, WORKLIST_STAFF_ROLES)


def is_helper(user: Any) -> bool:
    """A party member or volunteer account (a member of an organisation on a grid)."""
    if not is_active(user) or _role_in(user, WORKLIST_STAFF_ROLES):
        return False
    cached = getattr(user, "_wangge_helper", None)
    if cached is None:
        cached = user._wangge_helper = user.memberships.exists()
    return bool(cached)


def can_see_worklist(user: Any) -> bool:
    """The navigation offers the worklist (走访)."""
    return is_worklist_staff(user) or is_helper(user)


def can_record_visits(user: Any) -> bool:
    return is_worklist_staff(user) or is_helper(user)


def can_see_coverage(user: Any) -> bool:
    return _role_in(user, COVERAGE_ROLES)


def can_edit_rules(user: Any) -> bool:
    return _role_is(user, Role.DISTRICT_ADMIN)


def can_link_helpers(user: Any) -> bool:
    return _role_in(user, COVERAGE_ROLES)


# Special groups and key youth: each register names its own viewers (``Register.viewer_roles``).


def can_see_register(user: Any, register: Any) -> bool:
    """Whether the user may learn that anyone is on ``register`` at all."""
    return _role_in(user, frozenset(register.viewer_roles or ()))


def can_edit_register(user: Any, register: Any) -> bool:
    """Listing, following up and ending: registry editors among the register's viewers."""
    return can_see_register(user, register) and can_edit_registry(user)


def can_export_register(user: Any, register: Any) -> bool:
    """The register as XLSX for reporting upward: exporters among the register's viewers."""
    return can_see_register(user, register) and can_export(user)


def can_import_register(user: Any, register: Any) -> bool:
    """Putting people on a register from a spreadsheet: importers among its editors."""
    return can_edit_register(user, register) and can_import(user)
