"""The units import pages: upload a units table (imported in the request through the shared
``registry.uploads.import_upload``), the user's recent runs, one run with what it created, and
undoing it as a whole after a confirmation.

Only importers reach these pages (others get 404); a run is its uploader's (anyone else: 404).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from wangge.accounts import policy
from wangge.places import unit_imports
from wangge.places.importing import import_units
from wangge.registry.uploads import ACCEPTED, SHOWN_PROBLEMS, import_upload


class UnitsImportForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("实有单位表文件"),
        help_text=gettext_lazy("Excel（.xlsx）或 CSV：空白模板或导出的表格，填好后上传"),
        widget=forms.ClearableFileInput(attrs={"accept": ACCEPTED}),
    )


def _require_importer(user: Any) -> None:
    if not policy.can_import(user):
        raise Http404


@login_required
def units_import(request: HttpRequest) -> HttpResponse:
    """Upload a units table: imported at once (a district's units are tens of thousands at most),
    with the summary, the first problems, the per-row report and the run that can undo it."""
    user: Any = request.user
    _require_importer(user)
    upload = import_upload(
        request, lambda data, name: import_units(data=data, file_name=name, by=user), form_class=UnitsImportForm
    )
    context = {
        "form": upload.form,
        **upload.context,
        "recent": unit_imports.runs_of(user)[: unit_imports.RECENT],
        "show_summary": True,
    }
    return render(request, "places/units_import.html", context, status=upload.status)


@login_required
def units_import_run(request: HttpRequest, pk: int) -> HttpResponse:
    user: Any = request.user
    _require_importer(user)
    run = unit_imports.get_run(user, pk)
    counts = run.counts or {}
    context = {
        "run": run,
        "counts": counts,
        "rejections": counts.get("rejections", []),
        "warnings": counts.get("warnings", []),
        "shown": SHOWN_PROBLEMS,
        "can_undo": run.status == run.Status.DONE,
        "created": unit_imports.created_counts(run) if run.status == run.Status.DONE else None,
    }
    return render(request, "places/units_import_run.html", context)


@login_required
@require_POST
def units_import_undo(request: HttpRequest, pk: int) -> HttpResponse:
    user: Any = request.user
    _require_importer(user)
    run = unit_imports.get_run(user, pk)
    if request.POST.get("confirm") != "yes":
        return HttpResponseBadRequest(_("请先确认撤销。"))
    try:
        summary = unit_imports.unit_import_undo(by=user, run=run)
    except ValidationError as exc:
        return HttpResponse(" ".join(exc.messages), status=409)
    done = {"units": summary["units"], "buildings": summary["buildings"]}
    messages.success(request, _("已撤销：删除单位 %(units)d 个、楼栋 %(buildings)d 栋") % done)
    return redirect(reverse("places:units_import_run", args=[run.pk]))
