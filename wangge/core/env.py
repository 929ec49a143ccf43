"""Strict readers for settings that come from the environment.

A value that cannot be understood stops start-up with ``ImproperlyConfigured`` naming the
variable, so an operator never runs a district on a silently ignored setting. Secrets may also
come from ``NAME_FILE`` (a path), as container secrets usually do.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off", ""}


def _raw(name: str) -> str | None:
    value = os.environ.get(name)
    if value is None and os.environ.get(f"{name}_FILE"):
        file = Path(os.environ[f"{name}_FILE"])
        try:
            value = file.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ImproperlyConfigured(f"{name}_FILE: cannot read {file}: {exc.strerror}") from exc
    return value


def string(name: str, *, default: str) -> str:
    value = _raw(name)
    return default if value is None else value


def boolean(name: str, *, default: bool) -> bool:
    value = _raw(name)
    if value is None:
        return default
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name}: expected true or false, got {value!r}")


def integer(name: str, *, default: int, minimum: int | None = None) -> int:
    value = _raw(name)
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name}: expected a whole number, got {value!r}") from None
    if minimum is not None and number < minimum:
        raise ImproperlyConfigured(f"{name}: must be at least {minimum}, got {number}")
    return number


def strings(name: str, *, default: list[str]) -> list[str]:
    value = _raw(name)
    if value is None:
        return default
    return [part.strip() for part in value.split(",") if part.strip()]


def path(name: str, *, default: Path) -> Path:
    value = _raw(name)
    result = Path(value).expanduser() if value else default
    try:
        result.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ImproperlyConfigured(f"{name}: cannot use {result} as a directory: {exc.strerror}") from exc
    return result.resolve()


def secret_key(data_dir: Path) -> str:
    """``SECRET_KEY`` from the environment, else one generated once and kept in the data dir."""
    value = _raw("SECRET_KEY")
    if value is not None:
        if len(value) < 32:
            raise ImproperlyConfigured("SECRET_KEY: must be at least 32 characters long")
        return value
    file = data_dir / "secret_key"
    if not file.exists():
        file.touch(mode=0o600)
        file.write_text(secrets.token_urlsafe(50), encoding="utf-8")
    return file.read_text(encoding="utf-8").strip()


def database(name: str, *, default_sqlite: Path) -> dict[str, Any]:
    import dj_database_url

    value = _raw(name)
    if not value:
        config: dict[str, Any] = {"ENGINE": "django.db.backends.sqlite3", "NAME": str(default_sqlite)}
    else:
        try:
            config = dict(dj_database_url.parse(value, conn_max_age=60))
        except Exception as exc:  # dj-database-url raises several types for a bad URL
            raise ImproperlyConfigured(f"{name}: cannot understand {value!r}: {exc}") from exc
        if not config.get("ENGINE"):
            raise ImproperlyConfigured(f"{name}: unsupported database scheme in {value!r}")
    if config["ENGINE"] == "django.db.backends.sqlite3":
        # WAL lets the worker write while pages read; IMMEDIATE avoids "database is locked"
        # on upgrade from a read to a write transaction. The commit that takes the WAL past
        # wal_autocheckpoint pages runs the checkpoint itself (two fsyncs, 25-130 ms on the
        # benchmark machine); at SQLite's default of 1,000 pages that was one audited search in
        # ~140, enough to set every cell's p99 (bench/search.py). 10,000 pages (~40 MB of WAL)
        # make it one in ~1,400 at about the same cost, since audit commits rewrite the same pages.
        config["OPTIONS"] = {
            "init_command": (
                "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=10000;"
                " PRAGMA wal_autocheckpoint=10000;"
            ),
            "transaction_mode": "IMMEDIATE",
        }
    elif config["ENGINE"] not in ("django.db.backends.postgresql",):
        raise ImproperlyConfigured(f"{name}: only SQLite and PostgreSQL are supported, got {config['ENGINE']}")
    config["TEST"] = {"NAME": os.environ.get("WANGGE_TEST_DATABASE") or None}
    return config
