"""The code tables of units and places in the admin; the units and places themselves are written
only through ``wangge.places.actions``, which audits every write."""

from __future__ import annotations

from django.contrib import admin

from wangge.accounts.admin import DistrictAdminMixin
from wangge.places.models import PlaceType, UnitKind


@admin.register(UnitKind)
class UnitKindAdmin(DistrictAdminMixin, admin.ModelAdmin[UnitKind]):
    list_display = ["code", "name", "two_new", "standard_code", "order"]
    search_fields = ["code", "name", "aliases"]


@admin.register(PlaceType)
class PlaceTypeAdmin(DistrictAdminMixin, admin.ModelAdmin[PlaceType]):
    list_display = ["code", "name", "inspect_every_days", "standard_code", "order"]
    search_fields = ["code", "name", "aliases"]
