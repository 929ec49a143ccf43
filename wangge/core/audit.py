"""Writing the audit log: one call per write action and per full view, search or export.

``audit()`` must run inside the transaction of the thing it records: if the entry cannot be
written, the exception propagates and the whole request fails, so nothing happens unlogged.
"""

from __future__ import annotations

from typing import Any

from django.db import models, transaction

from wangge.core.middleware import current_request
from wangge.core.models import AuditEntry

Action = AuditEntry.Action


def recorded_user(by: Any) -> Any:
    """The user to store as having done something (``enrolled_by``, ``opened_by`` …): ``by`` if
    it is a signed-in user, None for the system or an anonymous caller."""
    return by if by is not None and getattr(by, "is_authenticated", False) else None


def audit(
    *,
    actor: Any,
    action: str,
    obj: models.Model | None = None,
    object_type: str = "",
    object_id: str | int = "",
    summary: str = "",
    detail: dict[str, Any] | None = None,
) -> AuditEntry:
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or str(obj.pk)
    context = current_request.get()
    user = recorded_user(actor)
    # Inside the action's transaction no savepoint: an entry that cannot be written fails the
    # whole action anyway, and the SAVEPOINT/RELEASE pair was two round trips per audited write.
    with transaction.atomic(savepoint=False):
        return AuditEntry.objects.create(
            actor=user,
            actor_label=(str(user.get_username()) if user else "system")[:150],
            action=action,
            object_type=object_type,
            object_id=str(object_id),
            summary=summary[:500],
            detail=detail or {},
            ip=context.ip if context else None,
            user_agent=context.user_agent if context else "",
        )
