"""Registering a phone and showing what to type into OwnTracks or Traccar Client."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from wangge.core import confirm
from wangge.protection import actions, queries
from wangge.protection.forms import DeviceForm
from wangge.protection.provisioning import device_setup
from wangge.protection.views.common import acting_user, managed_enrolment, no_store
from wangge.protection.views.enrolments import enrolment_context


@login_required
@require_POST
def device_add(request: HttpRequest, pk: int) -> HttpResponse:
    enrolment = managed_enrolment(request, pk)
    form = DeviceForm(request.POST)
    if not form.is_valid():
        context = enrolment_context(request, enrolment) | {"device_form": form, "open_form": "device"}
        return render(request, "protection/enrolment.html", context, status=400)
    device, credentials = actions.device_register(
        by=acting_user(request),
        enrolment=enrolment,
        name=form.cleaned_data["name"],
        coord_system=form.cleaned_data["coord_system"],
    )
    # Rendered, not redirected: the password and OsmAnd key exist only in this response.
    context = device_setup(request, device, credentials) | {"enrolment": enrolment, "just_created": True}
    return no_store(render(request, "protection/device.html", context))


@login_required
def device(request: HttpRequest, pk: int) -> HttpResponse:
    found = queries.get_device(acting_user(request), pk)
    context = device_setup(request, found, None) | {"enrolment": found.enrolment}
    return render(request, "protection/device.html", context)


@login_required
@require_POST
def device_reset(request: HttpRequest, pk: int) -> HttpResponse:
    found = queries.get_device(acting_user(request), pk)
    if not confirm.confirmed(request):
        return confirm.ask(
            request,
            title=_("确认重置“%(device)s”的密码？") % {"device": found.name},
            consequences=[
                _("旧密码立即失效，这部手机停止上报位置"),
                _("需要在手机上输入新密码后才能恢复"),
            ],
            button=_("确认重置"),
            cancel_url=reverse("protection:device", args=[found.pk]),
        )
    credentials = actions.device_reset_password(by=acting_user(request), device=found)
    context = device_setup(request, found, credentials) | {"enrolment": found.enrolment, "just_reset": True}
    return no_store(render(request, "protection/device.html", context))


@login_required
@require_POST
def device_active(request: HttpRequest, pk: int) -> HttpResponse:
    """Switch the phone off (left at home, lost, given away) or back on."""
    found = queries.get_device(acting_user(request), pk)
    actions.device_set_active(by=acting_user(request), device=found, active=request.POST.get("active") == "1")
    return redirect("protection:device", pk=found.pk)
