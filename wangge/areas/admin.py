"""Areas, buildings and organisations in the admin (district administrators configure them)."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from wangge.accounts.admin import DistrictAdminMixin
from wangge.areas.models import Area, Building, Membership, Organisation
from wangge.areas.queries import areas_visible_to, buildings_visible_to


@admin.register(Area)
class AreaAdmin(DistrictAdminMixin, admin.ModelAdmin[Area]):
    list_display = ["name", "level", "kind", "code", "parent", "target_households"]
    list_filter = ["level", "kind"]
    search_fields = ["name", "short_name", "code"]
    autocomplete_fields = ["parent"]
    readonly_fields = ["district", "street", "community", "updated_at"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Area]:
        return areas_visible_to(request.user)


@admin.register(Building)
class BuildingAdmin(DistrictAdminMixin, admin.ModelAdmin[Building]):
    list_display = ["name", "community", "grid", "entrances", "needs_location"]
    list_filter = ["needs_location"]
    search_fields = ["name", "address"]
    autocomplete_fields = ["grid", "community"]
    readonly_fields = ["street", "district"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Building]:
        return buildings_visible_to(request.user).select_related("community", "grid")


class MembershipInline(DistrictAdminMixin, admin.TabularInline[Membership, Organisation]):
    model = Membership
    extra = 1
    raw_id_fields = ["user", "resident"]


@admin.register(Organisation)
class OrganisationAdmin(DistrictAdminMixin, admin.ModelAdmin[Organisation]):
    list_display = ["name", "kind", "area"]
    list_filter = ["kind"]
    search_fields = ["name"]
    autocomplete_fields = ["area"]
    inlines = [MembershipInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Organisation]:
        return super().get_queryset(request).filter(area__in=areas_visible_to(request.user)).select_related("area")
