"""Telling people things from any app: an SMS to a phone number, or a notification to accounts.

The outbox that stores and delivers them belongs to an app above core (protection's, with its
senders and retries); it registers itself here at start-up (``register_outbox``), so apps that
may not import it (cases) can still queue messages. Like the outbox, these only write rows in the
caller's transaction: nothing is sent until it commits, and a rollback leaves nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Outbox:
    sms: Callable[..., Any]  # sms(*, phone: str, text: str)
    users: Callable[..., Any]  # users(*, users: Iterable[User], title: str, body: str, url: str)


_outbox: Outbox | None = None


def register_outbox(*, sms: Callable[..., Any], users: Callable[..., Any]) -> None:
    global _outbox
    _outbox = Outbox(sms=sms, users=users)


def _registered() -> Outbox:
    if _outbox is None:
        raise RuntimeError("no notification outbox is registered (is wangge.protection installed?)")
    return _outbox


def queue_sms(*, phone: str, text: str) -> None:
    """Queue one SMS to ``phone`` (a resident without an account)."""
    _registered().sms(phone=phone, text=text)


def notify_users(*, users: Iterable[Any], title: str, body: str, url: str = "") -> None:
    """Queue a notification to each account on every channel it can be reached on."""
    _registered().users(users=list(users), title=title, body=body, url=url)
