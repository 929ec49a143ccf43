"""Categories and departments are data a district edits in the admin; cases themselves are
written only through the actions (which keep the timeline and the audit log), so not here."""

from __future__ import annotations

from django.contrib import admin

from wangge.accounts.admin import DistrictAdminMixin
from wangge.cases.models import Category, Department


@admin.register(Category)
class CategoryAdmin(DistrictAdminMixin, admin.ModelAdmin[Category]):
    list_display = ["code", "name", "kind", "department", "home_visit_required", "sensitive", "active"]
    list_filter = ["kind", "active"]
    search_fields = ["code", "name"]


@admin.register(Department)
class DepartmentAdmin(DistrictAdminMixin, admin.ModelAdmin[Department]):
    list_display = ["code", "name", "active"]
    search_fields = ["code", "name"]
    filter_horizontal = ["members"]
