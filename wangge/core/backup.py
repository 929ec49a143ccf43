"""Backing up and restoring the configured database while Wangge runs.

SQLite: the database's own online backup API copies a consistent snapshot page by page while
the web and the worker go on writing (WAL); the copy is a plain SQLite file. PostgreSQL:
``pg_dump`` in its custom format (``pg_restore`` reads it back); ``pg_dump`` must be at least the
server's major version (it refuses to dump a newer server).
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

from django.db import connections

SQLITE_MAGIC = b"SQLite format 3\x00"
PGDUMP_MAGIC = b"PGDMP"


class BackupError(Exception):
    """Shown to the operator as it is."""


def _settings(alias: str = "default") -> dict[str, Any]:
    return dict(connections[alias].settings_dict)


def _is_sqlite(config: dict[str, Any]) -> bool:
    return bool(config["ENGINE"] == "django.db.backends.sqlite3")


def _pg_environment(config: dict[str, Any]) -> tuple[list[str], dict[str, str]]:
    """libpq's connection options from Django's settings (the password in the environment,
    never on the command line where ``ps`` shows it)."""
    args = ["--dbname", str(config["NAME"])]
    if config.get("HOST"):
        args += ["--host", str(config["HOST"])]
    if config.get("PORT"):
        args += ["--port", str(config["PORT"])]
    if config.get("USER"):
        args += ["--username", str(config["USER"])]
    environment = dict(os.environ)
    if config.get("PASSWORD"):
        environment["PGPASSWORD"] = str(config["PASSWORD"])
    return args, environment


def _tool(name: str) -> str:
    found = shutil.which(name)
    if not found:
        raise BackupError(f"{name} not found: install the PostgreSQL client tools (version ≥ the server's)")
    return found


def backup(destination: Path) -> str:
    """Write a backup of the configured database to ``destination`` (owner-only); a summary."""
    config = _settings()
    destination = destination.expanduser()
    if destination.exists():
        raise BackupError(f"{destination} exists; choose a new file")
    destination.parent.mkdir(parents=True, exist_ok=True)
    if _is_sqlite(config):
        source = sqlite3.connect(str(config["NAME"]), timeout=30)
        target = sqlite3.connect(str(destination))
        try:
            # One step: a single read transaction, so the copy is one consistent snapshot; in
            # WAL mode writers go on meanwhile (copying in small steps would restart whenever
            # another process writes, and might never finish on a busy server).
            source.backup(target)
        finally:
            target.close()
            source.close()
    else:
        args, environment = _pg_environment(config)
        result = subprocess.run(
            [_tool("pg_dump"), "--format=custom", "--no-owner", "--file", str(destination), *args],
            env=environment,
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            destination.unlink(missing_ok=True)
            raise BackupError(f"pg_dump failed: {result.stderr.strip()}")
    destination.chmod(0o600)
    return f"backup written to {destination} ({destination.stat().st_size} bytes)"


def _tables(alias: str = "default") -> list[str]:
    connection = connections[alias]
    with connection.cursor() as cursor:
        return list(connection.introspection.table_names(cursor))


def restore(source: Path, *, force: bool = False) -> str:
    """Replace the configured database's contents with the backup at ``source``.

    Refuses a database that has tables unless ``force``: a restore must never overwrite a
    district's data by a slip of the keyboard."""
    config = _settings()
    source = source.expanduser()
    if not source.is_file():
        raise BackupError(f"{source}: no such file")
    with source.open("rb") as file:
        head = file.read(16)
    tables = _tables()
    if tables and not force:
        raise BackupError(f"the configured database is not empty ({len(tables)} tables); use --force to overwrite it")
    if _is_sqlite(config):
        if not head.startswith(SQLITE_MAGIC):
            raise BackupError(f"{source} is not an SQLite backup (the configured database is SQLite)")
        connections["default"].close()
        backup_db = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
        target = sqlite3.connect(str(config["NAME"]), timeout=30)
        try:
            backup_db.backup(target)
        finally:
            target.close()
            backup_db.close()
        Path(config["NAME"]).chmod(0o600)
    else:
        if not head.startswith(PGDUMP_MAGIC):
            raise BackupError(f"{source} is not a pg_dump custom-format backup (the configured database is PostgreSQL)")
        connections["default"].close()
        args, environment = _pg_environment(config)
        command = [_tool("pg_restore"), "--no-owner", "--exit-on-error", "--single-transaction", *args]
        if tables:
            command += ["--clean", "--if-exists"]
        result = subprocess.run([*command, str(source)], env=environment, capture_output=True, text=True)
        if result.returncode != 0:
            raise BackupError(f"pg_restore failed: {result.stderr.strip()}")
    return f"restored {source} into the configured database"
