"""Periodic jobs that run once per period however many workers run.

Apps register jobs (``register_job("silent", every=60, run=...)`` from their ``AppConfig.ready``
or from the layer that assembles the worker); each job has a lease row (``JobLease``). A runner
runs a job only if its conditional UPDATE moves the row's ``due_at`` one period on, which exactly
one runner can do per period, on SQLite and PostgreSQL alike. ``running_until`` keeps a second
runner off a job that is still running when its next period comes; if the runner dies, the job
runs again once that time has passed.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from wangge.core.models import JobLease

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Job:
    name: str
    every: int  # seconds
    run: Callable[[dt.datetime], Any]
    # How long a run may take before another runner may start the job again.
    timeout: int = 3600


_JOBS: dict[str, Job] = {}


def register_job(name: str, *, every: int, run: Callable[[dt.datetime], Any], timeout: int = 3600) -> None:
    if every < 1:
        raise ValueError("a periodic job runs at most once a second")
    _JOBS[name] = Job(name=name, every=every, run=run, timeout=timeout)


def registered_jobs() -> dict[str, Job]:
    return dict(_JOBS)


def _ensure_leases(jobs: dict[str, Job], now: dt.datetime) -> None:
    existing = set(JobLease.objects.filter(name__in=jobs).values_list("name", flat=True))
    for name in jobs.keys() - existing:
        try:
            with transaction.atomic():
                JobLease.objects.create(name=name, due_at=now)
        except IntegrityError:
            pass  # another runner created it first


def claim_job(job: Job, *, runner: str, now: dt.datetime) -> bool:
    """True if ``runner`` won this period of ``job`` (and must run it now)."""
    return bool(
        JobLease.objects.filter(
            Q(running_until__isnull=True) | Q(running_until__lt=now), name=job.name, due_at__lte=now
        ).update(
            due_at=now + dt.timedelta(seconds=job.every),
            running_until=now + dt.timedelta(seconds=job.timeout),
            runner=runner,
            last_started_at=now,
            runs=F("runs") + 1,
        )
    )


def run_due_jobs(*, runner: str, now: dt.datetime | None = None, jobs: dict[str, Job] | None = None) -> dict[str, Any]:
    """Run every registered job that is due and not taken by another runner; name → its result."""
    jobs = registered_jobs() if jobs is None else jobs
    now = now or timezone.now()
    _ensure_leases(jobs, now)
    results: dict[str, Any] = {}
    for job in jobs.values():
        if not claim_job(job, runner=runner, now=now):
            continue
        error = ""
        try:
            results[job.name] = job.run(now)
        except Exception as exc:
            logger.exception("periodic job %s failed", job.name)
            error = f"{type(exc).__name__}: {exc}"[:2000]
        JobLease.objects.filter(name=job.name, runner=runner).update(
            running_until=None, last_finished_at=timezone.now(), last_error=error
        )
    return results


def job_lag(*, now: dt.datetime | None = None) -> dict[str, float]:
    """Seconds each registered job is overdue (0 when on time): how far behind the runners are."""
    now = now or timezone.now()
    leases = JobLease.objects.filter(name__in=list(_JOBS)).values_list("name", "due_at")
    return {name: max(0.0, (now - due_at).total_seconds()) for name, due_at in leases}
