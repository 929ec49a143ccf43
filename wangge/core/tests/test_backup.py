"""``wangge backup`` while writes go on, ``wangge restore`` into a fresh data directory, and a
data directory that only its owner can read. Runs the real commands in their own processes,
against SQLite or (when the suite runs on PostgreSQL) two scratch PostgreSQL databases."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.db import connection

WRITER = """
import itertools, pathlib, sys
from wangge.core.models import AuditEntry
progress, stop = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
for n in itertools.count(1):
    if stop.exists():
        break
    AuditEntry.objects.create(action="event", object_type="test.row", object_id=str(n), summary=f"row {n}")
    progress.with_suffix(".tmp").write_text(str(n))
    progress.with_suffix(".tmp").replace(progress)
"""
DUMP = """
import json
from wangge.core.models import AuditEntry
rows = AuditEntry.objects.filter(object_type="test.row").order_by("id").values_list("object_id", "summary", "at")
print(json.dumps([[i, s, a.isoformat()] for i, s, a in rows]))
"""


def wangge(
    data_dir: Path, database_url: str | None, *args: str, check: bool = True
) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "WANGGE_DATA_DIR": str(data_dir), "DJANGO_SETTINGS_MODULE": "wangge.settings"}
    environment.pop("DATABASE_URL", None)
    if database_url:
        environment["DATABASE_URL"] = database_url
    return subprocess.run(
        [sys.executable, "-m", "wangge", *args], env=environment, capture_output=True, text=True, check=check
    )


@pytest.fixture
def databases(tmp_path: Path) -> Iterator[tuple[str | None, str | None]]:
    """(source, target) database URLs: None for SQLite in each data dir; scratch PostgreSQL
    databases when the suite runs on PostgreSQL."""
    if connection.vendor != "postgresql":
        yield None, None
        return
    import psycopg

    config = connection.settings_dict
    base = f"{config['NAME']}_backup"
    names = (f"{base}_source", f"{base}_target")
    server = f"postgres://{config['USER']}@{config['HOST'] or '127.0.0.1'}:{config['PORT'] or 5432}"

    def recreate(drop_only: bool = False) -> None:
        with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
            for name in names:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
                if not drop_only:
                    admin.execute(f'CREATE DATABASE "{name}"')

    recreate()
    yield f"{server}/{names[0]}", f"{server}/{names[1]}"
    recreate(drop_only=True)


def test_it_backs_up_while_writes_go_on_and_restores_every_row(
    tmp_path: Path, databases: tuple[str | None, str | None]
) -> None:
    source_url, target_url = databases
    live, fresh, backup = tmp_path / "live", tmp_path / "fresh", tmp_path / "backups" / "wangge.backup"
    wangge(live, source_url, "migrate", "--no-input")
    progress, stop = tmp_path / "progress", tmp_path / "stop"
    environment = {**os.environ, "WANGGE_DATA_DIR": str(live), "DJANGO_SETTINGS_MODULE": "wangge.settings"}
    environment.pop("DATABASE_URL", None)
    if source_url:
        environment["DATABASE_URL"] = source_url
    writer = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "wangge",
            "shell",
            "-c",
            f"import sys; sys.argv=['', {str(progress)!r}, {str(stop)!r}]\n{WRITER}",
        ],
        env=environment,
    )

    def written() -> int:
        return int(progress.read_text() or 0) if progress.exists() else 0

    try:
        deadline = time.monotonic() + 60
        while written() < 30 and time.monotonic() < deadline:
            time.sleep(0.1)
        before = written()
        assert before >= 30, "the writer did not start"
        wangge(live, source_url, "backup", str(backup))
        deadline = time.monotonic() + 60
        while written() < before + 30 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert written() >= before + 30, "writes stopped while the backup ran"
    finally:
        stop.touch()
        writer.wait(timeout=60)
    assert stat.S_IMODE(backup.stat().st_mode) == 0o600

    wangge(fresh, target_url, "restore", str(backup))
    restored = json.loads(wangge(fresh, target_url, "shell", "-c", DUMP).stdout.splitlines()[-1])
    original = json.loads(wangge(live, source_url, "shell", "-c", DUMP).stdout.splitlines()[-1])
    # A consistent snapshot: every row committed before the backup began, no gaps, each row
    # exactly as it is in the live database.
    numbers = [int(row[0]) for row in restored]
    assert numbers == list(range(1, len(numbers) + 1))
    assert len(numbers) >= before
    assert restored == original[: len(restored)]

    refused = wangge(fresh, target_url, "restore", str(backup), check=False)
    assert refused.returncode != 0 and "not empty" in refused.stderr
    wangge(fresh, target_url, "restore", str(backup), "--force")
    assert json.loads(wangge(fresh, target_url, "shell", "-c", DUMP).stdout.splitlines()[-1]) == restored


def test_it_keeps_the_data_directory_and_its_files_owner_only(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir(mode=0o755)
    wangge(data_dir, None, "migrate", "--no-input")
    wangge(
        data_dir,
        None,
        "shell",
        "-c",
        "from wangge.registry.importing import report\n"
        "from wangge.registry.importing.residents import ImportResult\n"
        "report.store(ImportResult(file_name='x.csv'), owner_id=1)",
    )

    def mode(path: Path) -> int:
        return stat.S_IMODE(path.stat().st_mode)

    assert mode(data_dir) == 0o700
    assert mode(data_dir / "wangge.sqlite3") == 0o600
    assert mode(data_dir / "secret_key") == 0o600
    reports = list((data_dir / "import-reports").glob("*.csv"))
    assert reports and all(mode(report) == 0o600 for report in reports)
