"""Pages of units and key places: the places a grid worker must inspect or chase (a phone
list), a place with its inspections, rectifications and the form to record an inspection, the
units of the worker's areas, and the forms that register and correct a unit or a place at a
building of the user's areas (another building is a 404)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from wangge.accounts import policy
from wangge.areas.models import Building
from wangge.areas.queries import buildings_visible_to, get_building
from wangge.core.paging import page_of, pager_links
from wangge.core.spreadsheet import xlsx_response, xlsx_streaming_response
from wangge.places import actions, exchange, queries
from wangge.places.forms import PlaceForm, UnitForm
from wangge.places.models import Place, Unit
from wangge.registry.models import HazardLevel
from wangge.registry.room_queries import rooms_visible_to
from wangge.registry.room_views import DateInput
from wangge.registry.uploads import import_upload


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
            (level.code, level.label()) for level in HazardLevel.objects.all()
        ]


class DoneForm(forms.Form):
    date = forms.DateField(label=gettext_lazy("整改完成日期"), widget=DateInput())
    note = forms.CharField(label=gettext_lazy("整改情况"), required=False, max_length=500)


PAGE_SIZE = 50  # places needing attention per page


def _done_prefix(pk: int) -> str:
    return f"r{pk}"  # one form per rectification on the page: ids stay unique


def _done_form(rectification: Any, posted: forms.Form | None, today: Any) -> forms.Form:
    if posted is not None and posted.prefix == _done_prefix(rectification.pk):
        return posted
    return DoneForm(prefix=_done_prefix(rectification.pk), initial={"date": today})


def _require_registry(user: Any) -> None:
    if not policy.can_see_registry_lists(user):
        raise Http404


@login_required
def places(request: HttpRequest) -> HttpResponse:
    """Places in the user's areas with an inspection due within two weeks or a rectification overdue."""
    user: Any = request.user
    _require_registry(user)
    today = timezone.localdate()
    # Paged, 50 a page: a district's list was 300 rows (117 KB), up to 362 ms at 520,000 residents.
    page = page_of(queries.places_needing_attention(user, today=today), request.GET.get("page"), size=PAGE_SIZE)
    context = {
        "rows": [(p, queries.place_flags(p, today=today)) for p in page.rows],
        "page": page,
        "links": pager_links(request, page, "page"),
        "today": today,
        "total": queries.places_visible_to(user).count(),
        "overdue": queries.rectifications_overdue(user, today=today).count(),
        "can_edit": policy.can_edit_registry(user),
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
    context = {
        "units": found[:300],
        "q": q,
        "total": found.count(),
        "can_edit": policy.can_edit_registry(user),
        "can_import": policy.can_import(user),
    }
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
        "can_edit": policy.can_edit_registry(user),
    }
    return render(request, "places/unit.html", context)


@login_required
def units_export(request: HttpRequest) -> StreamingHttpResponse:
    """The units in the user's areas as XLSX (phones masked, audited)."""
    count, chunks = exchange.units_export(by=request.user)
    return xlsx_streaming_response(chunks, exchange.filename("export"), count)


@login_required
def units_template(request: HttpRequest) -> HttpResponse:
    _require_registry(request.user)
    return xlsx_response(exchange.units_template(), exchange.filename("template"))


@login_required
def places_export(request: HttpRequest) -> StreamingHttpResponse:
    """The key places in the user's areas as XLSX (phones masked, audited)."""
    count, chunks = exchange.places_export(by=request.user)
    return xlsx_streaming_response(chunks, exchange.filename("export", "places"), count)


@login_required
def places_template(request: HttpRequest) -> HttpResponse:
    _require_registry(request.user)
    return xlsx_response(exchange.places_template(), exchange.filename("template", "places"))


@login_required
def places_import(request: HttpRequest) -> HttpResponse:
    """Upload a filled-in key-places register: new places registered, the per-row report shown."""
    user: Any = request.user
    if not (policy.can_import(user) and policy.can_edit_registry(user)):
        raise Http404
    upload = import_upload(request, lambda data, name: actions.places_import(by=user, data=data, file_name=name))
    return render(request, "places/import.html", {"form": upload.form, **upload.context}, status=upload.status)


# --- registering and correcting units and places ----------------------------------------------

#: buildings offered at once on the page that asks where a new unit or place is
PICK_LIMIT = 50


def _require_editor(user: Any) -> None:
    if not policy.can_edit_registry(user):
        raise Http404


def _pick_building(request: HttpRequest, kind: str) -> HttpResponse:
    """Where is it? The buildings of the user's areas, narrowed by ``?q=`` (name or address)."""
    found = buildings_visible_to(request.user).select_related("grid", "community")
    q = request.GET.get("q", "").strip()[:60]
    if q:
        found = found.filter(name__icontains=q) | found.filter(address__icontains=q)
    context = {"kind": kind, "q": q, "buildings": found.order_by("name", "id")[:PICK_LIMIT], "limit": PICK_LIMIT}
    return render(request, "places/pick_building.html", context)


def _rooms(user: Any, building: Building) -> Any:
    return rooms_visible_to(user).filter(building=building).select_related("building")


def _units_at(user: Any, building: Building) -> Any:
    return queries.units_visible_to(user).filter(building=building)


def _posted(request: HttpRequest) -> Any:
    return request.POST if request.method == "POST" else None


def _edit_page(request: HttpRequest, template: str, form: forms.Form, status: int, **context: Any) -> HttpResponse:
    return render(request, template, {"form": form, **context}, status=status)


@login_required
def unit_new(request: HttpRequest) -> HttpResponse:
    """Register a unit: first the building (``?building=``), then the form."""
    user: Any = request.user
    _require_editor(user)
    if not request.GET.get("building"):
        return _pick_building(request, "unit")
    building = get_building(user, request.GET["building"])
    rooms = _rooms(user, building)
    form = UnitForm(_posted(request), rooms=rooms)
    if request.method == "POST" and form.is_valid():
        try:
            created = actions.unit_register(by=user, building=building, **form.cleaned_data)
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, _("已登记单位 %(name)s") % {"name": created.name})
            return redirect("places:unit", pk=created.pk)
    status = 400 if request.method == "POST" else 200
    return _edit_page(request, "places/unit_form.html", form, status, building=building, unit=None)


@login_required
def unit_edit(request: HttpRequest, pk: int) -> HttpResponse:
    user: Any = request.user
    _require_registry(user)
    target = queries.get_unit(user, pk)
    _require_editor(user)
    rooms = _rooms(user, target.building)
    form = UnitForm(_posted(request), rooms=rooms, initial=UnitForm.initial_for(target))
    if request.method == "POST" and form.is_valid():
        try:
            actions.unit_update(by=user, unit=target, building=target.building, **form.cleaned_data)
        except ValidationError as exc:
            target.refresh_from_db()  # the page shows the record as stored, the form what was typed
            _add_errors(form, exc)
        else:
            messages.success(request, _("已保存"))
            return redirect("places:unit", pk=target.pk)
    status = 400 if request.method == "POST" else 200
    return _edit_page(request, "places/unit_form.html", form, status, building=target.building, unit=target)


@login_required
def place_new(request: HttpRequest) -> HttpResponse:
    """Register a key place: at a building (``?building=``) or a unit's (``?unit=``)."""
    user: Any = request.user
    _require_editor(user)
    owner: Unit | None = None
    if request.GET.get("unit"):
        owner = queries.get_unit(user, request.GET["unit"])
        building = owner.building
    elif request.GET.get("building"):
        building = get_building(user, request.GET["building"])
    else:
        return _pick_building(request, "place")
    form = PlaceForm(
        _posted(request),
        rooms=_rooms(user, building),
        units=_units_at(user, building),
        initial={"unit": owner.pk if owner else "", "room": owner.room_id if owner and owner.room_id else ""},
    )
    if request.method == "POST" and form.is_valid():
        try:
            created = actions.place_register(by=user, building=building, **form.cleaned_data)
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, _("已登记重点场所 %(name)s") % {"name": created.name})
            return redirect("places:place", pk=created.pk)
    status = 400 if request.method == "POST" else 200
    return _edit_page(request, "places/place_form.html", form, status, building=building, place=None, owner=owner)


@login_required
def place_edit(request: HttpRequest, pk: int) -> HttpResponse:
    user: Any = request.user
    _require_registry(user)
    target = queries.get_place(user, pk)
    _require_editor(user)
    form = PlaceForm(
        _posted(request),
        rooms=_rooms(user, target.building),
        units=_units_at(user, target.building),
        initial=PlaceForm.initial_for(target),
    )
    if request.method == "POST" and form.is_valid():
        try:
            actions.place_update(by=user, place=target, building=target.building, **form.cleaned_data)
        except ValidationError as exc:
            target.refresh_from_db()
            _add_errors(form, exc)
        else:
            messages.success(request, _("已保存"))
            return redirect("places:place", pk=target.pk)
    status = 400 if request.method == "POST" else 200
    return _edit_page(request, "places/place_form.html", form, status, building=target.building, place=target)
