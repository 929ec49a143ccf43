"""Demo accounts: one per role, printed with a password generated for this run, and one grid
worker per grid.

Accounts are updated in place rather than deleted on a rebuild: the audit log is append-only
and refers to its actors, so an account that has logged in cannot (and must not) disappear.
"""

from __future__ import annotations

import secrets
import string
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model

from wangge.accounts.models import AreaAssignment, Role
from wangge.areas.models import Area
from wangge.core.models import AuditEntry

GRID_WORKER_PREFIX = "gw-"
# username → role; the scope is chosen by the build (see ``showcase_accounts``).
SHOWCASE = {
    "demo-district": Role.DISTRICT_ADMIN,
    "demo-street": Role.STREET_STAFF,
    "demo-community": Role.COMMUNITY_STAFF,
    "demo-grid": Role.GRID_WORKER,
    "demo-petition": Role.PETITION_OFFICE,
    "demo-department": Role.DEPARTMENT,
    "demo-guardian": Role.GUARDIAN,
    "demo-auditor": Role.AUDITOR,
    # A volunteer of the grid worker's grid (a guardian's account with no ward: the least access).
    "demo-volunteer": Role.GUARDIAN,
}
VOLUNTEER = "demo-volunteer"
_ALPHABET = string.ascii_letters + string.digits


@dataclass
class DemoAccount:
    username: str
    role: str
    password: str
    scope: str
    title: str = ""  # printed instead of the role's name (the volunteer)


def new_password(length: int = 14) -> str:
    # Unambiguous characters would be friendlier, but a printed random password is what matters.
    while True:
        password = "".join(secrets.choice(_ALPHABET) for _ in range(length))
        if any(c.isdigit() for c in password) and any(c.isalpha() for c in password):
            return password


def is_demo_username(username: str) -> bool:
    return username in SHOWCASE or username.startswith(GRID_WORKER_PREFIX)


def other_users_exist() -> bool:
    """Whether the database holds accounts the demo did not create (a real deployment)."""
    User = get_user_model()
    return any(not is_demo_username(name) for name in User.objects.values_list("username", flat=True).iterator())


def upsert(
    *,
    username: str,
    role: str,
    full_name: str,
    areas: list[Area],
    password: str | None,
    phone: str = "",
    is_staff: bool = False,
) -> Any:
    User = get_user_model()
    user = User.objects.filter(username=username).first() or User(username=username)
    user.role = role
    user.full_name = full_name
    user.phone = phone
    user.is_active = True
    user.is_staff = is_staff
    user.is_superuser = is_staff  # the district administrator manages everything in the admin
    if password:
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.save()
    AreaAssignment.objects.filter(user=user).delete()
    AreaAssignment.objects.bulk_create([AreaAssignment(user=user, area=area) for area in areas])
    return user


def grid_workers(
    *, grids: list[Area], names: list[str], phones: list[str], with_passwords: bool
) -> tuple[dict[int, Any], list[DemoAccount]]:
    """One ``gw-<grid code>`` account per grid; unusable passwords unless asked for.

    Returns the users by grid id and, when passwords were set, the printed accounts."""
    User = get_user_model()
    existing = {u.username: u for u in User.objects.filter(username__startswith=GRID_WORKER_PREFIX)}
    wanted = {GRID_WORKER_PREFIX + grid.code: grid for grid in grids}
    retire_stale(existing=existing, wanted=set(wanted))
    users: dict[int, Any] = {}
    printed: list[DemoAccount] = []
    fresh: list[Any] = []
    for (username, grid), name, phone in zip(wanted.items(), names, phones, strict=False):
        password = new_password() if with_passwords else None
        user = existing.get(username) or User(username=username)
        user.role, user.full_name, user.phone = Role.GRID_WORKER, name, phone
        user.is_active, user.is_staff, user.is_superuser = True, False, False
        if password:
            user.set_password(password)
            printed.append(DemoAccount(username, Role.GRID_WORKER, password, str(grid.name)))
        else:
            user.set_unusable_password()
        if user.pk is None:
            fresh.append(user)
        else:
            user.save()
        users[grid.pk] = user
    User.objects.bulk_create(fresh, batch_size=500)
    # bulk_create on SQLite and PostgreSQL returns primary keys; re-read to be safe elsewhere.
    by_name = dict(User.objects.filter(username__in=list(wanted)).values_list("username", "pk"))
    for user in users.values():
        user.pk = by_name[user.username]
    AreaAssignment.objects.filter(user_id__in=list(by_name.values())).delete()
    AreaAssignment.objects.bulk_create(
        [AreaAssignment(user_id=by_name[username], area=grid) for username, grid in wanted.items()], batch_size=1000
    )
    return users, printed


def retire_stale(*, existing: dict[str, Any], wanted: set[str]) -> None:
    """Grid workers of grids that no longer exist: deleted, or deactivated if the audit log
    refers to them."""
    stale = [user for name, user in existing.items() if name not in wanted]
    if not stale:
        return
    logged = set(AuditEntry.objects.filter(actor__in=stale).values_list("actor_id", flat=True))
    User = get_user_model()
    User.objects.filter(pk__in=[u.pk for u in stale if u.pk not in logged]).delete()
    User.objects.filter(pk__in=logged).update(is_active=False)
