"""Accounts in the admin: users with their role and the area nodes they cover."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.utils.translation import gettext_lazy as _

from wangge.accounts.models import AreaAssignment, User
from wangge.core.admin import DistrictAdminMixin


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
        (_("个人信息"), {"fields": ("full_name", "phone", "email")}),
        (_("角色"), {"fields": ("role", "is_active", "is_staff")}),
        (_("登录记录"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (None, {"classes": ("wide",), "fields": ("username", "full_name", "role", "password1", "password2")}),
    )
    readonly_fields = ["last_login", "date_joined"]
