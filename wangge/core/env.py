"""Strict readers for settings that come from the environment.

A value that cannot be understood stops start-up with ``ImproperlyConfigured`` naming the
variable, so an operator never runs a district on a silently ignored setting. Secrets may also
come from ``NAME_FILE`` (a path), as container secrets usually do.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import secrets
import urllib.parse
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


def networks(name: str, *, default: list[str]) -> list[str]:
    """A comma-separated list of IP addresses or networks (CIDR), each checked."""
    values = strings(name, default=default)
    for value in values:
        try:
            ipaddress.ip_network(value)
        except ValueError:
            raise ImproperlyConfigured(f"{name}: {value!r} is not an IP address or network") from None
    return values


def choice(name: str, *, default: str, choices: tuple[str, ...]) -> str:
    value = string(name, default=default).strip().lower()
    if value not in choices:
        raise ImproperlyConfigured(f"{name}: expected one of {', '.join(choices)}, got {value!r}")
    return value


def url(name: str, *, schemes: tuple[str, ...]) -> str:
    """An absolute URL with one of ``schemes`` and a host (and a valid port, no query or
    fragment), without its trailing slash; "" when unset."""
    value = (_raw(name) or "").strip()
    if not value:
        return ""
    parts = urllib.parse.urlsplit(value)
    if parts.scheme.lower() not in schemes:
        expected = " or ".join(f"{scheme}://" for scheme in schemes)
        raise ImproperlyConfigured(f"{name}: expected a URL starting with {expected}, got {value!r}")
    if not parts.hostname:
        raise ImproperlyConfigured(f"{name}: no host in {value!r}")
    try:
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number in range
    except ValueError:
        raise ImproperlyConfigured(f"{name}: the port in {value!r} is not a number from 1 to 65535") from None
    if parts.query or parts.fragment or parts.username or parts.password:
        raise ImproperlyConfigured(f"{name}: give only scheme, host, port and path, got {value!r}")
    return value.rstrip("/")


_EMAIL_SCHEMES = {
    # scheme: (backend, default port, STARTTLS, implicit TLS)
    "smtp": ("django.core.mail.backends.smtp.EmailBackend", 25, False, False),
    "smtp+tls": ("django.core.mail.backends.smtp.EmailBackend", 587, True, False),
    "submission": ("django.core.mail.backends.smtp.EmailBackend", 587, True, False),
    "smtps": ("django.core.mail.backends.smtp.EmailBackend", 465, False, True),
    "console": ("django.core.mail.backends.console.EmailBackend", 0, False, False),
    "dummy": ("django.core.mail.backends.dummy.EmailBackend", 0, False, False),
}


def email(name: str = "EMAIL_URL") -> dict[str, Any]:
    """Django's EMAIL_* settings from ``EMAIL_URL`` (``smtp+tls://user:pass@host:587``;
    ``smtp://`` plain, ``smtps://`` TLS from the first byte, ``console://`` prints mail), else
    from ``EMAIL_HOST``, ``EMAIL_PORT``, ``EMAIL_HOST_USER``, ``EMAIL_HOST_PASSWORD`` (or
    ``_FILE``), ``EMAIL_USE_TLS`` and ``EMAIL_USE_SSL``; with neither, mail goes to the console."""
    url = _raw(name)
    if url:
        parts = urllib.parse.urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in _EMAIL_SCHEMES:
            raise ImproperlyConfigured(f"{name}: unsupported scheme {scheme!r}; use one of {', '.join(_EMAIL_SCHEMES)}")
        backend, default_port, starttls, implicit_tls = _EMAIL_SCHEMES[scheme]
        try:
            port = parts.port or default_port
        except ValueError:
            raise ImproperlyConfigured(f"{name}: the port is not a number") from None
        if backend.endswith("smtp.EmailBackend") and not parts.hostname:
            raise ImproperlyConfigured(f"{name}: no host in {scheme}:// URL")
        return {
            "EMAIL_BACKEND": backend,
            "EMAIL_HOST": parts.hostname or "localhost",
            "EMAIL_PORT": port,
            "EMAIL_HOST_USER": urllib.parse.unquote(parts.username or ""),
            "EMAIL_HOST_PASSWORD": urllib.parse.unquote(parts.password or ""),
            "EMAIL_USE_TLS": starttls,
            "EMAIL_USE_SSL": implicit_tls,
        }
    host = string("EMAIL_HOST", default="")
    use_tls = boolean("EMAIL_USE_TLS", default=False)
    use_ssl = boolean("EMAIL_USE_SSL", default=False)
    if use_tls and use_ssl:
        raise ImproperlyConfigured("EMAIL_USE_TLS and EMAIL_USE_SSL: set at most one of them")
    default_backend = "django.core.mail.backends.smtp.EmailBackend" if host else _EMAIL_SCHEMES["console"][0]
    return {
        "EMAIL_BACKEND": string("EMAIL_BACKEND", default=default_backend),
        "EMAIL_HOST": host or "localhost",
        "EMAIL_PORT": integer("EMAIL_PORT", default=465 if use_ssl else 587 if use_tls else 25, minimum=1),
        "EMAIL_HOST_USER": string("EMAIL_HOST_USER", default=""),
        "EMAIL_HOST_PASSWORD": string("EMAIL_HOST_PASSWORD", default=""),
        "EMAIL_USE_TLS": use_tls,
        "EMAIL_USE_SSL": use_ssl,
    }


def path(name: str, *, default: Path) -> Path:
    value = _raw(name)
    result = Path(value).expanduser() if value else default
    try:
        result.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ImproperlyConfigured(f"{name}: cannot use {result} as a directory: {exc.strerror}") from exc
    return result.resolve()


def existing_file(name: str) -> Path | None:
    """A file that must exist and be readable now (a CA bundle, a certificate), or None if unset."""
    value = _raw(name)
    if not value:
        return None
    result = Path(value).expanduser()
    try:
        with result.open("rb"):
            pass
    except OSError as exc:
        raise ImproperlyConfigured(f"{name}: cannot read {result}: {exc.strerror}") from exc
    return result.resolve()


def file_to_write(name: str) -> Path | None:
    """A file Wangge writes (its directory must exist), or None if unset."""
    value = _raw(name)
    if not value:
        return None
    result = Path(value).expanduser()
    if not result.parent.is_dir():
        raise ImproperlyConfigured(f"{name}: the directory {result.parent} does not exist")
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
    with contextlib.suppress(PermissionError):
        file.chmod(0o600)  # also a key written by an older version with the default mode
    return file.read_text(encoding="utf-8").strip()


def owner_only(data_dir: Path) -> None:
    """Make the data directory and the database files in it readable by their owner only.

    The process's umask is set to 077 as well, so files written later (the SQLite journal,
    import reports, uploads, backups) are created owner-only."""
    os.umask(0o077)
    try:
        data_dir.chmod(0o700)
        for file in data_dir.glob("*.sqlite3*"):
            file.chmod(0o600)
    except PermissionError:
        pass  # not ours (a directory an operator shares on purpose): leave it as they set it


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
