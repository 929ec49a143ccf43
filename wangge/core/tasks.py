"""Background tasks: a small queue in the database that the worker drains.

An app registers a handler for a kind of task (``@task_handler("registry.import")``, in a module
its ``AppConfig.ready`` imports) and queues work with ``task_enqueue(kind=..., args=..., by=user)``
inside its own action; the task page ``/tasks/<id>/`` shows its creator the progress and result.
Core imports no app: the registry is filled in by the apps above it.

A worker claims one task at a time with a lease (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, a
conditional UPDATE on SQLite, whose writers are serialised anyway) and renews the lease with
every progress report. A worker killed mid-task leaves the lease to run out; another worker
then runs the task again, up to ``MAX_ATTEMPTS`` times, so handlers must be safe to re-run
(write in chunks that they can recognise as done, or undo their partial work first).
"""

from __future__ import annotations

import datetime as dt
import logging
import traceback
from collections.abc import Callable
from typing import Any

from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from wangge.core.audit import Action, audit
from wangge.core.models import Task

logger = logging.getLogger(__name__)

LEASE = dt.timedelta(minutes=2)
MAX_ATTEMPTS = 3


class LeaseLost(Exception):
    """Another worker took the task over (this one was too slow to renew its lease)."""


class TaskContext:
    """Handed to a handler: its task's arguments and a way to report progress."""

    def __init__(self, task: Task, *, worker: str) -> None:
        self.task = task
        self.worker = worker

    @property
    def args(self) -> dict[str, Any]:
        return dict(self.task.args)

    def progress(self, percent: int, message: str = "") -> None:
        """Record ``percent`` (0–100) and a short message, and renew the lease."""
        percent = max(0, min(100, int(percent)))
        updated = Task.objects.filter(pk=self.task.pk, claimed_by=self.worker, status=Task.Status.RUNNING).update(
            progress=percent, message=message[:300], lease_until=timezone.now() + LEASE
        )
        if not updated:
            raise LeaseLost(f"task {self.task.pk} is no longer held by {self.worker}")
        self.task.progress, self.task.message = percent, message[:300]


Handler = Callable[[TaskContext], dict[str, Any] | None]
_HANDLERS: dict[str, Handler] = {}


def task_handler(kind: str) -> Callable[[Handler], Handler]:
    """Register the function that runs tasks of ``kind``; it returns the task's result (JSON)."""

    def register(function: Handler) -> Handler:
        existing = _HANDLERS.get(kind)
        if existing is not None and existing is not function:
            raise ValueError(f"a handler for task kind {kind!r} is already registered")
        _HANDLERS[kind] = function
        return function

    return register


def registered_kinds() -> list[str]:
    return sorted(_HANDLERS)


def task_enqueue(*, kind: str, args: dict[str, Any] | None = None, by: Any) -> Task:
    """Queue a task of a registered ``kind`` for the worker, audited; returns it (see its page)."""
    if kind not in _HANDLERS:
        raise ValueError(f"no handler is registered for task kind {kind!r}")
    user = by if getattr(by, "is_authenticated", False) else None
    with transaction.atomic():
        task = Task.objects.create(kind=kind, args=args or {}, created_by=user)
        audit(actor=by, action=Action.CREATE, obj=task, summary=f"task {kind}", detail={"kind": kind})
    return task


def _claimable(now: dt.datetime) -> Q:
    # A running task whose lease ran out was abandoned by a dead worker.
    return Q(status=Task.Status.QUEUED) | Q(status=Task.Status.RUNNING, lease_until__lt=now)


def claim(*, worker: str, now: dt.datetime | None = None) -> Task | None:
    """Take the oldest claimable task for ``worker``, or None when there is none."""
    now = now or timezone.now()
    claimed = {
        "status": Task.Status.RUNNING,
        "claimed_by": worker,
        "lease_until": now + LEASE,
        "attempts": F("attempts") + 1,
    }
    if connection.vendor == "postgresql":
        with transaction.atomic():
            task = Task.objects.select_for_update(skip_locked=True).filter(_claimable(now)).order_by("id").first()
            if task is None:
                return None
            Task.objects.filter(pk=task.pk).update(**claimed, started_at=task.started_at or now)
    else:
        while True:
            candidate = Task.objects.filter(_claimable(now)).order_by("id").values_list("pk", flat=True).first()
            if candidate is None:
                return None
            # Only one worker's UPDATE matches while the row is still claimable.
            if Task.objects.filter(_claimable(now), pk=candidate).update(**claimed):
                Task.objects.filter(pk=candidate, started_at__isnull=True).update(started_at=now)
                task = Task(pk=candidate)
                break
    task.refresh_from_db()
    return task


def _finish(task: Task, *, worker: str, **fields: Any) -> bool:
    fields.update(finished_at=timezone.now(), lease_until=None)
    return bool(Task.objects.filter(pk=task.pk, claimed_by=worker, status=Task.Status.RUNNING).update(**fields))


def run(task: Task, *, worker: str) -> Task:
    """Run a claimed task's handler and record how it ended."""
    handler = _HANDLERS.get(task.kind)
    if handler is None:
        _finish(task, worker=worker, status=Task.Status.FAILED, error=f"no handler for {task.kind!r}")
    elif task.attempts > MAX_ATTEMPTS:
        _finish(task, worker=worker, status=Task.Status.FAILED, error=f"gave up after {MAX_ATTEMPTS} attempts")
    else:
        try:
            result = handler(TaskContext(task, worker=worker))
        except LeaseLost:
            logger.warning("task %s was taken over by another worker", task.pk)
        except Exception:
            logger.exception("task %s (%s) failed", task.pk, task.kind)
            _finish(task, worker=worker, status=Task.Status.FAILED, error=traceback.format_exc(limit=5)[-4000:])
        else:
            _finish(task, worker=worker, status=Task.Status.DONE, progress=100, result=result)
    task.refresh_from_db()
    return task


def run_queued(*, worker: str, limit: int | None = None) -> int:
    """Claim and run tasks until none is left (or ``limit`` ran); the number run.

    The worker's task thread calls this in a loop; tests call it to drain the queue in-process.
    """
    done = 0
    while limit is None or done < limit:
        task = claim(worker=worker)
        if task is None:
            break
        run(task, worker=worker)
        done += 1
    return done
