"""Pages of rooms and rentals: the building plan, the rentals needing attention, one rental.

Reads go through ``wangge.registry.room_queries`` (out of scope = 404); writes go through
``wangge.registry.room_actions``.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import prefetch_related_objects
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from wangge.accounts import policy
from wangge.areas.queries import get_building
from wangge.core import confirm, idnumbers
from wangge.core.paging import page_of, pager_links
from wangge.core.spreadsheet import xlsx_response, xlsx_streaming_response
from wangge.registry import room_actions, room_export, room_queries, summary
from wangge.registry.event_forms import TenantRegisterForm
from wangge.registry.models import HazardLevel, Resident, RoomUse
from wangge.registry.queries import get_resident, resident_by_document
from wangge.registry.search import search_residents
from wangge.registry.uploads import ACCEPTED, import_upload

#: rentals per page, in each of the page's two lists
PAGE_SIZE = 50
#: residents offered by the rental page's tenant search
TENANT_HITS = 10


def _hazard_choices() -> list[tuple[str, str]]:
    return [(level.code, level.label()) for level in HazardLevel.objects.all()]


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self) -> None:
        super().__init__(format="%Y-%m-%d")  # <input type="date"> takes only yyyy-mm-dd


class InspectionForm(forms.Form):
    date = forms.DateField(label=gettext_lazy("检查日期"), widget=DateInput())
    hazard_level = forms.ChoiceField(label=gettext_lazy("隐患等级"), choices=())
    findings = forms.CharField(label=gettext_lazy("检查情况"), required=False, widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["hazard_level"].choices = _hazard_choices()  # type: ignore[attr-defined]


class EndForm(forms.Form):
    date = forms.DateField(label=gettext_lazy("退租日期"), widget=DateInput())


def _require_registry(user: Any) -> None:
    if not policy.can_view_registry(user) or policy.sees_only_wards(user):
        raise Http404


def _building_wanted(request: HttpRequest) -> Any:
    wanted = request.GET.get("building", "")
    return get_building(request.user, wanted) if wanted else None


@login_required
def rentals(request: HttpRequest) -> HttpResponse:
    """Running leases in the user's areas: due inspections and expiring leases first, then all."""
    user: Any = request.user
    _require_registry(user)
    today = timezone.localdate()
    building = _building_wanted(request)
    attention = room_queries.rentals_needing_attention(user, today=today)
    running = room_queries.rentals_not_needing_attention(user, today=today)
    if building is not None:
        attention = attention.filter(room__building=building)
        running = running.filter(room__building=building)
    # Both lists are paged: a district's street officer was sent ~700 rows (330-460 ms) at 520,000
    # residents, and the whole list is in the export.
    related = ("room__building", "hazard_level")
    attention_page = page_of(attention.select_related(*related), request.GET.get("page"), size=PAGE_SIZE)
    others_page = page_of(running.select_related(*related), request.GET.get("others"), size=PAGE_SIZE)
    context = {
        "attention": [(r, room_queries.rental_flags(r, today=today)) for r in attention_page.rows],
        "attention_page": attention_page,
        "others": others_page.rows,
        "others_page": others_page,
        "building": building,
        "attention_links": pager_links(request, attention_page, "page"),
        "others_links": pager_links(request, others_page, "others"),
        "today": today,
        "expiring_days": room_queries.EXPIRING_DAYS,
        "can_import": policy.can_import_rentals(user),
    }
    return render(request, "registry/rentals.html", context)


def _tenant_search(request: HttpRequest, tenants: list[Resident]) -> dict[str, Any]:
    """``?find=`` on the rental page: residents the user may see (the registry's search, audited),
    each with whether they are a tenant already; those not living here cannot be added."""
    # Not ``q``: the top bar's search box would show (and re-run on the search page) the query.
    q = request.GET.get("find", "").replace("\x00", "").strip()[:100]
    if not q:
        return {"tenant_q": ""}
    found = search_residents(user=request.user, q=q, limit=TENANT_HITS)
    prefetch_related_objects(found.residents, "population_type")
    current = {t.pk for t in tenants}
    hits = [
        {
            "resident": r,
            "id_number": idnumbers.mask(r.id_number),
            "tenant": r.pk in current,
            "living": r.status == Resident.Status.LIVING,
        }
        for r in found.residents
    ]
    return {"tenant_q": q, "tenant_hits": hits, "tenant_hint": found.query.hint, "tenant_more": found.total > len(hits)}


def _rental_page(request: HttpRequest, rental: Any, status: int = 200, **forms_: forms.Form) -> HttpResponse:
    user: Any = request.user
    today = timezone.localdate()
    can_edit = policy.can_edit_registry(user)
    tenants = room_queries.tenants_visible_to(user, rental)
    # Tenants change until the move-out is recorded: a lease past its end without one is often
    # a family still living there whose extension is not registered yet.
    change_tenants = can_edit and rental.ended is None
    register_form = (forms_.get("register_form") or TenantRegisterForm()) if change_tenants else None
    known = getattr(register_form, "known", None)  # a number typed that someone in scope holds
    context = {
        "rental": rental,
        "room": rental.room,
        "flags": room_queries.rental_flags(rental, today=today),
        "tenants": tenants,
        "change_tenants": change_tenants,
        **(_tenant_search(request, tenants) if change_tenants and request.method == "GET" else {}),
        "inspections": list(room_queries.inspections_of(rental)[:50]),
        "can_edit": can_edit,
        "inspection_form": forms_.get("inspection_form")
        or InspectionForm(initial={"date": today, "hazard_level": rental.hazard_level_id}),
        "end_form": forms_.get("end_form") or EndForm(initial={"date": today}),
        "register_form": register_form,
        "known": known
        and {"resident": known, "tenant": known in tenants, "living": known.status == Resident.Status.LIVING},
        "open_form": next(iter(forms_), ""),
        "running": rental.ended is None and rental.end >= today,
    }
    return render(request, "registry/rental.html", context, status=status)


@login_required
def rental(request: HttpRequest, pk: int) -> HttpResponse:
    _require_registry(request.user)
    return _rental_page(request, room_queries.get_rental(request.user, pk))


def _add_errors(form: forms.Form, exc: ValidationError) -> None:
    for field, errors in exc.message_dict.items():
        form.add_error(field if field in form.fields else None, errors)


def _rental_post(
    request: HttpRequest, pk: int, form_class: type[forms.Form], name: str, write: Any, done: str
) -> HttpResponse:
    """A form posted on the rental page: the action's errors go back onto the form (400)."""
    user: Any = request.user
    target = room_queries.get_rental(user, pk)
    if not policy.can_edit_registry(user):
        raise Http404
    form = form_class(request.POST)
    if form.is_valid():
        try:
            write(by=user, rental=target, **form.cleaned_data)
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, done)
            return redirect("registry:rental", pk=target.pk)
    return _rental_page(request, target, status=400, **{name: form})


@login_required
@require_POST
def rental_inspect(request: HttpRequest, pk: int) -> HttpResponse:
    return _rental_post(request, pk, InspectionForm, "inspection_form", room_actions.rental_inspect, _("已记录检查"))


@login_required
@require_POST
def rental_end(request: HttpRequest, pk: int) -> HttpResponse:
    return _rental_post(request, pk, EndForm, "end_form", room_actions.rental_end, _("已登记退租"))


def _tenant_change(request: HttpRequest, pk: int, *, moving_in: bool) -> HttpResponse:
    """A tenant added or removed from the rental page. The resident is loaded in the user's
    scope, so one outside it is a 404 like an id that does not exist; a removal asks first. A
    refusal (a tenant already, moved out, deceased) comes back as a message on the page."""
    user: Any = request.user
    _require_registry(user)
    target = room_queries.get_rental(user, pk)
    if not policy.can_edit_registry(user):
        raise Http404
    person = get_resident(user, request.POST.get("resident"))
    page = reverse("registry:rental", args=[target.pk])
    if not moving_in and not confirm.confirmed(request):
        names = {"name": person.name, "a": target.room.address}
        return confirm.ask(
            request,
            title=_("确定将 %(name)s 从 %(a)s 的承租人中移除？") % names,
            consequences=[
                _("%(name)s 不再登记为该租约的承租人") % names,
                _("%(name)s 的居民信息不变；如已搬离本区，请在其居民页面登记迁出") % names,
            ],
            button=_("确认移除"),
            cancel_url=f"{page}#tenants",
        )
    change = {"add": [person]} if moving_in else {"remove": [person]}
    try:
        room_actions.rental_tenants_change(by=user, rental=target, **change)
    except ValidationError as exc:
        for message in exc.messages:
            messages.warning(request, message)
        # Back to the top, where the message shows, with the search kept to pick someone else.
        q = request.POST.get("find", "").strip()[:100] if moving_in else ""
        return redirect(f"{page}?{urlencode({'find': q})}" if q else page)
    done = _("已添加承租人 %(name)s") if moving_in else _("已移除承租人 %(name)s")
    messages.success(request, done % {"name": person.name})
    # No fragment: on a phone the top of the page shows the message and the tenants below it.
    return redirect(page)


@login_required
@require_POST
def rental_tenant_add(request: HttpRequest, pk: int) -> HttpResponse:
    return _tenant_change(request, pk, moving_in=True)


@login_required
@require_POST
def rental_tenant_remove(request: HttpRequest, pk: int) -> HttpResponse:
    return _tenant_change(request, pk, moving_in=False)


@login_required
@require_POST
def rental_tenant_register(request: HttpRequest, pk: int) -> HttpResponse:
    """A tenant not yet in the registry registered and added in one go
    (``room_actions.rental_tenant_register``). A number already held by someone in the user's
    scope is not registered again: the page names them and offers to add them instead. One held
    outside the scope gets the registry's own words ("该证件号码已登记") and nothing more, as on
    the household page. Invalid input comes back with what was typed (400)."""
    user: Any = request.user
    _require_registry(user)
    target = room_queries.get_rental(user, pk)
    if not policy.can_edit_registry(user):
        raise Http404
    page = reverse("registry:rental", args=[target.pk])
    form = TenantRegisterForm(request.POST)
    if form.is_valid():
        person = form.person()
        known = form.known = resident_by_document(
            user, document_type=person["document_type"], number=person["id_number"]
        )
        if known is not None:
            form.add_error(
                "id_number",
                _("该证件号码已登记为 %(name)s，不能重复登记；请用“添加承租人”添加。") % {"name": known.name},
            )
        else:
            try:
                tenant = room_actions.rental_tenant_register(by=user, rental=target, **person)
            except ValidationError as exc:
                if "tenants" in exc.message_dict:  # the move-out was recorded: no form to go back to
                    for message in exc.message_dict["tenants"]:
                        messages.warning(request, message)
                    return redirect(page)
                _add_errors(form, exc)
            else:
                messages.success(request, _("已登记居民 %(name)s 并添加为承租人") % {"name": tenant.name})
                # "#top": the browser would keep the form's #register-tenant and scroll past the message.
                return redirect(f"{page}#top")
    return _rental_page(request, target, status=400, register_form=form)


@login_required
def building_plan(request: HttpRequest, pk: int) -> HttpResponse:
    """The building as floors × rooms per entrance: who lives where, which rooms are empty or let."""
    user: Any = request.user
    _require_registry(user)
    node = get_building(user, pk)
    plan = room_queries.building_plan(user, node, today=timezone.localdate())
    grid = node.grid
    context = {
        "building": node,
        "crumbs": [*summary.ancestors(user, grid), grid] if grid else [],
        "plan": plan,
        "rooms": sum(e.rooms for e in plan),
        "empty": sum(e.empty for e in plan),
        "can_import": policy.can_import_rooms(user),
        "can_edit": policy.can_edit_registry(user),
    }
    return render(request, "registry/building_plan.html", context)


class RoomForm(forms.Form):
    """A room's use, floor, area and owner (``room_actions.room_update``'s fields)."""

    use = forms.ChoiceField(label=gettext_lazy("房屋用途"), choices=())
    floor = forms.IntegerField(label=gettext_lazy("楼层"), required=False, min_value=-10, max_value=200)
    area = forms.DecimalField(label=gettext_lazy("建筑面积（平方米）"), required=False, max_digits=8, decimal_places=2)
    owner_name = forms.CharField(
        label=gettext_lazy("产权人姓名"),
        required=False,
        max_length=60,
        help_text=gettext_lazy("产权人不在本区登记时填写"),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["use"].choices = [(u.code, u.label()) for u in RoomUse.objects.all()]  # type: ignore[attr-defined]


@login_required
def room_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Change a room's use, floor, area or owner from its building plan; the action's refusal (a
    use other than 出租 while a lease runs) goes back onto the form with what was typed (400)."""
    user: Any = request.user
    _require_registry(user)
    room = room_queries.get_room_with_owner(user, pk)
    if not policy.can_edit_registry(user):
        raise Http404
    shown = room.owner_shown or ""  # type: ignore[attr-defined]
    initial = {"use": room.use_id, "floor": room.floor, "area": room.area, "owner_name": shown}
    form = RoomForm(request.POST or None, initial=initial)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            # Only what differs: an owner resident stays linked while the name shown is kept.
            changes = {name: value for name, value in form.cleaned_data.items() if value != initial[name]}
            if "owner_name" in changes:
                changes["owner"] = None
            try:
                if changes:
                    room_actions.room_update(by=user, room=room, **changes)
            except ValidationError as exc:
                _add_errors(form, exc)
            else:
                messages.success(request, _("已保存房屋 %(a)s") % {"a": room.address})
                return redirect(f"{reverse('registry:building_plan', args=[room.building_id])}#room-{room.pk}")
    today = timezone.localdate()
    context = {"room": room, "form": form, "lease": room_actions.running_lease(room, today=today)}
    return render(request, "registry/room_edit.html", context, status=status)


@login_required
def rentals_export(request: HttpRequest) -> StreamingHttpResponse:
    """The running leases in the user's areas as XLSX (phones masked, audited)."""
    count, chunks = room_export.rentals_export(by=request.user)
    return xlsx_streaming_response(chunks, room_export.filename("export"), count)


@login_required
def rentals_template(request: HttpRequest) -> HttpResponse:
    _require_registry(request.user)
    return xlsx_response(room_export.rentals_template(), room_export.filename("template"))


class RentalsFileForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("出租房屋表文件"),
        help_text=gettext_lazy("按出租房屋模板（或导出的表格）填写的 Excel（.xlsx）或 CSV；已登记的租约不会重复登记"),
        widget=forms.ClearableFileInput(attrs={"accept": ACCEPTED}),
    )


def _import_page(
    request: HttpRequest, *, allowed: Any, run: Any, form_class: type[forms.Form], template: str
) -> HttpResponse:
    """Upload a filled-in register: ``run(by=, data=, file_name=)`` imports it, the per-row report shown."""
    user: Any = request.user
    _require_registry(user)
    if not allowed(user):
        raise Http404
    upload = import_upload(request, lambda data, name: run(by=user, data=data, file_name=name), form_class=form_class)
    return render(request, template, {"form": upload.form, **upload.context}, status=upload.status)


@login_required
def rentals_import(request: HttpRequest) -> HttpResponse:
    """Upload a filled-in rentals register: new leases registered, the per-row report shown."""
    return _import_page(
        request,
        allowed=policy.can_import_rentals,
        run=room_actions.rentals_import,
        form_class=RentalsFileForm,
        template="registry/rentals_import.html",
    )


# --- the rooms register ------------------------------------------------------------------------


@login_required
def rooms_export(request: HttpRequest) -> StreamingHttpResponse:
    """The rooms in the user's areas (of one building with ``?building=``) as XLSX, audited."""
    _require_registry(request.user)
    building = _building_wanted(request)
    count, chunks = room_export.rooms_export(by=request.user, building=building)
    return xlsx_streaming_response(chunks, room_export.filename("export", "rooms"), count)


@login_required
def rooms_template(request: HttpRequest) -> HttpResponse:
    _require_registry(request.user)
    return xlsx_response(room_export.rooms_template(), room_export.filename("template", "rooms"))


class RoomsFileForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("房屋表文件"),
        help_text=gettext_lazy("按房屋模板（或导出的表格）填写的 Excel（.xlsx）或 CSV；已登记的房屋按表中内容修改"),
        widget=forms.ClearableFileInput(attrs={"accept": ACCEPTED}),
    )


@login_required
def rooms_import(request: HttpRequest) -> HttpResponse:
    """Upload a filled-in rooms register: rooms made or updated, the per-row report shown."""
    return _import_page(
        request,
        allowed=policy.can_import_rooms,
        run=room_actions.rooms_import,
        form_class=RoomsFileForm,
        template="registry/rooms_import.html",
    )
