"""Phones' accounts on the MQTT broker: the Mosquitto password and ACL files Wangge writes.

Without them anyone could publish a fix as anyone, read every position on ``owntracks/#``, or
connect as the worker and take its session. Mosquitto's own mechanisms do the checking:

- ``allow_anonymous false`` and a ``password_file`` with one account per phone (its username is
  the topic's user segment, its password the device password shown once on the setup page) and
  one for the worker;
- an ``acl_file`` that lets a phone publish and subscribe under ``owntracks/<its username>/``
  only (``pattern readwrite owntracks/%u/#``) and the worker read ``owntracks/#``;
- ``use_username_as_clientid true``, so a client id is its account: nobody can connect under the
  worker's client id and take over its persistent session.

Why files rather than the dynamic-security plugin: the files are derived from the database
every time (no second copy of the truth that can drift; ``wangge broker_sync`` rebuilds them
after a restore), they can be written while the broker is down, and the web process needs no
broker administrator account. Device hashes already are Mosquitto's ``$7$`` format
(``DevicePasswordHasher``), so no password is stored anywhere else. A rewrite is about 150 bytes
per phone (15 MB for 100,000), done once per registration, reset or enrolment end.

Mosquitto rereads both files on SIGHUP; Wangge sends it to the pid in ``MQTT_BROKER_PID_FILE``.
Where the web server may not signal the broker (another user), leave that unset and let a
systemd path unit reload Mosquitto when the password file changes (docs/operating.md).
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import hashlib
import logging
import os
import secrets
import signal
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import transaction

logger = logging.getLogger(__name__)

SALT_BYTES = 12  # Mosquitto 2.0 refuses any other salt length
ITERATIONS = 1000
TOPIC_ROOT = "owntracks"


def mosquitto_hash(password: str, *, salt: bytes | None = None, iterations: int = ITERATIONS) -> str:
    """``$7$<iterations>$<salt>$<hash>``: PBKDF2-SHA512, as ``mosquitto_passwd`` writes it."""
    salt = secrets.token_bytes(SALT_BYTES) if salt is None else salt
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, iterations)
    return f"$7${iterations}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def from_device_hash(encoded: str) -> str | None:
    """A device's stored hash (``pbkdf2_sha512$iterations$salt$hash``) as Mosquitto's ``$7$``
    entry; None for a hash from before broker accounts (the device needs a password reset)."""
    parts = encoded.split("$")
    if len(parts) != 4 or parts[0] != "pbkdf2_sha512" or len(parts[2].encode()) != SALT_BYTES:
        return None
    iterations, salt, digest = parts[1:]
    return f"$7${iterations}${base64.b64encode(salt.encode()).decode()}${digest}"


def device_username(identifier: str) -> str:
    """A phone's broker username: the user segment of its topic, so ``%u`` in the ACL is it."""
    return identifier


@dataclass(frozen=True)
class Account:
    username: str
    hash: str


def worker_username(instance: int = 1) -> str | None:
    """The broker username of worker ``instance``: the configured one, then ``<it>-2``, ``-3``…
    Each worker run with ``--shared`` needs its own, as the broker makes it its client id."""
    from wangge.protection.mqtt import parse_url

    username = settings.MQTT_USERNAME or parse_url(settings.MQTT_URL).username
    if not username:
        return None
    return username if instance == 1 else f"{username}-{instance}"


def worker_accounts() -> list[Account]:
    from wangge.protection.mqtt import parse_url

    password = settings.MQTT_PASSWORD or parse_url(settings.MQTT_URL).password
    usernames = [worker_username(instance) for instance in range(1, settings.MQTT_WORKERS + 1)]
    if not password:
        return []
    return [Account(username, mosquitto_hash(password)) for username in usernames if username]


def device_accounts() -> Iterator[Account]:
    """Every phone that may send fixes now: active, of an active enrolment, reset since broker
    accounts exist (older hashes are skipped with a warning)."""
    from wangge.protection.models import Device

    rows = (
        Device.objects.filter(active=True, enrolment__active=True)
        .exclude(password_hash="")
        .order_by("identifier")
        .values_list("identifier", "password_hash")
    )
    skipped = 0
    for identifier, password_hash in rows.iterator(chunk_size=5000):
        entry = from_device_hash(password_hash)
        if entry is None:
            skipped += 1
            continue
        yield Account(device_username(identifier), entry)
    if skipped:
        logger.warning("%d phones have no broker account until their password is reset", skipped)


def password_file(accounts: Iterable[Account]) -> str:
    lines = []
    for account in accounts:
        if ":" in account.username or "\n" in account.username:
            raise ValueError(f"a broker username cannot contain ':' or a newline: {account.username!r}")
        lines.append(f"{account.username}:{account.hash}\n")
    return "".join(lines)


def acl_file(workers: Iterable[str]) -> str:
    text = "# Written by Wangge (wangge broker_sync) from its database; edits here are overwritten.\n"
    for worker in workers:
        text += f"\nuser {worker}\ntopic read {TOPIC_ROOT}/#\n"
    # %u is the authenticated username; Mosquitto refuses to substitute one containing + # /.
    text += f"\npattern readwrite {TOPIC_ROOT}/%u/#\n"
    return text


def _write(path: Path, text: str) -> None:
    """Atomically: Mosquitto never reads half a file, and a crash leaves the old one."""
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        # Owner and group (Mosquitto's, see docs/operating.md) only: hashes are still secrets.
        os.chmod(temporary, 0o640)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def reload() -> bool:
    """SIGHUP to the broker in the pid file; False (logged) when there is none to signal."""
    pid_file = settings.MQTT_BROKER_PID_FILE
    if pid_file is None:
        return False
    try:
        pid = int(Path(pid_file).read_text(encoding="ascii").strip())
        os.kill(pid, signal.SIGHUP)
    except (OSError, ValueError) as exc:
        logger.error("could not tell the broker to reload its accounts (pid file %s): %s", pid_file, exc)
        return False
    return True


def sync() -> int | None:
    """Write both files from the database and reload the broker; the number of accounts
    written, or None when Wangge does not manage the broker's accounts."""
    password_path, acl_path = settings.MQTT_BROKER_PASSWORD_FILE, settings.MQTT_BROKER_ACL_FILE
    if password_path is None or acl_path is None:
        return None
    # One writer at a time, each reading the database after taking the lock: two registrations
    # committing together cannot leave a file written from the older read.
    with open(password_path.parent / f".{password_path.name}.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        workers = worker_accounts()
        accounts = [*workers, *device_accounts()]
        _write(password_path, password_file(accounts))
        _write(acl_path, acl_file(worker.username for worker in workers))
        reload()
    return len(accounts)


def _sync_logged() -> None:
    # After the commit: the device is saved whatever happens here, so say loudly what failed.
    try:
        sync()
    except Exception:
        logger.exception("could not write the broker's accounts; run `wangge broker_sync`")


def sync_on_commit() -> None:
    """Called by the actions that add, change or end a phone's credentials."""
    if settings.MQTT_BROKER_PASSWORD_FILE is not None:
        transaction.on_commit(_sync_logged)
