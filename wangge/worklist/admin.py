"""Rules are data a district edits in the admin (each save through ``actions.rule_save``, which
versions and audits it; "试算" tells what a rule would create today). Tasks and visits are written
only through the actions, so not here."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from wangge.accounts.admin import DistrictAdminMixin
from wangge.worklist import actions
from wangge.worklist.models import Rule


@admin.register(Rule)
class RuleAdmin(DistrictAdminMixin, admin.ModelAdmin[Rule]):
    list_display = ["code", "name", "due_days", "every_days", "priority", "assignee", "active", "version"]
    list_filter = ["active", "priority", "assignee"]
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
