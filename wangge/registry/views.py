"""Household and resident pages, and the life-event and care-tag forms on them.

Reads go through ``wangge.registry.queries`` (out of scope = 404); writes go through
``wangge.registry.actions``. A full view of a resident (ID number, phone, care categories) is
written to the audit log in the same transaction as the read.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from wangge.accounts import policy
from wangge.areas.models import Area
from wangge.core import confirm, documents
from wangge.core.idnumbers import InvalidIDNumber, parse
from wangge.registry import actions, room_queries, summary
from wangge.registry.event_forms import (
    FIELDS_OF,
    CareTagForm,
    DeathForm,
    MarriageForm,
    MoveInExistingForm,
    MoveOutForm,
    PopulationForm,
    ResidentRegisterForm,
    care_label,
)
from wangge.registry.models import NATIONAL_ID, REGISTERED, CareCategory, Household, LifeEvent, Resident
from wangge.registry.queries import get_household, get_resident, resident_seen_in_full, residents_visible_to


def _crumbs(user: Any, household: Household | None) -> list[dict[str, Any]]:
    if household is None:
        return []
    from django.urls import reverse

    grid: Area | None = household.grid
    crumbs: list[dict[str, Any]] = []
    if not policy.sees_only_wards(user) and grid is not None:
        for area in [*summary.ancestors(user, grid), grid]:
            crumbs.append({"name": area.name, "url": reverse("registry:area", args=[area.pk])})
        crumbs.append(
            {"name": household.building.name, "url": reverse("registry:building", args=[household.building_id])}
        )
    return crumbs


def _by_id_number(user: Any, raw: str) -> Resident | None:
    """A resident in the user's scope by ID number (normalised, so 15-digit and lower-case x work)."""
    try:
        number = parse(raw).number
    except InvalidIDNumber:
        number = documents.normalise(raw)  # another document's number, as stored
    return residents_visible_to(user).filter(id_number=number).first()


def _add_errors(form: forms.Form, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


# ---------------------------------------------------------------------------------------------
# household


def _running_rentals(user: Any, household: Household) -> list[Any]:
    if household.dwelling_id is None or policy.sees_only_wards(user):
        return []
    today = timezone.localdate()
    return list(room_queries.current_rentals(user, today=today).filter(room_id=household.dwelling_id))


def _household_page(
    request: HttpRequest, household: Household, status: int = 200, **forms_: forms.Form
) -> HttpResponse:
    user: Any = request.user
    members = list(residents_visible_to(user).filter(household=household).order_by("birth_date", "id"))
    context = {
        "household": household,
        # A guardian sees only their ward, not who heads the household.
        "head": next((m for m in members if m.pk == household.head_id), None),
        "crumbs": _crumbs(user, household),
        "living": [m for m in members if m.status == Resident.Status.LIVING],
        "former": [m for m in members if m.status != Resident.Status.LIVING],
        "can_edit": policy.can_edit_registry(user),
        # The room and its leases are the grid's business, not a guardian's.
        "show_room": not policy.sees_only_wards(user),
        "rentals": _running_rentals(user, household),
        "register_form": forms_.get("register_form") or ResidentRegisterForm(),
        "move_in_form": forms_.get("move_in_form") or MoveInExistingForm(),
        "open_form": next(iter(forms_), ""),
    }
    return render(request, "registry/household.html", context, status=status)


@login_required
def household(request: HttpRequest, pk: int) -> HttpResponse:
    return _household_page(request, get_household(request.user, pk))


def _person(data: dict[str, Any]) -> dict[str, Any]:
    return {
        "document_type": data["document_type"] or NATIONAL_ID,
        "population_type": data["population_type"] or REGISTERED,
        "sex": data["sex"],
        "birth_date": data["birth_date"],
        "separation": data["separation"],
    }


@login_required
@require_POST
def household_register(request: HttpRequest, pk: int) -> HttpResponse:
    user: Any = request.user
    target = get_household(user, pk)
    if not policy.can_edit_registry(user):
        raise Http404
    form = ResidentRegisterForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            if data["kind"] == LifeEvent.Kind.BIRTH:
                resident = actions.resident_register(
                    by=user,
                    household=target,
                    name=data["name"],
                    id_number=data["id_number"],
                    phone=data["phone"],
                    relationship=data["relationship"],
                    event=LifeEvent.Kind.BIRTH,
                    **_person(data),
                )
            else:
                resident = actions.resident_register(
                    by=user,
                    household=target,
                    name=data["name"],
                    id_number=data["id_number"],
                    phone=data["phone"],
                    relationship=data["relationship"],
                    event=LifeEvent.Kind.MOVE_IN,
                    date=data["date"],
                    **_person(data),
                )
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, _("已登记 %(name)s") % {"name": resident.name})
            return redirect("registry:household", pk=target.pk)
    return _household_page(request, target, status=400, register_form=form)


@login_required
@require_POST
def household_move_in(request: HttpRequest, pk: int) -> HttpResponse:
    user: Any = request.user
    target = get_household(user, pk)
    if not policy.can_edit_registry(user):
        raise Http404
    form = MoveInExistingForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        resident = _by_id_number(user, data["id_number"])
        if resident is None:
            form.add_error("id_number", _("您的辖区内没有登记这个身份号码；新居民请用“登记新居民”。"))
        elif resident.household_id == target.pk and resident.status == Resident.Status.LIVING:
            form.add_error("id_number", _("%(name)s 已经住在这一户") % {"name": resident.name})
        else:
            try:
                actions.resident_move_in(
                    by=user, resident=resident, household=target, date=data["date"], relationship=data["relationship"]
                )
            except ValidationError as exc:
                _add_errors(form, exc)
            else:
                messages.success(request, _("%(name)s 已迁入") % {"name": resident.name})
                return redirect("registry:household", pk=target.pk)
    return _household_page(request, target, status=400, move_in_form=form)


# ---------------------------------------------------------------------------------------------
# resident

EVENT_FORMS: dict[str, type[forms.Form]] = {
    "move_out": MoveOutForm,
    "death": DeathForm,
    "marriage": MarriageForm,
}


def _resident_page(
    request: HttpRequest, resident: Resident, status: int = 200, bound: dict[str, forms.Form] | None = None
) -> HttpResponse:
    user: Any = request.user
    full = policy.sees_full_detail(user)  # audited below, with the page
    bound = bound or {}
    context: dict[str, Any] = {
        "resident": resident,
        "household": resident.household,
        "crumbs": _crumbs(user, resident.household),
        "full": full,
        "can_edit": policy.can_edit_registry(user),
        "events": resident.events.select_related("household__building", "recorded_by"),
        "care_tags": resident.care_tags.select_related("category", "recorded_by") if full else [],
        "guardians": resident.guardianships.select_related("guardian") if full else [],
        "forms": {name: bound.get(name) or cls() for name, cls in EVENT_FORMS.items()},
        "care_form": bound.get("care") or CareTagForm(),
        "population_form": bound.get("population") or PopulationForm.for_resident(resident),
        "floating": getattr(resident, "floating", None),
        "foreign": getattr(resident, "foreign", None),
        "open_form": next(iter(bound), ""),
        "is_living": resident.status == Resident.Status.LIVING,
        "is_deceased": resident.status == Resident.Status.DECEASED,
    }
    with transaction.atomic():
        resident_seen_in_full(user, resident)
        # Rendered inside the transaction: if the audit entry cannot be written, nothing is shown.
        return render(request, "registry/resident.html", context, status=status)


@login_required
def resident(request: HttpRequest, pk: int) -> HttpResponse:
    return _resident_page(request, get_resident(request.user, pk))


@login_required
@require_POST
def resident_event(request: HttpRequest, pk: int, kind: str) -> HttpResponse:
    user: Any = request.user
    person = get_resident(user, pk)
    if not policy.can_edit_registry(user) or kind not in EVENT_FORMS:
        raise Http404
    form = EVENT_FORMS[kind](request.POST)
    if form.is_valid():
        data = form.cleaned_data
        if kind in IRREVERSIBLE_EVENTS and not confirm.confirmed(request):
            return _confirm_event(request, person, kind, data)
        try:
            if kind == "move_out":
                actions.resident_move_out(by=user, resident=person, date=data["date"], destination=data["destination"])
                done = _("已登记 %(name)s 迁出")
            elif kind == "death":
                actions.resident_die(by=user, resident=person, date=data["date"])
                done = _("已登记 %(name)s 死亡")
            else:
                spouse = None
                if data["spouse_id_number"]:
                    spouse = _by_id_number(user, data["spouse_id_number"])
                    if spouse is None:
                        raise ValidationError({"spouse_id_number": _("您的辖区内没有登记这个身份号码")})
                actions.resident_marry(
                    by=user, resident=person, date=data["date"], spouse=spouse, spouse_name=data["spouse_name"]
                )
                done = _("已登记 %(name)s 结婚")
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, done % {"name": person.name})
            return redirect("registry:resident", pk=person.pk)
    return _resident_page(request, person, status=400, bound={kind: form})


# Life events that take a person out of their household: asked before they are recorded.
IRREVERSIBLE_EVENTS = {"move_out", "death"}


def _confirm_event(request: HttpRequest, person: Resident, kind: str, data: dict[str, Any]) -> HttpResponse:
    household = person.household
    date = data["date"].isoformat()
    if kind == "move_out":
        title = _("确认登记 %(name)s 迁出？") % {"name": person.name}
        button = _("确认迁出")
        lines = [
            _("%(name)s 于 %(date)s 迁出%(destination)s，状态改为“已迁出”")
            % {
                "name": person.name,
                "date": date,
                "destination": (_("，迁往%(place)s") % {"place": data["destination"]}) if data["destination"] else "",
            }
        ]
    else:
        title = _("确认登记 %(name)s 死亡？") % {"name": person.name}
        button = _("确认登记死亡")
        lines = [_("%(name)s 于 %(date)s 死亡，状态改为“已死亡”") % {"name": person.name, "date": date}]
    if household is not None:
        lines.append(_("不再计入住户 %(address)s 的在住人口") % {"address": household.address})
        if household.head_id == person.pk:
            lines.append(_("该住户将没有户主，请另行指定"))
    if kind == "death":
        lines.append(_("登记后无法撤销"))
    return confirm.ask(
        request,
        title=title,
        consequences=lines,
        button=button,
        cancel_url=reverse("registry:resident", args=[person.pk]),
    )


@login_required
@require_POST
def resident_population(request: HttpRequest, pk: int) -> HttpResponse:
    user: Any = request.user
    person = get_resident(user, pk)
    if not policy.can_edit_registry(user):
        raise Http404
    form = PopulationForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        code = data["population_type"]
        try:
            actions.resident_population_set(
                by=user,
                resident=person,
                population_type=code,
                separation=data["separation"],
                # The details of the chosen kind only; those of another kind are kept as they are.
                floating={f: data[f] for f in FIELDS_OF["floating"]} if code == "floating" else None,
                foreign={f: data[f] for f in FIELDS_OF["foreign"]} if code == "foreign" else None,
            )
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, _("已保存 %(name)s 的人口类型") % {"name": person.name})
            return redirect("registry:resident", pk=person.pk)
    return _resident_page(request, person, status=400, bound={"population": form})


@login_required
@require_POST
def care_tag_add(request: HttpRequest, pk: int) -> HttpResponse:
    user: Any = request.user
    person = get_resident(user, pk)
    if not policy.can_edit_care(user):
        raise Http404
    form = CareTagForm(request.POST)
    if not form.is_valid():
        return _resident_page(request, person, status=400, bound={"care": form})
    actions.care_tag_add(
        by=user, resident=person, category=form.cleaned_data["category"], note=form.cleaned_data["note"]
    )
    messages.success(request, _("已登记人员类别"))
    return redirect("registry:resident", pk=person.pk)


@login_required
@require_POST
def care_tag_remove(request: HttpRequest, pk: int, code: str) -> HttpResponse:
    user: Any = request.user
    person = get_resident(user, pk)
    if not policy.can_edit_care(user):
        raise Http404
    category = CareCategory.objects.filter(code=code).first()
    if category is None:
        raise Http404
    if not confirm.confirmed(request):
        label = care_label(category)
        return confirm.ask(
            request,
            title=_("确定取消 %(name)s 的人员类别“%(category)s”？") % {"name": person.name, "category": label},
            consequences=[_("%(name)s 不再列入“%(category)s”名单与统计") % {"name": person.name, "category": label}],
            button=_("确认取消"),
            cancel_url=reverse("registry:resident", args=[person.pk]) + "#care",
        )
    actions.care_tag_remove(by=user, resident=person, category=category)
    messages.success(request, _("已取消人员类别"))
    return redirect("registry:resident", pk=person.pk)
