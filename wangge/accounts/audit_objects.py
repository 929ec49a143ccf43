"""Names and links of accounts in the audit log (see ``wangge.core.audit_objects``)."""

from __future__ import annotations

from typing import Any

from django.urls import reverse

from wangge.accounts.models import User
from wangge.core.audit_objects import int_ids, register


def _users(reader: Any, ids: list[str]) -> dict[str, tuple[str, str]]:
    """Everyone who may read the log sees who did what (the actor column names them too); the
    account's admin page is linked for those who may open it."""
    admin = bool(getattr(reader, "is_staff", False))  # the admin site admits district administrators
    out = {}
    for pk, username, full_name in User.objects.filter(pk__in=int_ids(ids)).values_list("pk", "username", "full_name"):
        name = f"{full_name}（{username}）" if full_name else username
        out[str(pk)] = (name, reverse("admin:accounts_user_change", args=[pk]) if admin else "")
    return out


def connect() -> None:
    register("accounts.user", _users)
