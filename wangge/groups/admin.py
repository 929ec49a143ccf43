"""The registers (a code table with each one's viewers) in the admin; listings are not there:
they are read only through ``wangge.groups.queries``, which audits every read."""

from __future__ import annotations

from django.contrib import admin

from wangge.accounts.admin import DistrictAdminMixin
from wangge.groups.models import Register


@admin.register(Register)
class RegisterAdmin(DistrictAdminMixin, admin.ModelAdmin[Register]):
    list_display = ["code", "name", "kind", "follow_up_days", "viewer_roles", "standard_code", "order"]
    list_filter = ["kind"]
    search_fields = ["code", "name", "aliases"]
