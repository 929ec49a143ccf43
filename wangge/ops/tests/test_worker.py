"""The worker process: its background threads write a heartbeat that ``--check`` reads, and it
stops cleanly on SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.db import connection


def test_a_running_worker_passes_its_check_and_a_stopped_one_does_not(tmp_path: Path) -> None:
    if connection.vendor != "sqlite":
        pytest.skip("runs the worker against its own SQLite data directory")
    environment = {**os.environ, "WANGGE_DATA_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "wangge.settings"}
    environment.pop("DATABASE_URL", None)
    name = f"test-worker-{uuid.uuid4().hex[:8]}"

    def wangge(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "wangge", *args], env=environment, capture_output=True, text=True)

    assert wangge("migrate", "--no-input").returncode == 0
    before = wangge("worker", "--check", "--client-id", name)
    assert before.returncode == 1 and "no heartbeat" in before.stdout
    worker = subprocess.Popen(
        [sys.executable, "-m", "wangge", "worker", "--no-ingest", "--client-id", name],
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            check = wangge("worker", "--check", "--client-id", name)
            if check.returncode == 0 or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert check.returncode == 0, check.stdout
        assert check.stdout.startswith(f"worker {name}: ok")
    finally:
        worker.send_signal(signal.SIGTERM)
        output, _ = worker.communicate(timeout=60)
    assert worker.returncode == 0, output
    assert "worker stopped" in output


def test_the_worker_runs_a_notification_sender_per_channel_beside_ingest() -> None:
    import threading

    from wangge.ops.runner import background_threads

    stop = threading.Event()
    names = {t.name for t in background_threads(name="w", stop=stop, ingest=None, jobs=True, run_tasks=True)}
    assert {"notify-sms", "notify-in_app", "notify-email", "notify-webhook"} <= names
    quiet = background_threads(name="w", stop=stop, ingest=None, jobs=True, run_tasks=True, send=False)
    assert not any(t.name.startswith("notify-") for t in quiet)
