"""Imports as background work: queued from the upload page, run by the worker, undone as a whole.

``import_enqueue`` keeps the uploaded file in the data directory (owner-only) and queues a
``registry.import`` task; the worker runs ``import_residents`` on it in short chunked
transactions and reports progress on the task page (``/tasks/<id>/``), whose result links to the
import's own page. ``import_undo`` (audited, after a confirmation) queues ``registry.import_undo``,
which removes what the import created, chunk by chunk as well.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import ProtectedError
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from wangge.areas.models import Building
from wangge.core.audit import Action, audit
from wangge.core.models import Task
from wangge.core.tasks import TaskContext, task_enqueue, task_handler
from wangge.registry.importing import ImportResult, import_residents
from wangge.registry.importing import report as reports
from wangge.registry.importing.residents import chunk_rows, start_import
from wangge.registry.models import CareTag, Household, Resident, ResidentImport, Room

IMPORT_TASK = "registry.import"
UNDO_TASK = "registry.import_undo"
SHOWN_PROBLEMS = 50


class UndoRefused(Exception):
    """The import is not in a state that can be undone (still running, or undone already)."""


def upload_directory() -> Path:
    path = Path(settings.DATA_DIR) / "import-uploads"
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


def _upload_path(run_id: int) -> Path:
    return upload_directory() / f"import-{run_id}.bin"


def import_enqueue(*, by: Any, data: bytes, file_name: str) -> tuple[ResidentImport, Task]:
    """Record an import of ``data`` and queue it for the worker (the task's creation is audited)."""
    path: Path | None = None
    try:
        with transaction.atomic():
            run = start_import(file_name=file_name, digest=hashlib.sha256(data).hexdigest(), by=by)
            # The file holds ID numbers and phones: readable by the service's user only.
            path = _upload_path(run.pk)
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(descriptor, "wb") as file:
                file.write(data)
            task = task_enqueue(kind=IMPORT_TASK, args={"import": run.pk}, by=by)
    except BaseException:
        if path is not None:
            path.unlink(missing_ok=True)  # no record, no task: no file either
        raise
    return run, task


def _problems(result: ImportResult) -> dict[str, list[list[Any]]]:
    return {
        "rejections": [[p.row, p.column, p.reason] for p in result.rejections[:SHOWN_PROBLEMS]],
        "warnings": [[p.row, p.column, p.reason] for p in result.warnings[:SHOWN_PROBLEMS]],
    }


@task_handler(IMPORT_TASK)
def run_import_task(context: TaskContext) -> dict[str, Any]:
    run = ResidentImport.objects.select_related("created_by").get(pk=context.args["import"])
    path = _upload_path(run.pk)
    data = path.read_bytes()

    def progress(result: ImportResult, estimate: int) -> None:
        percent = min(99, result.rows * 100 // max(estimate, result.rows, 1))
        context.progress(percent, _("已处理 %(rows)d 行") % {"rows": result.rows})

    context.progress(0, _("正在读取文件"))
    result = import_residents(data=data, file_name=run.file_name, by=run.created_by, run=run, progress=progress)
    token = reports.store(result, owner_id=run.created_by_id) if result.problems else ""
    counts = {
        **result.counts(),
        "warned": result.warned,
        "seconds": result.seconds,
        "example_rows": result.example_rows,
        **_problems(result),
    }
    ResidentImport.objects.filter(pk=run.pk).update(report_token=token, counts=counts)
    path.unlink(missing_ok=True)
    return {
        "url": reverse("registry:import-run", args=[run.pk]),
        "label": _("查看导入结果"),
        _("结果"): result.summary,
    }


def import_undo(*, by: Any, run: ResidentImport) -> Task:
    """Decide to undo ``run`` (audited with the decision) and queue the removal for the worker."""
    with transaction.atomic():
        locked = ResidentImport.objects.select_for_update().get(pk=run.pk)
        if locked.status not in (ResidentImport.Status.DONE, ResidentImport.Status.FAILED):
            raise UndoRefused(_("该导入正在进行或已撤销，不能撤销。"))
        ResidentImport.objects.filter(pk=run.pk).update(status=ResidentImport.Status.UNDOING)
        audit(
            actor=by,
            action=Action.DELETE,
            obj=run,
            summary=_("撤销导入 %(file)s") % {"file": run.file_name},
            detail={"import": run.pk, "created": created_counts(run)},
        )
        task = task_enqueue(kind=UNDO_TASK, args={"import": run.pk}, by=by)
    run.status = ResidentImport.Status.UNDOING
    return task


def created_counts(run: ResidentImport) -> dict[str, int]:
    """What ``run`` created and still exists (shown before undoing it)."""
    return {
        "residents": Resident.objects.filter(import_run=run).count(),
        "households": Household.objects.filter(import_run=run).count(),
        "tags": CareTag.objects.filter(import_run=run).exclude(resident__import_run=run).count(),
        "buildings": Building.objects.filter(pk__in=run.buildings).count(),
    }


def _delete_in_chunks(queryset: Any, size: int, context: TaskContext | None, label: str) -> tuple[int, int]:
    """Delete the rows of ``queryset`` chunk by chunk (one short transaction each); (deleted, kept).

    A row something else now depends on (a life event, an enrolment: PROTECT) is kept.
    """
    deleted = kept = 0
    kept_ids: set[int] = set()
    while True:
        ids = list(queryset.exclude(pk__in=kept_ids).values_list("pk", flat=True)[:size])
        if not ids:
            return deleted, kept
        try:
            with transaction.atomic():
                queryset.model.objects.filter(pk__in=ids).delete()
            deleted += len(ids)
        except ProtectedError:
            blocked = set()
            for pk in ids:  # find the rows that hold on to the protected objects, one by one
                try:
                    with transaction.atomic():
                        queryset.model.objects.filter(pk=pk).delete()
                    deleted += 1
                except ProtectedError:
                    blocked.add(pk)
            kept += len(blocked)
            kept_ids |= blocked
        if context is not None:
            context.progress(context.task.progress, _("正在撤销：%(what)s") % {"what": label})


def undo_run(run: ResidentImport, *, context: TaskContext | None = None) -> dict[str, int]:
    """Remove what ``run`` created: its care tags on residents it found, its residents (with their
    search keys and tags), then its households, rooms and buildings left empty. Updates it made to
    residents that were already registered stay."""
    size = chunk_rows()
    summary: dict[str, int] = {}
    steps = [
        ("tags", CareTag.objects.filter(import_run=run), _("人员类别")),
        ("residents", Resident.objects.filter(import_run=run), _("居民")),
        ("households", Household.objects.filter(import_run=run, members__isnull=True), _("住户")),
        # Rooms after the households living in them (PROTECT), before their buildings.
        ("rooms", Room.objects.filter(import_run=run, households__isnull=True, rentals__isnull=True), _("房屋")),
        ("buildings", Building.objects.filter(pk__in=run.buildings, households__isnull=True), _("楼栋")),
    ]
    for number, (name, queryset, label) in enumerate(steps):
        if context is not None:
            context.progress(number * 100 // len(steps), _("正在撤销：%(what)s") % {"what": label})
        summary[name], summary[f"{name}_kept"] = _delete_in_chunks(queryset, size, context, str(label))
    # Households and buildings still in use (by residents or households not from this import) stay.
    summary["households_kept"] = Household.objects.filter(import_run=run).count()
    summary["rooms_kept"] = Room.objects.filter(import_run=run).count()
    summary["buildings_kept"] = Building.objects.filter(pk__in=run.buildings).count()
    with transaction.atomic():
        ResidentImport.objects.filter(pk=run.pk).update(
            status=ResidentImport.Status.UNDONE, counts={**run.counts, "undo": summary}, finished_at=timezone.now()
        )
        audit(
            actor=context.task.created_by if context is not None else None,
            action=Action.DELETE,
            obj=run,
            summary=_("导入 %(file)s 已撤销") % {"file": run.file_name},
            detail={"import": run.pk, **summary},
        )
    return summary


@task_handler(UNDO_TASK)
def run_undo_task(context: TaskContext) -> dict[str, Any]:
    run = ResidentImport.objects.get(pk=context.args["import"])
    summary = undo_run(run, context=context)
    return {
        "url": reverse("registry:import-run", args=[run.pk]),
        "label": _("查看导入记录"),
        _("已删除居民"): summary["residents"],
        _("保留的居民（已有其他记录）"): summary["residents_kept"],
    }
