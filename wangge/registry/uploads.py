"""The one upload helper of every import done in the request: units, key places, the special-group
registers and rentals (the residents import is queued for the worker instead, ``import_views``).

``import_upload`` checks the posted file as a whole (its size before it is read; then the reader
refuses an unreadable or oversized table: 400 or 413, with the reason on the form), runs the
import and returns what ``registry/_register_import.html`` shows: the counts, the first rejected
rows and warnings, and the per-row report to download (kept for its uploader only).

It lives in the registry because the registry is the lowest app holding the import machinery it
needs (``ImportFileError``, the limits, the reports): ``core`` sits below all of it, and ``places``
sits above ``groups``, which uses it too (the layer contract in ``pyproject.toml``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from django import forms
from django.conf import settings
from django.http import HttpRequest
from django.utils.translation import gettext_lazy

from wangge.registry.importing import report as reports
from wangge.registry.importing.limits import ImportFileError, Limits
from wangge.registry.importing.residents import Problem

SHOWN_PROBLEMS = 50
ACCEPTED = ".xlsx,.xls,.csv,.txt,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet,text/csv"


class Result(Protocol):
    """What every import in the request returns (``ImportResult``, ``UnitImportResult``)."""

    file_name: str
    problems: list[Problem]

    @property
    def rejections(self) -> list[Problem]: ...

    @property
    def warnings(self) -> list[Problem]: ...


class RegisterFileForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("名册文件"),
        help_text=gettext_lazy("按本名册模板填写的 Excel（.xlsx）或 CSV；已登记的不会重复登记"),
        widget=forms.ClearableFileInput(attrs={"accept": ACCEPTED}),
    )


@dataclass
class Upload:
    """The form to show (blank after an import, with the error after a refused file), the page's
    context and its status."""

    form: forms.Form
    context: dict[str, Any] = field(default_factory=dict)
    status: int = 200

    @property
    def result(self) -> Any:
        return self.context.get("result")


def import_upload(
    request: HttpRequest,
    run: Callable[[bytes, str], Result],
    *,
    form_class: type[forms.Form] = RegisterFileForm,
) -> Upload:
    """On POST, import the file with ``run(data, file name)``; on GET, the empty form."""
    if request.method != "POST":
        return Upload(form_class())
    form = form_class(request.POST, request.FILES)
    if not form.is_valid():
        return Upload(form, status=400)
    upload = form.cleaned_data["file"]
    try:
        if upload.size > settings.WANGGE_IMPORT_MAX_BYTES:
            # Checked before the upload (spooled to disk by Django) is read into memory.
            raise Limits.from_settings().too_many_bytes()
        result = run(upload.read(), upload.name)
    except ImportFileError as exc:
        form.add_error("file", str(exc))
        return Upload(form, status=exc.status)
    context = {
        "result": result,
        "rejections": result.rejections[:SHOWN_PROBLEMS],
        "warnings": result.warnings[:SHOWN_PROBLEMS],
        "shown": SHOWN_PROBLEMS,
        "report": reports.store(result, owner_id=request.user.pk) if result.problems else "",
    }
    return Upload(form_class(), context)
