"""The case pages: reception-desk and field intake, the lists, and a case with its clock,
timeline and next steps. Thin: parse, call a query or an action, render."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from wangge.accounts import policy
from wangge.areas.models import Area
from wangge.areas.queries import areas_within
from wangge.cases import actions, queries
from wangge.cases.forms import STEP_FORMS, IntakeForm, next_steps
from wangge.cases.models import Case, CrossLevelMark, RepeatMark

TABS = {
    "mine": gettext_lazy("我的"),
    "due": gettext_lazy("即将到期"),
    "overdue": gettext_lazy("已超期"),
    "needs": gettext_lazy("未解决的需求"),
    "all": gettext_lazy("全部"),
}
PAGE = 50


def _require_cases(user: Any) -> None:
    if not policy.can_view_cases(user):
        raise Http404


def _intake_areas(user: Any) -> Any:
    # Without the outlines: a district's ~900 areas' GeoJSON took longer to load than the page.
    areas = areas_within(user).filter(level__in=(Area.Level.GRID, Area.Level.COMMUNITY))
    return areas.defer("boundary").order_by("level", "name")


def _add_errors(form: Any, exc: ValidationError) -> None:
    for message in exc.messages:
        form.add_error(None, message)


@login_required
def case_list(request: HttpRequest) -> HttpResponse:
    user = request.user
    _require_cases(user)
    tab = request.GET.get("tab", "mine")
    if tab not in TABS:
        tab = "mine"
    source = {
        "mine": queries.mine,
        "due": queries.due_soon,
        "overdue": queries.overdue,
        "needs": queries.needs,
        "all": queries.cases_visible_to,
    }[tab]
    now = timezone.now()
    cases = list(
        source(user).select_related("category", "community", "lead_department").order_by("-received_at")[:PAGE]
    )
    rows = [{"case": case, "clock": queries.clock_of(case, now=now)} for case in cases]
    context = {"tab": tab, "tabs": TABS, "rows": rows, "can_take": policy.can_take_cases(user)}
    return render(request, "cases/list.html", context)


@login_required
def intake(request: HttpRequest) -> HttpResponse:
    """The reception desk. Registered petitioners are picked from the search, one or several
    (集体访: ``?resident=`` repeated); a cross-level petition is marked as it is received."""
    from wangge.cases import repeats
    from wangge.cases.flow_views import _picked, picker_context

    user = request.user
    if not policy.can_take_cases(user):
        raise Http404
    picked = _picked(request)
    can_mark = policy.can_decide_cases(user)
    form = IntakeForm(request.POST or None, areas=_intake_areas(user), can_mark=can_mark)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            with transaction.atomic():
                case = actions.case_receive(
                    by=user,
                    category=data["category"],
                    text=data["text"],
                    channel=data["channel"],
                    petitioners=picked,
                    contact_name=data["contact_name"],
                    contact_phone=data["contact_phone"],
                    collective_count=max(data["collective_count"], len(picked)),
                    area=data["area"],
                    new_facts=data["new_facts"],
                )
                if data.get("cross_level"):
                    repeats.cross_level_mark(case=case, by=user, level=data["cross_level_to"])
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, _("已登记案件 %(number)s") % {"number": case.number})
            return redirect("cases:detail", pk=case.pk)
    context = picker_context(request, picked) | {"form": form, "title": _("接访登记"), "field": False}
    return render(request, "cases/intake.html", context, status=400 if request.method == "POST" else 200)


def _detail_context(request: HttpRequest, case: Case, forms: dict[str, Any] | None = None) -> dict[str, Any]:
    user = request.user
    from wangge.cases.flow_views import detail_extras  # it builds on this module

    steps = next_steps(user, case)
    forms = forms or {}
    return {
        "case": case,
        "clock": queries.clock_of(case),
        "timeline": case.steps.select_related("by"),
        "petitioners": case.petitioners.all(),
        "co_departments": case.co_departments.all(),
        "repeat_mark": RepeatMark.objects.filter(case=case).select_related("earlier").first(),
        "cross_level_mark": CrossLevelMark.objects.filter(case=case).first(),
        "step_forms": [
            {"name": name, "label": STEP_FORMS[name][1], "form": forms.get(name) or STEP_FORMS[name][0]()}
            for name in steps
        ],
    } | detail_extras(request, case)


@login_required
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    _require_cases(user)
    with transaction.atomic():
        case = queries.get_case(user, pk)
        queries.case_read(user, case)
        return render(request, "cases/detail.html", _detail_context(request, case))


def _run_step(name: str, *, case: Case, by: Any, data: dict[str, Any]) -> Case:
    if name == "accept":
        return actions.case_accept(case=case, by=by, accept=data["decision"] == "accept", note=data["note"])
    if name == "visit":
        return actions.visit_record(
            case=case,
            by=by,
            met=data["met"],
            found=data["found"],
            lon=data.get("lon"),
            lat=data.get("lat"),
            photos=data.get("photos", ()),
        )
    if name == "exempt":
        return actions.visit_exempt(case=case, by=by, reason=data["reason"])
    if name == "assign":
        return actions.case_assign(
            case=case, by=by, department=data["department"], co_departments=data["co_departments"], note=data["note"]
        )
    if name == "transfer":
        return actions.case_transfer(case=case, by=by, department=data["department"], reason=data["reason"])
    if name == "extend":
        return actions.case_extend(case=case, by=by, days=data["days"], reason=data["reason"])
    if name == "reply":
        return actions.reply_write(case=case, by=by, text=data["text"])
    if name == "merit":
        return actions.merit_decide(case=case, by=by, merit=data["merit"], note=data["note"])
    if name == "resolution":
        return actions.resolution_record(
            case=case,
            by=by,
            resolution=data["resolution"],
            done=data["done"],
            done_by=data["done_by"],
            cost_yuan=data["cost_yuan"],
        )
    if name == "verify":
        return actions.case_verify(case=case, by=by, note=data["note"])
    if name == "satisfaction":
        return actions.satisfaction_record(
            case=case,
            by=by,
            satisfaction=data["satisfaction"],
            note=data["note"],
            want_review=data.get("want_review", False),
        )
    if name == "close":
        return actions.case_close(case=case, by=by, note=data["note"])
    raise Http404


@login_required
@require_POST
def step(request: HttpRequest, pk: int, name: str) -> HttpResponse:
    """One next step posted from the case page; a refusal re-renders the page with the reason."""
    user = request.user
    _require_cases(user)
    case = queries.get_case(user, pk)
    if name not in STEP_FORMS:
        raise Http404
    form = STEP_FORMS[name][0](request.POST)
    if form.is_valid():
        try:
            data = form.cleaned_data
            if name == "visit":  # optional photos and the phone's position
                from wangge.cases.flow_views import visit_extras

                data = data | visit_extras(request)
            _run_step(name, case=case, by=user, data=data)
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, _("已保存：%(step)s") % {"step": STEP_FORMS[name][1]})
            return redirect("cases:detail", pk=case.pk)
    with transaction.atomic():
        queries.case_read(user, case)
        context = _detail_context(request, case, {name: form})
        context["failed"] = name
        return render(request, "cases/detail.html", context, status=400)
