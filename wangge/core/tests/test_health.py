"""/healthz for probes and ``wangge worker --check`` for the worker's supervisor."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.utils import timezone

from wangge.core import health
from wangge.core.models import JobLease, WorkerHeartbeat

pytestmark = pytest.mark.django_db


def beat(name: str = "wangge-worker", *, age: float = 1, connected: bool = True, ingest: bool = True) -> None:
    now = timezone.now()
    WorkerHeartbeat.objects.create(
        name=name,
        seen_at=now - dt.timedelta(seconds=age),
        started_at=now - dt.timedelta(hours=1),
        ingest=ingest,
        broker_connected=connected,
        stored=10,
        last_stored_at=now - dt.timedelta(seconds=3),
    )


def check(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    try:
        call_command("worker", "--check", *args)
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    return code, capsys.readouterr().out.strip()


def test_it_reports_healthy_without_a_login_and_without_personal_data() -> None:
    beat()
    response = Client().get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"]["database"] == "ok" and body["checks"]["migrations"] == "ok"
    assert body["checks"]["workers"]["alive"] == 1 and body["checks"]["workers"]["broker_connected"] == 1
    assert "wangge-worker" not in response.content.decode()


def test_it_is_unavailable_while_a_migration_is_not_applied(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(health, "_migrations_applied", False)
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM django_migrations WHERE app = 'core' AND name LIKE '0002%%'")
    response = Client().get("/healthz")
    assert response.status_code == 503
    assert response.json()["checks"]["migrations"] == "1 migrations not applied"


def test_it_reports_a_missing_worker_only_when_asked() -> None:
    assert Client().get("/healthz").status_code == 200
    response = Client().get("/healthz?worker=1")
    assert response.status_code == 503
    assert response.json()["checks"]["workers"]["alive"] == 0


def test_the_worker_check_passes_for_a_fresh_connected_worker(capsys: pytest.CaptureFixture[str]) -> None:
    beat()
    code, line = check(capsys)
    assert code == 0 and "ok" in line and "\n" not in line


def test_the_worker_check_fails_without_a_heartbeat(capsys: pytest.CaptureFixture[str]) -> None:
    assert check(capsys) == (1, "worker wangge-worker: no heartbeat recorded (is it running?)")


def test_the_worker_check_fails_for_a_stale_heartbeat(capsys: pytest.CaptureFixture[str]) -> None:
    beat(age=health.STALE_AFTER + 30)
    code, line = check(capsys)
    assert code == 1 and "last heartbeat" in line


def test_the_worker_check_fails_while_the_broker_is_away(capsys: pytest.CaptureFixture[str]) -> None:
    beat(connected=False)
    assert check(capsys) == (1, "worker wangge-worker: not connected to the MQTT broker")


def test_the_worker_check_fails_when_jobs_fall_behind(capsys: pytest.CaptureFixture[str]) -> None:
    beat()
    JobLease.objects.create(name="protection.silent", due_at=timezone.now() - dt.timedelta(minutes=10))
    code, line = check(capsys)
    assert code == 1 and "protection.silent" in line


def test_the_worker_check_finds_the_worker_by_its_client_id(capsys: pytest.CaptureFixture[str]) -> None:
    beat("worker-7", ingest=False, connected=False)
    assert check(capsys, "--client-id", "worker-7")[0] == 0
    assert check(capsys, "--client-id", "worker-8")[0] == 1
