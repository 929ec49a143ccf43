"""Periodic jobs run once per period however many runners there are."""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from wangge.core import periodic
from wangge.core.models import JobLease

pytestmark = pytest.mark.django_db


def counting_job(name: str, every: int, runs: list[dt.datetime]) -> dict[str, periodic.Job]:
    return {name: periodic.Job(name=name, every=every, run=lambda now: runs.append(now) or len(runs))}


def test_it_runs_a_job_once_per_period_with_two_runners() -> None:
    runs: list[dt.datetime] = []
    jobs = counting_job("test.minutely", 60, runs)
    start = timezone.now()
    for second in range(0, 300):
        now = start + dt.timedelta(seconds=second)
        for runner in ("worker-a", "worker-b"):
            periodic.run_due_jobs(runner=runner, now=now, jobs=jobs)
    assert [(at - start).total_seconds() for at in runs] == [0, 60, 120, 180, 240]


def test_it_runs_a_job_once_when_two_runners_race(transactional_db: Any) -> None:
    if connection.vendor == "sqlite":
        # The test database is SQLite's shared-cache memory database, whose table locks no busy
        # timeout waits for ("database table is locked"); a served SQLite file does not have them.
        # The deterministic two-runner test above covers SQLite's claim; PostgreSQL races here.
        pytest.skip("real threads on the in-memory shared-cache test database lock tables")
    runs: list[dt.datetime] = []
    lock = threading.Lock()

    def run(now: dt.datetime) -> None:
        with lock:
            runs.append(now)

    jobs = {"test.race": periodic.Job(name="test.race", every=60, run=run)}
    start = timezone.now()
    periodic.run_due_jobs(runner="setup", now=start - dt.timedelta(seconds=60), jobs=jobs)
    runs.clear()
    errors: list[BaseException] = []

    def runner(name: str) -> None:
        try:
            for period in range(5):
                barrier.wait(timeout=60)
                periodic.run_due_jobs(runner=name, now=start + dt.timedelta(seconds=60 * period), jobs=jobs)
        except BaseException as exc:
            # Release the other runner from the barrier: a failure must fail the test, not hang it.
            errors.append(exc)
            barrier.abort()
        finally:
            connection.close()

    barrier = threading.Barrier(2)
    threads = [threading.Thread(target=runner, args=(name,)) for name in ("worker-a", "worker-b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads)
    assert not errors
    assert sorted((at - start).total_seconds() for at in runs) == [0, 60, 120, 180, 240]


def test_it_leaves_a_job_alone_while_another_runner_is_still_running_it() -> None:
    runs: list[dt.datetime] = []
    jobs = counting_job("test.slow", 60, runs)
    start = timezone.now()
    periodic.run_due_jobs(runner="a", now=start, jobs=jobs)
    # Runner a died in the middle of its next run: the lease says it is still running.
    JobLease.objects.filter(name="test.slow").update(running_until=start + dt.timedelta(seconds=600))
    periodic.run_due_jobs(runner="b", now=start + dt.timedelta(seconds=120), jobs=jobs)
    assert len(runs) == 1
    periodic.run_due_jobs(runner="b", now=start + dt.timedelta(seconds=601), jobs=jobs)
    assert len(runs) == 2


def test_it_records_a_failing_job_and_runs_it_next_period() -> None:
    calls: list[dt.datetime] = []

    def flaky(now: dt.datetime) -> None:
        calls.append(now)
        if len(calls) == 1:
            raise RuntimeError("broker away")

    jobs = {"test.flaky": periodic.Job(name="test.flaky", every=10, run=flaky)}
    start = timezone.now()
    periodic.run_due_jobs(runner="a", now=start, jobs=jobs)
    assert "broker away" in JobLease.objects.get(name="test.flaky").last_error
    periodic.run_due_jobs(runner="a", now=start + dt.timedelta(seconds=10), jobs=jobs)
    lease = JobLease.objects.get(name="test.flaky")
    assert (len(calls), lease.last_error, lease.runs) == (2, "", 2)


def test_it_measures_how_late_the_jobs_are() -> None:
    start = timezone.now()
    JobLease.objects.create(name="protection.silent", due_at=start - dt.timedelta(seconds=30))
    assert periodic.job_lag(now=start)["protection.silent"] == pytest.approx(30)


def test_the_protection_jobs_are_registered_for_the_worker() -> None:
    jobs = set(periodic.registered_jobs())
    assert {"protection.silent", "protection.retention"} <= jobs
    # Notifications are no periodic job: the worker's senders deliver and retry them.
    assert "protection.notifications" not in jobs
