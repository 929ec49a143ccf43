"""Accounts in the admin: users with their role and the area nodes they cover."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.http import HttpRequest
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from wangge.accounts.models import AreaAssignment, User
from wangge.core.admin import DistrictAdminMixin
from wangge.core.audit import Action, audit


class AreaAssignmentInline(DistrictAdminMixin, admin.TabularInline[AreaAssignment, User]):
    model = AreaAssignment
    extra = 1
    autocomplete_fields = ["area"]


@admin.register(User)
class UserAdmin(DistrictAdminMixin, DjangoUserAdmin):
    list_display = ["username", "full_name", "role", "is_active", "is_staff", "last_login"]
    list_filter = ["role", "is_active", "is_staff"]
    search_fields = ["username", "full_name", "phone"]
    inlines = [AreaAssignmentInline]
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        (gettext_lazy("个人信息"), {"fields": ("full_name", "phone", "email")}),
        (gettext_lazy("角色"), {"fields": ("role", "is_active", "is_staff")}),
        (gettext_lazy("登录记录"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (None, {"classes": ("wide",), "fields": ("username", "full_name", "role", "password1", "password2")}),
    )
    readonly_fields = ["last_login", "date_joined"]

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        # Areas decide what an account may see: the log names each one granted or taken away.
        user = form.instance
        before = set(user.assignments.values_list("area_id", flat=True))
        super().save_related(request, form, formsets, change)
        after = set(user.assignments.values_list("area_id", flat=True))
        if before == after:
            return
        # The area tree sits above accounts: reach it through the assignment, not an import.
        areas = AreaAssignment._meta.get_field("area").related_model._default_manager
        names = dict(areas.filter(pk__in=before ^ after).values_list("pk", "name"))
        added = "、".join(names[pk] for pk in sorted(after - before)) or "—"
        removed = "、".join(names[pk] for pk in sorted(before - after)) or "—"
        audit(
            actor=request.user,
            action=Action.UPDATE,
            object_type="accounts.areaassignment",
            object_id=user.pk,
            summary=_("在管理后台修改 %(user)s 的负责区域：新增 %(added)s；移除 %(removed)s")
            % {"user": user.username, "added": added, "removed": removed},
            detail={"via": "admin", "added": sorted(after - before), "removed": sorted(before - after)},
        )
