"""Rules are data a district edits in the admin (each save through ``actions.rule_save``, which
versions and audits it; "试算" tells what a rule would create today). Tasks and visits are written
only through the actions, so not here."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from wangge.accounts.admin import DistrictAdminMixin
from wangge.worklist import actions
from wangge.worklist.models import HelperLink, Rule


@admin.register(Rule)
class RuleAdmin(DistrictAdminMixin, admin.ModelAdmin[Rule]):
    list_display = ["code", "name", "due_days", "every_days", "priority", "assignee", "active", "version"]
    list_filter = ["active", "kind", "priority", "assignee"]
    search_fields = ["code", "name", "source"]
    readonly_fields = ["version"]
    actions = ["preview"]

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        actions.rule_save(rule=obj, by=request.user)

    @admin.action(description=gettext_lazy("试算：按今天的登记数据会生成多少任务"))
    def preview(self, request: HttpRequest, queryset: QuerySet[Rule]) -> None:
        for rule in queryset:
            figures = actions.rule_preview(rule=rule)
            self.message_user(
                request,
                _("%(rule)s：将生成 %(tasks)d 项任务，涉及 %(grids)d 个网格")
                % {"rule": rule.name, "tasks": figures["tasks"], "grids": figures["grids"]},
                messages.INFO,
            )


class HelperLinkForm(forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = HelperLink
        fields = ["helper", "household", "since"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("helper") and data.get("household"):
            actions.helper_organisation(helper=data["helper"], household=data["household"])
        return data


@admin.register(HelperLink)
class HelperLinkAdmin(DistrictAdminMixin, admin.ModelAdmin[HelperLink]):
    """党员联系户: a new link goes through ``actions.helper_link`` (the organisation and the area
    columns come from the household's grid)."""

    form = HelperLinkForm
    list_display = ["helper", "household", "organisation", "since"]
    raw_id_fields = ["helper", "household"]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return obj is None and super().has_change_permission(request, obj)

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        obj.pk = actions.helper_link(by=request.user, helper=obj.helper, household=obj.household, since=obj.since).pk
