"""Abuse defence without a captcha: fixed-window counters in Django's cache (shared by every
server process), per client app, per address and per phone."""

from __future__ import annotations

import hashlib

from django.core.cache import cache


def allow(*parts: str, limit: int, seconds: int) -> bool:
    """Count one hit in the window of ``parts``; False once more than ``limit`` were counted."""
    digest = hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:32]
    key = f"wangge:open311:{digest}"
    if cache.add(key, 1, seconds):
        return limit >= 1
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add() and incr()
        cache.add(key, 1, seconds)
        count = 1
    return count <= limit
