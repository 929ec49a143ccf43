"""Slowing down password guessing: failed sign-ins counted in Django's cache.

Per username and address: after ``MAX_FAILURES`` failures the pair is locked out until
``LOCK_SECONDS`` after the first of them, even for the right password; a success clears it.
Per address: ``MAX_FAILURES_PER_ADDRESS`` failures over any usernames (password spraying).
The check sits in the authentication backend, so the login page, the admin's login and the API
token endpoint share one count. Locking by username alone would let anyone lock a grid worker
out of their own account from anywhere; an address keeps that to the attacker's own.

The count lives in the default cache, files under the data directory that every server process
shares (settings.CACHES); its add and incr are not atomic, so a burst of parallel guesses may
be undercounted by a few, which a lock after five still bounds.
"""

from __future__ import annotations

import hashlib
from typing import Any

from django.core.cache import cache

from wangge.core.middleware import client_ip

MAX_FAILURES = 5
MAX_FAILURES_PER_ADDRESS = 30
LOCK_SECONDS = 15 * 60


def _key(*parts: str) -> str:
    digest = hashlib.sha256("\x00".join(parts).encode("utf-8")).hexdigest()[:32]
    return f"wangge:login-failures:{digest}"


def _keys(username: str, ip: str) -> tuple[str, str]:
    return _key("user", username.strip().casefold(), ip), _key("address", ip)


def address_of(request: Any) -> str:
    return (client_ip(request) if request is not None else None) or "-"


def is_locked(*, username: str, ip: str) -> bool:
    pair, address = _keys(username, ip)
    counts = cache.get_many([pair, address])
    return counts.get(pair, 0) >= MAX_FAILURES or counts.get(address, 0) >= MAX_FAILURES_PER_ADDRESS


def record_failure(*, username: str, ip: str) -> None:
    for key in _keys(username, ip):
        # add() starts the window at the first failure; incr() keeps that expiry.
        if not cache.add(key, 1, LOCK_SECONDS):
            try:
                cache.incr(key)
            except ValueError:  # expired between add() and incr()
                cache.add(key, 1, LOCK_SECONDS)


def reset(*, username: str, ip: str) -> None:
    """A successful sign-in forgets that pair's failures (not the address's spraying count)."""
    cache.delete(_keys(username, ip)[0])
