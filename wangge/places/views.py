"""Pages of units and key places: the places a grid worker must inspect or chase (a phone
list), a place with its inspections, rectifications and the form to record an inspection, and
the units of the worker's areas."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from wangge.accounts import policy
from wangge.places import actions, exchange, queries
from wangge.places.importing import import_units
from wangge.places.models import Place
from wangge.registry.importing import report as reports
from wangge.registry.importing.limits import ImportFileError, Limits
from wangge.registry.models import HazardLevel
from wangge.registry.room_views import DateInput


class InspectionForm(forms.Form):
    date = forms.DateField(label=gettext_lazy("检查日期"), widget=DateInput())
    hazard_level = forms.ChoiceField(label=gettext_lazy("隐患等级"), choices=())
    findings = forms.CharField(label=gettext_lazy("检查情况"), required=False, widget=forms.Textarea(attrs={"rows": 3}))
    rectify = forms.CharField(
        label=gettext_lazy("整改要求"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )
    deadline = forms.DateField(label=gettext_lazy("整改期限"), widget=DateInput(), required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["hazard_level"].choices = [  # type: ignore[attr-defined]
            (code, name) for code, name in HazardLevel.objects.values_list("code", "name")
        ]


class DoneForm(forms.Form):
    date = forms.DateField(label=gettext_lazy("整改完成日期"), widget=DateInput())
    note = forms.CharField(label=gettext_lazy("整改情况"), required=False, max_length=500)


def _done_prefix(pk: int) -> str:
    return f"r{pk}"  # one form per rectification on the page: ids stay unique


def _done_form(rectification: Any, posted: forms.Form | None, today: Any) -> forms.Form:
    if posted is not None and posted.prefix == _done_prefix(rectification.pk):
        return posted
    return DoneForm(prefix=_done_prefix(rectification.pk), initial={"date": today})


def _require_registry(user: Any) -> None:
    if not policy.can_view_registry(user) or policy.sees_only_wards(user):
        raise Http404


@login_required
def places(request: HttpRequest) -> HttpResponse:
    """Places in the user's areas with an inspection due within two weeks or a rectification overdue."""
    user: Any = request.user
    _require_registry(user)
    today = timezone.localdate()
    rows = [(p, queries.place_flags(p, today=today)) for p in queries.places_needing_attention(user, today=today)[:300]]
    context = {
        "rows": rows,
        "today": today,
        "total": queries.places_visible_to(user).count(),
        "overdue": queries.rectifications_overdue(user, today=today).count(),
    }
    return render(request, "places/places.html", context)


def _place_page(request: HttpRequest, place: Place, status: int = 200, **forms_: forms.Form) -> HttpResponse:
    user: Any = request.user
    today = timezone.localdate()
    rectifications = list(queries.rectifications_of(place)[:50])
    context = {
        "place": place,
        "flags": queries.place_flags(place, today=today),
        "inspections": list(queries.inspections_of(place)[:50]),
        "rectifications": [(r, _done_form(r, forms_.get("done_form"), today)) for r in rectifications],
        "today": today,
        "can_edit": policy.can_edit_registry(user),
        "can_escalate": policy.can_take_cases(user),
        "inspection_form": forms_.get("inspection_form")
        or InspectionForm(initial={"date": today, "hazard_level": place.hazard_level_id}),
        "open_form": next(iter(forms_), ""),
    }
    return render(request, "places/place.html", context, status=status)


@login_required
def place(request: HttpRequest, pk: int) -> HttpResponse:
    _require_registry(request.user)
    return _place_page(request, queries.get_place(request.user, pk))


def _add_errors(form: forms.Form, exc: ValidationError) -> None:
    for field, errors in exc.message_dict.items():
        form.add_error(field if field in form.fields else None, errors)


@login_required
@require_POST
def inspect(request: HttpRequest, pk: int) -> HttpResponse:
    user: Any = request.user
    target = queries.get_place(user, pk)
    if not policy.can_edit_registry(user):
        raise Http404
    form = InspectionForm(request.POST)
    if form.is_valid():
        try:
            actions.place_inspect(by=user, place=target, **form.cleaned_data)
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, _("已记录检查"))
            return redirect("places:place", pk=target.pk)
    return _place_page(request, target, status=400, inspection_form=form)


@login_required
@require_POST
def rectification_done(request: HttpRequest, pk: int) -> HttpResponse:
    user: Any = request.user
    target = queries.get_rectification(user, pk)
    if not policy.can_edit_registry(user):
        raise Http404
    form = DoneForm(request.POST, prefix=_done_prefix(target.pk))
    if form.is_valid():
        try:
            actions.rectification_complete(by=user, rectification=target, **form.cleaned_data)
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, _("已登记整改完成"))
            return redirect("places:place", pk=target.place_id)
    return _place_page(request, queries.get_place(user, target.place_id), status=400, done_form=form)


@login_required
@require_POST
def rectification_escalate(request: HttpRequest, pk: int) -> HttpResponse:
    user: Any = request.user
    target = queries.get_rectification(user, pk)
    try:
        case = actions.rectification_escalate(by=user, rectification=target)
    except PermissionDenied:
        raise Http404 from None
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
        return redirect("places:place", pk=target.place_id)
    messages.success(request, _("已转为案件 %(number)s") % {"number": case.number})
    return redirect("places:place", pk=target.place_id)


@login_required
def units(request: HttpRequest) -> HttpResponse:
    """The units in the user's areas, by name; ``?q=`` narrows by name or credit code."""
    user: Any = request.user
    _require_registry(user)
    found = queries.units_visible_to(user).select_related("kind", "building")
    q = request.GET.get("q", "").strip()
    if q:
        found = found.filter(name__icontains=q) | found.filter(credit_code=q.upper())
    context = {"units": found[:300], "q": q, "total": found.count(), "can_import": policy.can_import(user)}
    return render(request, "places/units.html", context)


@login_required
def unit(request: HttpRequest, pk: int) -> HttpResponse:
    user: Any = request.user
    _require_registry(user)
    found = queries.get_unit(user, pk)
    context = {
        "unit": found,
        "places": list(queries.places_visible_to(user).filter(unit=found).select_related("place_type", "hazard_level")),
        "today": timezone.localdate(),
    }
    return render(request, "places/unit.html", context)


def _xlsx(content: bytes, name: str, count: int | None = None) -> HttpResponse:
    response = HttpResponse(content, content_type=exchange.CONTENT_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    if count is not None:
        response["X-Row-Count"] = str(count)
    return response


@login_required
def units_export(request: HttpRequest) -> HttpResponse:
    """The units in the user's areas as XLSX (phones masked, audited)."""
    count, content = exchange.units_export(by=request.user)
    return _xlsx(content, exchange.filename("export"), count)


@login_required
def units_template(request: HttpRequest) -> HttpResponse:
    _require_registry(request.user)
    return _xlsx(exchange.units_template(), exchange.filename("template"))


class UnitsImportForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("实有单位表文件"),
        help_text=gettext_lazy("Excel（.xlsx）或 CSV：空白模板或导出的表格，填好后上传"),
        widget=forms.ClearableFileInput(attrs={"accept": ".xlsx,.xls,.csv,.txt"}),
    )


SHOWN_PROBLEMS = 50


@login_required
def units_import(request: HttpRequest) -> HttpResponse:
    """Upload a units table: imported at once (a district's units are tens of thousands at most),
    with the summary, the first problems and the per-row report to download."""
    user: Any = request.user
    if not policy.can_import(user):
        raise Http404
    context: dict[str, Any] = {}
    status = 200
    if request.method == "POST":
        form = UnitsImportForm(request.POST, request.FILES)
        status = 400
        if form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                if upload.size > settings.WANGGE_IMPORT_MAX_BYTES:
                    raise Limits.from_settings().too_many_bytes()
                result = import_units(data=upload.read(), file_name=upload.name, by=user)
            except ImportFileError as exc:
                form.add_error("file", str(exc))
                status = exc.status
            else:
                status = 200
                context["result"] = result
                context["shown"] = result.problems[:SHOWN_PROBLEMS]
                if result.problems:
                    context["report"] = reports.store(result, owner_id=user.pk)
    else:
        form = UnitsImportForm()
    context["form"] = form
    return render(request, "places/units_import.html", context, status=status)
