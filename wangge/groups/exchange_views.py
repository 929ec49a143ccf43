"""A register's data in and out: its XLSX template, its export (with a purpose) and the import
page with the per-row report.

A register the user's role may not see, export or import is a 404, like one that does not
exist: nothing tells them it is there. The export and the import are audited with their
purpose (``queries.listings_export``, ``actions.listings_import``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET

from wangge.accounts import policy
from wangge.core.spreadsheet import xlsx_response
from wangge.groups import actions, exchange, queries
from wangge.groups.models import Register
from wangge.registry.import_views import ACCEPTED, SHOWN_PROBLEMS
from wangge.registry.importing import ImportFileError
from wangge.registry.importing import report as reports
from wangge.registry.importing.limits import Limits


class RegisterImportForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("名册文件"),
        help_text=gettext_lazy("按本名册模板填写的 Excel（.xlsx）或 CSV；已在册的人不会重复登记"),
        widget=forms.ClearableFileInput(attrs={"accept": ACCEPTED}),
    )


def _register(request: HttpRequest, code: str, allowed: Callable[[Any, Register], bool]) -> Register:
    register = queries.get_register(request.user, code)
    if not allowed(request.user, register):
        raise Http404
    return register


@login_required
@require_GET
def template(request: HttpRequest, code: str) -> HttpResponse:
    register = _register(request, code, policy.can_see_register)
    return xlsx_response(exchange.template(register), exchange.filename(register, "template"))


@login_required
@require_GET
def export(request: HttpRequest, code: str) -> HttpResponse:
    """The register's current entries in the user's areas (masked), for ``?purpose=``."""
    user: Any = request.user
    register = _register(request, code, policy.can_export_register)
    purpose = request.GET.get("purpose", queries.Purpose.REPORT)
    if purpose not in queries.Purpose.values:
        return HttpResponseBadRequest(_("请说明导出用途"))
    with transaction.atomic():  # nothing leaves unless the export is in the audit log
        listings = queries.listings_export(user, register=register, purpose=purpose)
    content = exchange.workbook(register, exchange.export_rows(register, listings))
    return xlsx_response(content, exchange.filename(register, "export"), len(listings))


@login_required
def import_page(request: HttpRequest, code: str) -> HttpResponse:
    user: Any = request.user
    register = _register(request, code, policy.can_import_register)
    context: dict[str, Any] = {"register": register, "shown": SHOWN_PROBLEMS}
    status = 200
    if request.method == "POST":
        form = RegisterImportForm(request.POST, request.FILES)
        status = 400
        if form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                if upload.size > settings.WANGGE_IMPORT_MAX_BYTES:
                    raise Limits.from_settings().too_many_bytes()
                result = actions.listings_import(by=user, register=register, data=upload.read(), file_name=upload.name)
            except ImportFileError as exc:
                form.add_error("file", str(exc))
                status = exc.status
            else:
                status = 200
                context["result"] = result
                context["rejections"] = result.rejections[:SHOWN_PROBLEMS]
                context["report"] = reports.store(result, owner_id=user.pk) if result.problems else ""
                form = RegisterImportForm()
    else:
        form = RegisterImportForm()
    context["form"] = form
    return render(request, "groups/import.html", context, status=status)
