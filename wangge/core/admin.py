"""Admin building blocks that need no roles: saves and deletions made in the admin are audited.

Who may enter the admin is the policy's decision, so the site's gate, the permission mixins and
the audit log's admin page live in ``wangge.accounts.admin``.
"""

from __future__ import annotations

from typing import Any

from django.db import models
from django.http import HttpRequest
from django.utils.translation import gettext as _

from wangge.core.audit import Action, audit


class AuditedAdminMixin:
    """Writes made in the admin are audited in the admin's own transaction (``changeform_view``
    and ``delete_view`` are atomic), so a failing audit entry undoes the save."""

    def save_model(self, request: HttpRequest, obj: models.Model, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)  # type: ignore[misc]
        audit(
            actor=request.user,
            action=Action.UPDATE if change else Action.CREATE,
            obj=obj,
            summary=_("在管理后台保存 %(obj)s") % {"obj": obj},
            detail={"via": "admin", "fields": sorted(form.changed_data) if form is not None else []},
        )

    def delete_model(self, request: HttpRequest, obj: models.Model) -> None:
        audit(
            actor=request.user,
            action=Action.DELETE,
            obj=obj,
            summary=_("在管理后台删除 %(obj)s") % {"obj": obj},
            detail={"via": "admin"},
        )
        super().delete_model(request, obj)  # type: ignore[misc]

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        for obj in queryset:
            audit(
                actor=request.user,
                action=Action.DELETE,
                obj=obj,
                summary=_("在管理后台删除 %(obj)s") % {"obj": obj},
                detail={"via": "admin"},
            )
        super().delete_queryset(request, queryset)  # type: ignore[misc]
