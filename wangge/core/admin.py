"""The Django admin, for district administrators only, and the read-only audit log in it.

Every other role works in the app's own pages, which are scoped to their areas. Saves and
deletions made through the admin are written to the audit log like any other write.
"""

from __future__ import annotations

import types
from typing import Any

from django.contrib import admin
from django.db import models
from django.http import HttpRequest
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from rest_framework.authtoken.models import TokenProxy

from wangge.accounts import policy
from wangge.core.audit import Action, audit
from wangge.core.models import AuditEntry

is_district_admin = policy.can_use_admin


def _district_admins_only(self: admin.AdminSite, request: HttpRequest) -> bool:
    return is_district_admin(request.user)


# The default site is kept (third-party apps register on it); only who may enter changes.
admin.site.has_permission = types.MethodType(_district_admins_only, admin.site)  # type: ignore[method-assign]
admin.site.site_header = gettext_lazy("网格 管理后台")
admin.site.site_title = gettext_lazy("网格 管理后台")
admin.site.index_title = gettext_lazy("区级管理")


class DistrictAdminMixin:
    """Model permissions follow the role: a district administrator need not be a superuser.

    Writes made here are audited in the admin's own transaction (``changeform_view`` and
    ``delete_view`` are atomic), so a failing audit entry undoes the save.
    """

    def has_module_permission(self, request: HttpRequest) -> bool:
        return is_district_admin(request.user)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_district_admin(request.user)

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return is_district_admin(request.user)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_district_admin(request.user)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_district_admin(request.user)

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


class ReadOnlyAdminMixin(DistrictAdminMixin):
    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


# API tokens are passwords for the API: DRF's admin lists every key, which would let an
# administrator act as anyone without a trace. Each user makes and revokes their own on /profile/.
if admin.site.is_registered(TokenProxy):
    admin.site.unregister(TokenProxy)


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdminMixin, admin.ModelAdmin[AuditEntry]):
    list_display = ["at", "actor_label", "action", "object_type", "object_id", "summary", "ip"]
    list_filter = ["action", "object_type", "at"]
    search_fields = ["actor_label", "summary", "object_id"]
    date_hierarchy = "at"
    readonly_fields = [f.name for f in AuditEntry._meta.fields]
    list_select_related = False
