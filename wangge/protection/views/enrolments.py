"""Enrolling a resident with a recorded consent, the enrolment page, consent, the missing-person
profile, and ending the protection."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from wangge.accounts import policy
from wangge.core import confirm
from wangge.protection import actions, positions, queries
from wangge.protection.forms import ConsentForm, DeviceForm, ProfileForm, ReportForm
from wangge.protection.models import Enrolment, Incident
from wangge.protection.views.common import acting_user, file_response, managed_enrolment
from wangge.registry.queries import get_resident


@login_required
def enrol(request: HttpRequest, resident_pk: int) -> HttpResponse:
    user = acting_user(request)
    resident = get_resident(user, resident_pk)
    if not policy.can_enrol(user, resident):
        raise Http404
    existing = queries.active_enrolment_of(resident)
    if existing is not None:
        return redirect("protection:enrolment", pk=existing.pk)
    form = ConsentForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            enrolment = actions.enrolment_create(by=user, resident=resident, consent=form.cleaned_data)
        except ValidationError:
            # Enrolled meanwhile by someone else: show theirs.
            existing = queries.active_enrolment_of(resident)
            if existing is None:
                raise
            return redirect("protection:enrolment", pk=existing.pk)
        messages.success(request, _("已登记走失防护，请完善走失预案档案并登记手机"))
        return redirect("protection:enrolment", pk=enrolment.pk)
    status = 400 if request.method == "POST" else 200
    return render(request, "protection/enrol.html", {"resident": resident, "form": form}, status=status)


# The purposes the pages' profile reads are audited with.
PURPOSE_ENROLMENT = "enrolment"
PURPOSE_EDIT = "profile edit"
PURPOSE_PHOTO = "photo"
# The purpose the enrolment page's read of the newest fix is audited with.
PURPOSE_LAST_FIX = "last fix"


def _last_fix(user: Any, enrolment: Enrolment) -> dict[str, Any] | None:
    """The newest fix in words, for those entitled to the person's locations (read and audited
    like any location read); None for everyone else or when there is none."""
    if not queries.may_read_locations(user, enrolment, purpose=PURPOSE_LAST_FIX):
        return None
    rows = queries.locations_for(user, enrolment, purpose=PURPOSE_LAST_FIX, limit=1)
    if not rows:
        return None
    fix = rows[0]
    label = _("%(name)s 最后定位") % {"name": enrolment.resident.name}
    return {
        "at": fix.recorded_at,
        "position": positions.describe(fix.lat, fix.lon, home=positions.home_of(enrolment), label=label),
    }


def enrolment_context(request: HttpRequest, enrolment: Enrolment) -> dict[str, Any]:
    """What the enrolment page shows (also re-rendered with a failed form's errors). The profile
    read is audited; the safe zones are left out (None) for those who may not see them."""
    user = acting_user(request)
    manage = queries.can_manage(user, enrolment)
    read = queries.profile_for(user, enrolment, purpose=PURPOSE_ENROLMENT)
    return {
        "enrolment": enrolment,
        "resident": enrolment.resident,
        "manage": manage,
        "consents": enrolment.consents.select_related("recorded_by", "withdrawn_by"),
        "active_consent": enrolment.active_consent(),
        "profile": read.profile,
        "medical": read.medical,
        "devices": enrolment.devices.all() if manage else [],
        "zones": queries.zones_for(user, enrolment) if queries.sees_zones(user, enrolment) else None,
        "open_incident": enrolment.incidents.filter(status=Incident.Status.OPEN).first(),
        "past_incidents": enrolment.incidents.filter(status=Incident.Status.CLOSED)[:10],
        "alerts": enrolment.alerts.all()[:10],
        "consent_form": ConsentForm(),
        "device_form": DeviceForm(),
        "report_form": ReportForm(),
        "guardians": enrolment.resident.guardianships.select_related("guardian"),
        "last_fix": _last_fix(user, enrolment),
    }


@login_required
def enrolment(request: HttpRequest, pk: int) -> HttpResponse:
    found = queries.get_enrolment(acting_user(request), pk)
    return render(request, "protection/enrolment.html", enrolment_context(request, found))


@login_required
def enrolment_end(request: HttpRequest, pk: int) -> HttpResponse:
    """GET asks for confirmation and says what ending means; POST ends the protection."""
    found = managed_enrolment(request, pk)
    error = ""
    if request.method == "POST":
        try:
            actions.enrolment_end(by=acting_user(request), enrolment=found)
        except ValidationError as exc:
            error = " ".join(exc.messages)
        else:
            messages.success(request, _("已结束走失防护：不再接收该人员手机的位置"))
            return redirect("protection:enrolment", pk=found.pk)
    context = {
        "enrolment": found,
        "resident": found.resident,
        "error": error,
        "open_incident": found.incidents.filter(status=Incident.Status.OPEN).first(),
    }
    return render(request, "protection/enrolment_end.html", context, status=400 if error else 200)


@login_required
@require_POST
def consent_add(request: HttpRequest, pk: int) -> HttpResponse:
    found = managed_enrolment(request, pk)
    form = ConsentForm(request.POST, request.FILES)
    if not form.is_valid():
        context = enrolment_context(request, found) | {"consent_form": form, "open_form": "consent"}
        return render(request, "protection/enrolment.html", context, status=400)
    actions.consent_record(by=acting_user(request), enrolment=found, **form.cleaned_data)
    messages.success(request, _("已登记知情同意"))
    return redirect("protection:enrolment", pk=found.pk)


@login_required
@require_POST
def consent_withdraw(request: HttpRequest, pk: int) -> HttpResponse:
    found = managed_enrolment(request, pk)
    if not confirm.confirmed(request):
        name = found.resident.name
        return confirm.ask(
            request,
            title=_("确认撤回 %(name)s 的知情同意？") % {"name": name},
            consequences=[
                _("立即停止接收 %(name)s 手机的位置") % {"name": name},
                _("既往位置不再向任何人显示"),
                _("离开安全区域等告警不再产生，直到重新登记知情同意"),
            ],
            button=_("确认撤回"),
            cancel_url=reverse("protection:enrolment", args=[found.pk]),
        )
    actions.consent_withdraw(by=acting_user(request), enrolment=found)
    messages.success(request, _("已撤回知情同意：停止位置跟踪，既往位置不再显示"))
    return redirect("protection:enrolment", pk=found.pk)


@login_required
def consent_document(request: HttpRequest, pk: int, consent_pk: int) -> HttpResponseBase:
    found = managed_enrolment(request, pk)
    consent = queries.consent_document(acting_user(request), found, consent_pk)
    return file_response(consent.document)


@login_required
def photo(request: HttpRequest, pk: int) -> HttpResponseBase:
    profile = queries.profile_for(acting_user(request), pk, purpose=PURPOSE_PHOTO, medical_notes=False).profile
    if not profile.photo:
        raise Http404
    return file_response(profile.photo)


@login_required
def profile_edit(request: HttpRequest, pk: int) -> HttpResponse:
    user = acting_user(request)
    found = managed_enrolment(request, pk)
    read = queries.profile_for(user, found, purpose=PURPOSE_EDIT)
    medical = read.medical
    form = ProfileForm(request.POST or None, request.FILES or None, instance=read.profile, medical=medical)
    if request.method == "POST" and form.is_valid():
        changes = {name: form.cleaned_data[name] for name in form.changed_data}
        actions.profile_update(by=user, enrolment=found, changes=changes, medical=medical)
        messages.success(request, _("已保存走失预案档案"))
        return redirect("protection:enrolment", pk=found.pk)
    status = 400 if request.method == "POST" else 200
    return render(request, "protection/profile_form.html", {"enrolment": found, "form": form}, status=status)
