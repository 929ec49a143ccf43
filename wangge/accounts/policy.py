"""Who may do what: the named predicates pages, the API, navigation and the scope tests ask.

Role rules live here and nowhere else. Predicates take the objects and read their attributes
and relations, so this module imports no app above accounts; which rows a user may list stays
in each app's ``queries`` (scope as data), built on these predicates.
"""

from __future__ import annotations

from typing import Any

from wangge.accounts.models import FULL_DETAIL_ROLES, Role
from wangge.core.scope import assigned_areas, is_active_user

# Missing-person protection

# Staff who see and manage the enrolments (not the locations) of the people in their areas, and
# who may be asked to search.
PROTECTION_STAFF_ROLES = frozenset({Role.DISTRICT_ADMIN, Role.STREET_STAFF, Role.COMMUNITY_STAFF, Role.GRID_WORKER})


def _in_assigned_areas(user: Any, obj: Any) -> bool:
    """Whether ``obj`` (with ``grid_id`` … ``district_id`` columns) lies in an area of the user."""
    return any(getattr(obj, f"{level}_id", None) in ids for level, ids in assigned_areas(user).items())


def can_manage_protection(user: Any) -> bool:
    """Staff whose areas' enrolments, alerts and searches they see and manage."""
    return is_active_user(user) and user.role in PROTECTION_STAFF_ROLES


def has_guardian_home(user: Any) -> bool:
    """Guardians land on the page of their relatives rather than the staff overview."""
    return is_active_user(user) and user.role == Role.GUARDIAN


def can_see_protection_alerts(user: Any) -> bool:
    """The alerts page: staff of the areas, and guardians (for their relatives)."""
    return can_manage_protection(user) or has_guardian_home(user)


def is_guardian_of(user: Any, resident: Any) -> bool:
    return is_active_user(user) and resident.guardianships.filter(guardian=user).exists()


def can_enrol(user: Any, resident: Any) -> bool:
    """Staff (the resident page has already checked the resident is in their scope) and the
    resident's guardians."""
    return can_manage_protection(user) or is_guardian_of(user, resident)


def can_search(user: Any) -> bool:
    """Who may be assigned as a searcher: any active account except an auditor's."""
    return bool(user.is_active) and user.role != Role.AUDITOR


def sees_medical_notes_by_role(user: Any) -> bool:
    """Staff roles that may read a person's medical notes when responsible for the person
    (guardians always may)."""
    return is_active_user(user) and user.role in FULL_DETAIL_ROLES and user.role in PROTECTION_STAFF_ROLES


def reads_district_locations(user: Any) -> bool:
    """District administrators read the locations of the people of their district without an
    open search; other staff only while searching."""
    return is_active_user(user) and user.role == Role.DISTRICT_ADMIN


def can_read_locations(user: Any, enrolment: Any, purpose: str) -> bool:
    """Whether ``user`` may read the person's locations for ``purpose``: a purpose is given, a
    consent covering tracking stands, and the user is a guardian, a searcher of an open search,
    a notified responder of one when consent covers sharing, or the district's administrator."""
    if not purpose.strip() or not is_active_user(user):
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
