"""The resident import page: upload a spreadsheet, follow the import on its task page, see the
summary and the rejected rows, download the template and the per-row report, undo an import.

The upload is checked as a whole here (size, format, declared extent: a refused file answers 4xx
at once); the rows are written by the worker (``registry.imports``), so a long import holds no
request and no long transaction.

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
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from wangge.accounts import policy
from wangge.areas.models import Area
from wangge.registry import imports
from wangge.registry.importing import ImportFileError
from wangge.registry.importing import columns as cols
from wangge.registry.importing import report as reports
from wangge.registry.importing.limits import Limits
from wangge.registry.importing.reading import read_table
from wangge.registry.importing.residents import allowed_communities
from wangge.registry.importing.template import template_xlsx
from wangge.registry.models import ResidentImport
from wangge.registry.uploads import ACCEPTED, SHOWN_PROBLEMS


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
                data = upload.read()
                # The whole file is read through once now (streamed, nothing kept, no database):
                # a file refused as a whole is answered 4xx here; the rows are written by the worker.
                for _row in read_table(data, filename=upload.name, is_header=cols.is_header).rows:
                    pass
            except ImportFileError as exc:
                form.add_error("file", str(exc))
                status = exc.status
            else:
                _run, task = imports.import_enqueue(by=request.user, data=data, file_name=upload.name)
                return redirect("core:task", task.pk)
    else:
        form = ImportForm()
    context["form"] = form
    context["recent"] = ResidentImport.objects.filter(created_by=request.user.pk).order_by("-id")[:10]
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


@login_required
def import_report(request: HttpRequest, token: str) -> FileResponse:
    # A report is its uploader's alone (the owner is in its name); whoever could import the file
    # (a grid worker a rentals file, too) may read its report.
    path = reports.find(token, owner_id=request.user.pk)
    if path is None:
        raise Http404
    return FileResponse(
        open(path, "rb"),  # FileResponse closes it
        as_attachment=True,
        filename=_("导入报告.csv"),
        content_type="text/csv; charset=utf-8",
    )


def _own_import(request: HttpRequest, pk: int) -> ResidentImport:
    # An import is its uploader's, like its task and its report: anyone else gets 404.
    return get_object_or_404(ResidentImport, pk=pk, created_by=request.user)


@import_role_required
def import_run(request: HttpRequest, pk: int) -> HttpResponse:
    run = _own_import(request, pk)
    counts = run.counts or {}
    return render(
        request,
        "registry/import_run.html",
        {
            "run": run,
            "counts": counts,
            "rejections": counts.get("rejections", []),
            "warnings": counts.get("warnings", []),
            "shown": SHOWN_PROBLEMS,
            "can_undo": run.status in (ResidentImport.Status.DONE, ResidentImport.Status.FAILED),
            "created": imports.created_counts(run) if request.GET.get("undo") else None,
        },
    )


@import_role_required
def import_undo(request: HttpRequest, pk: int) -> HttpResponse:
    """GET: what undoing would remove, and a confirmation; POST: undo (queued for the worker)."""
    run = _own_import(request, pk)
    if request.method != "POST":
        return redirect(f"{reverse('registry:import-run', args=[run.pk])}?undo=1")
    if request.POST.get("confirm") != "yes":
        return HttpResponseBadRequest(_("请先确认撤销。"))
    try:
        task = imports.import_undo(by=request.user, run=run)
    except imports.UndoRefused as exc:
        return HttpResponse(str(exc), status=409)
    return redirect("core:task", task.pk)
