"""The audit log page: auditors and district administrators browse and filter it.

It lives with accounts, the lowest app that knows who may read it (core, below, knows no roles).
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from wangge.accounts import policy
from wangge.core import audit_objects, stored_text
from wangge.core.models import AuditEntry
from wangge.core.widgets import DateInput

PAGE_SIZE = 50


class AuditFilterForm(forms.Form):
    actor = forms.CharField(label=_("操作人"), required=False, max_length=150)
    action = forms.ChoiceField(label=_("动作"), required=False)
    object_type = forms.ChoiceField(label=_("对象类型"), required=False)
    date_from = forms.DateField(label=_("起始日期"), required=False, widget=DateInput)
    date_to = forms.DateField(label=_("截止日期"), required=False, widget=DateInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["action"].choices = [("", _("全部")), *AuditEntry.Action.choices]  # type: ignore[attr-defined]
        types = AuditEntry.objects.order_by("object_type").values_list("object_type", flat=True).distinct()
        named = sorted(((t, audit_objects.type_name(t)) for t in types if t), key=lambda choice: choice[1])
        self.fields["object_type"].choices = [("", _("全部")), *named]  # type: ignore[attr-defined]


def _day_start(day: dt.date) -> dt.datetime:
    """Midnight in Asia/Shanghai (the page's dates are local dates, the log is stored in UTC)."""
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min), timezone.get_current_timezone())


@login_required
def audit_log(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    if not policy.can_read_audit_log(user):
        raise Http404
    form = AuditFilterForm(request.GET or None)
    entries = AuditEntry.objects.select_related("actor").order_by("-at", "-id")
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        if data["actor"]:
            entries = entries.filter(
                Q(actor_label__icontains=data["actor"]) | Q(actor__full_name__icontains=data["actor"])
            )
        if data["action"]:
            entries = entries.filter(action=data["action"])
        if data["object_type"]:
            entries = entries.filter(object_type=data["object_type"])
        if data["date_from"]:
            entries = entries.filter(at__gte=_day_start(data["date_from"]))
        if data["date_to"]:
            entries = entries.filter(at__lt=_day_start(data["date_to"] + dt.timedelta(days=1)))
    page = Paginator(entries, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = list(page)
    labels = audit_objects.describe(user, rows)
    for entry in rows:
        entry.object_label = labels.get((entry.object_type, str(entry.object_id)))  # type: ignore[attr-defined]
        entry.shown_summary = stored_text.translate(entry.summary)  # type: ignore[attr-defined]
        entry.actor_name = (  # type: ignore[attr-defined]
            (entry.actor.full_name or entry.actor.username) if entry.actor else entry.actor_label or _("系统")
        )
    query = {k: v for k, v in request.GET.items() if k != "page" and v}
    return render(
        request,
        "accounts/audit_log.html",
        {"form": form, "page": page, "entries": rows, "query": urlencode(query)},
    )
