"""The resident import page: upload a spreadsheet, see the summary and the rejected rows,
download the template and the per-row report.

Only roles the policy lets import (``policy.can_import``) reach these pages (others get 404, like
anything out of scope); the importer checks each row's community against the uploader's areas. A
file refused as a whole answers 400 (unreadable) or 413 (beyond an import limit), with the reason
on the page.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from wangge.accounts import policy
from wangge.areas.models import Area
from wangge.registry.importing import ImportFileError, import_residents
from wangge.registry.importing import report as reports
from wangge.registry.importing.limits import Limits
from wangge.registry.importing.residents import allowed_communities
from wangge.registry.importing.template import template_xlsx

SHOWN_PROBLEMS = 50
ACCEPTED = ".xlsx,.xls,.csv,.txt,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet,text/csv"


class ImportForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("居民表文件"),
        help_text=gettext_lazy("Excel（.xlsx）或 CSV；CSV 的编码（UTF-8、GBK、GB18030）会自动识别"),
        widget=forms.ClearableFileInput(attrs={"accept": ACCEPTED}),
    )


def import_role_required(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    @wraps(view)
    @login_required
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not policy.can_import(request.user):
            raise Http404
        return view(request, *args, **kwargs)

    return wrapped


@import_role_required
def import_page(request: HttpRequest) -> HttpResponse:
    context: dict[str, Any] = {}
    status = 200
    if request.method == "POST":
        form = ImportForm(request.POST, request.FILES)
        status = 400  # unless the file is imported
        if form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                if upload.size > settings.WANGGE_IMPORT_MAX_BYTES:
                    # Checked before the upload (spooled to disk by Django) is read into memory.
                    raise Limits.from_settings().too_many_bytes()
                result = import_residents(data=upload.read(), file_name=upload.name, by=request.user)
            except ImportFileError as exc:
                form.add_error("file", str(exc))
                status = exc.status
            else:
                status = 200
                token = reports.store(result, owner_id=request.user.pk)
                context.update(
                    result=result,
                    rejections=result.rejections[:SHOWN_PROBLEMS],
                    warnings=result.warnings[:SHOWN_PROBLEMS],
                    report_token=token,
                )
                form = ImportForm()
    else:
        form = ImportForm()
    context["form"] = form
    context["shown"] = SHOWN_PROBLEMS
    return render(request, "registry/import.html", context, status=status)


@import_role_required
def import_template(request: HttpRequest) -> HttpResponse:
    allowed = allowed_communities(request.user)
    community = Area.objects.filter(pk__in=allowed or []).order_by("code", "name").first()
    example = (community.short_name or community.name) if community else _("光明社区")
    response = HttpResponse(
        template_xlsx(community=example),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    response["Content-Disposition"] = content_disposition_header(True, _("居民导入模板.xlsx"))
    return response


@import_role_required
def import_report(request: HttpRequest, token: str) -> FileResponse:
    path = reports.find(token, owner_id=request.user.pk)
    if path is None:
        raise Http404
    return FileResponse(
        open(path, "rb"),  # FileResponse closes it
        as_attachment=True,
        filename=_("导入报告.csv"),
        content_type="text/csv; charset=utf-8",
    )
