"""The registry in the admin: read-only and scoped, except the care-category list.

Residents and households are written through the app's actions (import, pages, API), which
keep life events, search keys and the audit log in step; the admin must not bypass them.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db import transaction
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from wangge.accounts.admin import DistrictAdminMixin, ReadOnlyAdminMixin
from wangge.core import idnumbers
from wangge.core.audit import Action, audit
from wangge.registry.models import (
    CareCategory,
    CareTag,
    DocumentType,
    HazardLevel,
    Household,
    LifeEvent,
    PopulationType,
    Resident,
    RoomUse,
)
from wangge.registry.queries import get_resident, households_visible_to, residents_visible_to


@admin.register(CareCategory)
class CareCategoryAdmin(DistrictAdminMixin, admin.ModelAdmin[CareCategory]):
    list_display = ["code", "name", "name_en", "aliases"]
    search_fields = ["code", "name", "aliases"]


@admin.register(PopulationType)
class PopulationTypeAdmin(DistrictAdminMixin, admin.ModelAdmin[PopulationType]):
    list_display = ["code", "name", "name_en", "standard_code", "aliases", "order"]
    list_editable = ["order"]
    search_fields = ["code", "name", "aliases"]


@admin.register(DocumentType)
class DocumentTypeAdmin(DistrictAdminMixin, admin.ModelAdmin[DocumentType]):
    list_display = ["code", "name", "name_en", "format", "standard_code", "aliases", "order"]
    list_editable = ["order"]
    list_filter = ["format"]
    search_fields = ["code", "name", "aliases"]


@admin.register(RoomUse)
class RoomUseAdmin(DistrictAdminMixin, admin.ModelAdmin[RoomUse]):
    list_display = ["code", "name", "name_en", "standard_code", "aliases", "order"]
    list_editable = ["order"]
    search_fields = ["code", "name", "aliases"]


@admin.register(HazardLevel)
class HazardLevelAdmin(DistrictAdminMixin, admin.ModelAdmin[HazardLevel]):
    list_display = ["code", "name", "name_en", "inspect_every_days", "standard_code", "aliases", "order"]
    list_editable = ["inspect_every_days", "order"]
    search_fields = ["code", "name", "aliases"]


class CareTagInline(ReadOnlyAdminMixin, admin.TabularInline[CareTag, Resident]):
    model = CareTag
    fields = readonly_fields = ("category", "recorded_by", "recorded_at", "note")
    extra = 0


class LifeEventInline(ReadOnlyAdminMixin, admin.TabularInline[LifeEvent, Resident]):
    model = LifeEvent
    fields = readonly_fields = ("kind", "date", "household", "recorded_by", "recorded_at")
    extra = 0


@admin.register(Household)
class HouseholdAdmin(ReadOnlyAdminMixin, admin.ModelAdmin[Household]):
    list_display = ["__str__", "community", "grid"]
    search_fields = ["room", "building__name"]
    list_select_related = ["building", "community", "grid"]
    fields = readonly_fields = (
        "building",
        "entrance",
        "room",
        "head",
        "grid",
        "community",
        "street",
        "district",
        "note",
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[Household]:
        return households_visible_to(request.user)


@admin.register(Resident)
class ResidentAdmin(ReadOnlyAdminMixin, admin.ModelAdmin[Resident]):
    list_display = ["name", "masked_id_number", "sex", "status", "community", "grid"]
    list_filter = ["status", "sex"]
    search_fields = ["name"]
    list_select_related = ["community", "grid"]
    fields = readonly_fields = (
        "name",
        "id_number",
        "sex",
        "birth_date",
        "phone",
        "relationship",
        "status",
        "ethnicity",
        "household",
        "grid",
        "community",
    )
    inlines = [CareTagInline, LifeEventInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Resident]:
        return residents_visible_to(request.user)

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Resident], search_term: str
    ) -> tuple[QuerySet[Resident], bool]:
        # A search of personal data is audited wherever it happens, the admin included.
        results, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        if search_term.strip():
            audit(
                actor=request.user,
                action=Action.SEARCH,
                object_type="registry.resident",
                summary=_("在管理后台搜索居民“%(q)s”") % {"q": search_term.strip()[:100]},
                detail={"via": "admin", "q": search_term.strip()[:100]},
            )
        return results, may_have_duplicates

    @admin.display(description=gettext_lazy("公民身份号码"))
    def masked_id_number(self, resident: Resident) -> str:
        return idnumbers.mask(resident.id_number)

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        # The change page shows the full record: audit it like any other full view.
        with transaction.atomic():
            if request.method == "GET":
                try:
                    resident: Resident | None = get_resident(request.user, object_id)
                except Http404:
                    resident = None
                if resident is not None:
                    audit(
                        actor=request.user,
                        action=Action.VIEW,
                        obj=resident,
                        summary=_("在管理后台查看 %(name)s 的完整信息") % {"name": resident.name},
                    )
            return super().change_view(request, object_id, form_url, extra_context)
