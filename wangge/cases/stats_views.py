"""The case statistics page for leaders (``/cases/stats/``) with a chart by month, and the same
figures as an XLSX workbook. Scoped: a user sees the figures of their areas only, and an area
outside them is a 404."""

from __future__ import annotations

import io
from typing import Any

from django import forms
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.html import format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET
from openpyxl import Workbook
from openpyxl.styles import Font

from wangge.accounts import policy
from wangge.areas.models import Area
from wangge.areas.queries import areas_within
from wangge.cases import stats
from wangge.core.audit import Action, audit
from wangge.core.widgets import FastSelect
from wangge.registry.export import _cell

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
#: months in the page's chart (the export has every month of the range)
CHART_MONTHS = 36

# (key, label, format): the columns of every table and of the workbook.
COUNTS = [
    # Counts of cases, so "已登记" (received), not the verb "登记" (to register).
    ("received", gettext_lazy("已登记"), "n"),
    ("accepted", gettext_lazy("已受理"), "n"),
    ("closed", gettext_lazy("已办结"), "n"),
    ("solved", gettext_lazy("已解决"), "n"),
    ("closed_unsolved", gettext_lazy("办结未解决"), "n"),
    ("solved_open", gettext_lazy("已解决未办结"), "n"),
    ("response_rate", gettext_lazy("响应率"), "%"),
    ("on_time_rate", gettext_lazy("按期办理率"), "%"),
    ("solution_rate", gettext_lazy("解决率"), "%"),
    ("satisfaction_rate", gettext_lazy("满意率"), "%"),
    ("average_days_to_solve", gettext_lazy("平均解决天数"), "d"),
    ("repeats", gettext_lazy("重复访"), "n"),
    ("repeat_rate", gettext_lazy("重复访率"), "%"),
    ("cross_level", gettext_lazy("越级访"), "n"),
    ("cross_level_rate", gettext_lazy("越级访率"), "%"),
]
STAGES = [
    ("open", gettext_lazy("办理中")),
    ("declined", gettext_lazy("不予受理")),
    ("closed", gettext_lazy("已办结")),
]
MERIT_LABELS = {
    "reasonable": gettext_lazy("有理"),
    "partly": gettext_lazy("部分有理"),
    "unreasonable": gettext_lazy("无理"),
    "not_petition": gettext_lazy("非信访事项"),
}


class StatsForm(forms.Form):
    area = forms.ModelChoiceField(
        queryset=Area.objects.none(), required=False, label=gettext_lazy("区域"), widget=FastSelect
    )
    date_from = forms.DateField(required=False, label=gettext_lazy("登记日期起"))
    date_to = forms.DateField(required=False, label=gettext_lazy("登记日期止"))

    def __init__(self, *args: Any, areas: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["area"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = areas
        field.empty_label = _("我的全部区域")
        for name in ("date_from", "date_to"):
            self.fields[name].widget = forms.DateInput(attrs={"type": "date"})

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            raise forms.ValidationError(_("起始日期不能晚于截止日期"))
        return data


def _figures(request: HttpRequest, *, recent_months: int | None = None) -> tuple[StatsForm, dict[str, Any] | None]:
    """The figures for the query string; an area outside the user's is a 404."""
    user = request.user
    if not policy.can_view_cases(user):
        raise Http404
    form = StatsForm(request.GET or None, areas=areas_within(user).defer("boundary").order_by("level", "name"))
    raw_area = request.GET.get("area", "")
    if raw_area and (not raw_area.isdigit() or not areas_within(user).filter(pk=raw_area).exists()):
        raise Http404
    if request.GET and not form.is_valid():
        return form, None
    data = form.cleaned_data if request.GET else {}
    figures = stats.figures(
        user=user,
        area=data.get("area"),
        date_from=data.get("date_from"),
        date_to=data.get("date_to"),
        recent_months=recent_months,
    )
    return form, figures


def _cells(values: list[str]) -> SafeString:
    """A row's number cells, joined here rather than by a template loop (58 rows × 15 cells)."""
    return format_html_join("", '<td class="num">{}</td>', ((value,) for value in values))


def _shown(value: Any, fmt: str) -> str:
    if value is None:
        return "—"
    if fmt == "%":
        return f"{value * 100:.1f}%"
    return str(value)


def _chart(by_month: list[dict[str, Any]]) -> dict[str, Any]:
    """Bars of received and solved cases per month, as SVG coordinates (no script)."""
    months = by_month[-CHART_MONTHS:]
    top = max((row["received"] for row in months), default=0) or 1
    width = 12
    bars = [
        {
            "month": row["month"],
            "x": index * (width + 4),
            "received": row["received"],
            "solved": row["solved"],
            "h_received": round(row["received"] / top * 100, 1),
            "h_solved": round(row["solved"] / top * 100, 1),
            "y_received": round(105 - row["received"] / top * 100, 1),
            "y_solved": round(105 - row["solved"] / top * 100, 1),
        }
        for index, row in enumerate(months)
    ]
    return {"bars": bars, "width": max(1, len(bars)) * (width + 4), "bar": width, "top": top}


@login_required
@require_GET
def stats_page(request: HttpRequest) -> HttpResponse:
    form, figures = _figures(request, recent_months=CHART_MONTHS)
    context: dict[str, Any] = {"form": form, "figures": figures, "query": request.GET.urlencode()}
    if figures is not None:
        context |= {
            "headline": [(label, _shown(figures[key], fmt)) for key, label, fmt in COUNTS],
            "stages": [(label, figures[key]) for key, label in STAGES],
            "merits": [(MERIT_LABELS[m], figures["by_merit"][m], figures["solved_by_merit"][m]) for m in stats.MERITS],
            "columns": [label for _key, label, _fmt in COUNTS],
            "categories": [
                {"name": row["name"], "cells": _cells([_shown(row[key], fmt) for key, _label, fmt in COUNTS])}
                for row in figures["by_category"]
            ],
            "communities": [
                {
                    "name": row["name"],
                    "street": row["street"],
                    "zero": row["community"] in figures["zero_petition_since"],
                    "since": figures["zero_petition_since"].get(row["community"]),
                    "cells": _cells([_shown(row[key], fmt) for key, _label, fmt in COUNTS]),
                }
                for row in figures["by_community"]
            ],
            "chart": _chart(figures["by_month"]),
        }
    return render(request, "cases/stats.html", context, status=400 if figures is None else 200)


def _sheet_rows(figures: dict[str, Any]) -> dict[str, list[list[Any]]]:
    keys = [key for key, _label, _fmt in COUNTS]
    labels = [str(label) for _key, label, _fmt in COUNTS]
    summary = [[_("项目"), _("数值")]] + [[str(label), figures[key]] for key, label, _fmt in COUNTS]
    summary += [[str(label), figures[key]] for key, label in STAGES]
    summary += [[_("定性：%(merit)s") % {"merit": MERIT_LABELS[m]}, figures["by_merit"][m]] for m in stats.MERITS]
    summary += [
        [_("定性为%(merit)s且已解决") % {"merit": MERIT_LABELS[m]}, figures["solved_by_merit"][m]] for m in stats.MERITS
    ]
    return {
        _("概况"): summary,
        _("按类别"): [[_("类别"), *labels]]
        + [[_cell(row["name"]), *(row[key] for key in keys)] for row in figures["by_category"]],
        _("按社区"): [[_("街道"), _("社区"), _("零信访天数"), *labels]]
        + [
            [
                _cell(row["street"]),
                _cell(row["name"]),
                (figures["zero_petition_since"].get(row["community"]) or {}).get("days"),
                *(row[key] for key in keys),
            ]
            for row in figures["by_community"]
        ],
        _("按月"): [[_("月份"), _("登记"), _("受理"), _("办结"), _("已解决")]]
        + [[r["month"], r["received"], r["accepted"], r["closed"], r["solved"]] for r in figures["by_month"]],
    }


def workbook(figures: dict[str, Any]) -> bytes:
    """The figures as an XLSX file: one sheet each for the summary, categories, communities and
    months. Names pass through ``_cell`` so nothing in them is read as a formula."""
    book = Workbook()
    book.remove(book.active)
    for title, rows in _sheet_rows(figures).items():
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(row)
        for cell in sheet[1]:
            cell.font = Font(bold=True)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


@login_required
@require_GET
def stats_export(request: HttpRequest) -> HttpResponse:
    """The page's figures as XLSX; the export is audited before the file is sent."""
    form, figures = _figures(request)
    if figures is None:
        return render(request, "cases/stats.html", {"form": form, "figures": None}, status=400)
    with transaction.atomic():
        audit(
            actor=request.user,
            action=Action.EXPORT,
            object_type="cases.case",
            summary=_("导出案件统计"),
            detail={"area": figures["area"], "from": figures["from"], "to": figures["to"], "format": "xlsx"},
        )
    response = HttpResponse(workbook(figures), content_type=XLSX)
    stamp = timezone.localtime().strftime("%Y%m%d")
    response["Content-Disposition"] = f'attachment; filename="case-stats-{stamp}.xlsx"'
    return response
