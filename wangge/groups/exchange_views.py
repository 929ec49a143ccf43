"""A register's data in and out: its XLSX template, its export (with a purpose) and the import
page with the per-row report.

A register the user's role may not see, export or import is a 404, like one that does not
exist: nothing tells them it is there. The export and the import are audited with their
purpose (``queries.listings_export``, ``actions.listings_import``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from wangge.accounts import policy
from wangge.core.spreadsheet import xlsx_response
from wangge.groups import actions, exchange, queries
from wangge.groups.models import Register
from wangge.registry.uploads import import_upload


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
    upload = import_upload(
        request,
        lambda data, name: actions.listings_import(by=user, register=register, data=data, file_name=name),
    )
    context = {"register": register, "form": upload.form, **upload.context}
    return render(request, "groups/import.html", context, status=upload.status)
