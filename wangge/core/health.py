"""Is Wangge working? The checks behind ``/healthz`` and ``wangge worker --check``.

The web's health is the database (reachable, every migration applied). The worker's is its
heartbeat row: written every few seconds by a running worker with whether the broker is
connected and when it last stored a message; with the periodic jobs' lag beside it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from wangge.core.models import WorkerHeartbeat
from wangge.core.periodic import job_lag, registered_jobs

HEARTBEAT_EVERY = 5  # seconds between a worker's heartbeats
STALE_AFTER = 60  # seconds without a heartbeat before a worker counts as gone

_migrations_applied = False  # once true it stays true for this process


def database_ok() -> tuple[bool, str]:
    try:
        with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:
        return False, f"database unreachable: {type(exc).__name__}"
    return True, "ok"


def migrations_ok() -> tuple[bool, str]:
    global _migrations_applied
    if _migrations_applied:
        return True, "ok"
    try:
        connection = connections[DEFAULT_DB_ALIAS]
        executor = MigrationExecutor(connection)
        plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    except Exception as exc:
        return False, f"cannot read migrations: {type(exc).__name__}"
    if plan:
        return False, f"{len(plan)} migrations not applied"
    _migrations_applied = True
    return True, "ok"


@dataclass(frozen=True)
class WorkerState:
    ok: bool
    reason: str


def heartbeat(
    *,
    name: str,
    started_at: dt.datetime,
    ingest: bool,
    broker_connected: bool,
    stored: int,
    last_stored_at: dt.datetime | None,
) -> None:
    """Record that worker ``name`` is alive (called by the worker every ``HEARTBEAT_EVERY`` s)."""
    WorkerHeartbeat.objects.update_or_create(
        name=name,
        defaults={
            "seen_at": timezone.now(),
            "started_at": started_at,
            "ingest": ingest,
            "broker_connected": broker_connected,
            "stored": stored,
            "last_stored_at": last_stored_at,
        },
    )


def max_job_lag(now: dt.datetime) -> tuple[str, float]:
    lags = job_lag(now=now)
    if not lags:
        return "", 0.0
    name = max(lags, key=lambda key: lags[key])
    return name, lags[name]


def _job_lag_limit(name: str) -> float:
    job = registered_jobs().get(name)
    return max(120.0, 2.0 * job.every) if job else 120.0


def worker_state(*, name: str, now: dt.datetime | None = None) -> WorkerState:
    """The one-line verdict ``wangge worker --check`` prints (and exits 0 or 1 on)."""
    now = now or timezone.now()
    beat = WorkerHeartbeat.objects.filter(name=name).first()
    if beat is None:
        return WorkerState(False, f"worker {name}: no heartbeat recorded (is it running?)")
    age = (now - beat.seen_at).total_seconds()
    if age > STALE_AFTER:
        return WorkerState(False, f"worker {name}: last heartbeat {age:.0f} s ago")
    if beat.ingest and not beat.broker_connected:
        return WorkerState(False, f"worker {name}: not connected to the MQTT broker")
    job, lag = max_job_lag(now)
    if job and lag > _job_lag_limit(job):
        return WorkerState(False, f"worker {name}: periodic job {job} is {lag:.0f} s overdue")
    stored = "never" if beat.last_stored_at is None else f"{(now - beat.last_stored_at).total_seconds():.0f} s ago"
    return WorkerState(True, f"worker {name}: ok, heartbeat {age:.0f} s ago, last message stored {stored}")


def report(*, now: dt.datetime | None = None) -> tuple[bool, dict[str, Any]]:
    """The body of ``/healthz``: whether the web may serve, and what is known of the workers.

    Names no person and no device: only counts and ages in seconds.
    """
    now = now or timezone.now()
    db_ok, db_reason = database_ok()
    checks: dict[str, Any] = {"database": db_reason}
    ok = db_ok
    if db_ok:
        migrated, migration_reason = migrations_ok()
        checks["migrations"] = migration_reason
        ok = migrated
    if ok:
        beats = list(WorkerHeartbeat.objects.values("seen_at", "ingest", "broker_connected", "last_stored_at"))
        alive = [beat for beat in beats if (now - beat["seen_at"]).total_seconds() <= STALE_AFTER]
        stored = [beat["last_stored_at"] for beat in alive if beat["last_stored_at"] is not None]
        job, lag = max_job_lag(now)
        checks["workers"] = {
            "alive": len(alive),
            "broker_connected": sum(1 for beat in alive if beat["ingest"] and beat["broker_connected"]),
            "last_stored_seconds_ago": round((now - max(stored)).total_seconds()) if stored else None,
            "max_job_lag_seconds": round(lag),
            "ok": bool(alive) and not (job and lag > _job_lag_limit(job)),
        }
    return ok, {"status": "ok" if ok else "unavailable", "checks": checks}
