"""Notifications for alerts and incidents: an outbox, delivered by the worker's senders.

A notification is a row per recipient and channel, written in the same transaction as the
alert or incident that causes it (a rollback leaves none) and never sent by the code that
stores it: storing a location or opening an incident does no network I/O. The worker runs a
sender thread per channel (``sender_threads``), so a webhook that never answers holds up only
webhooks, never location ingest nor the SMS to people. Each sender takes the most urgent due
delivery of its channel (``priority``: SOS and missing-person searches first), leases it in a
short transaction of its own (``claimed_by``/``claimed_until``; a conditional UPDATE only one
sender can win, on SQLite and PostgreSQL alike) and only then sends it, with the channel's
timeout; so a retry and a first attempt can never both send. A failure is retried with
exponential back-off; after ``MAX_ATTEMPTS`` the delivery is given up, logged and shown on the
incident page. A sender that dies mid-send leaves its lease to expire (the channel's timeout
plus ``LEASE_GRACE``), after which another sender tries again: delivery is at least once only
when a sender is killed while sending, or the database fails between a send and its record.

Channels: in-app (delivering = making it visible in the recipient's list), e-mail through
Django's mail, SMS through an adapter named by ``WANGGE_SMS_BACKEND`` (a class with
``send(phone, text, *, timeout)``; ``timeout`` may be left out of adapters that cannot honour
it; the default only logs — a real gateway such as Aliyun or Tencent Cloud SMS is a ten-line
subclass), and a webhook signed with HMAC-SHA256 over the raw body (header
``X-Wangge-Signature: sha256=<hex>``, secret ``WANGGE_WEBHOOK_SECRET``). Timeouts per channel:
``WANGGE_SMS_TIMEOUT_SECONDS``, ``WANGGE_EMAIL_TIMEOUT_SECONDS``, ``WANGGE_WEBHOOK_TIMEOUT_SECONDS``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import inspect
import json
import logging
import threading
import urllib.request
import uuid
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from django.conf import settings
from django.core.mail import get_connection, send_mail
from django.db import OperationalError, close_old_connections, connection, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _

from wangge.accounts.models import Role, User
from wangge.protection import queries
from wangge.protection.models import Alert, Incident, Notification

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
# How long past its channel's timeout a sender's lease on a delivery lasts.
LEASE_GRACE = dt.timedelta(seconds=30)
# How often an idle sender looks for deliveries written by other processes (the web server);
# those written by this process wake it at once.
POLL_SECONDS = 0.5
# Most urgent first: people (SMS, in-app) before e-mail before systems (webhooks); within a
# channel an SOS or a missing-person search before a left zone or silence, before the rest.
CHANNEL_RANK = {"sms": 0, "in_app": 0, "email": 1, "webhook": 2}
CHANNELS = ("sms", "in_app", "email", "webhook")


class LoggingSmsBackend:
    """The default SMS gateway: writes the message to the log and succeeds."""

    def send(self, phone: str, text: str, *, timeout: float | None = None) -> None:
        logger.warning("SMS to %s: %s", phone, text)


def timeout_for(channel: str) -> float:
    """Seconds a send on ``channel`` may take (in-app sends nothing: it is stored)."""
    return float(
        {
            "sms": settings.WANGGE_SMS_TIMEOUT_SECONDS,
            "email": settings.WANGGE_EMAIL_TIMEOUT_SECONDS,
            "webhook": settings.WANGGE_WEBHOOK_TIMEOUT_SECONDS,
        }.get(channel, 1.0)
    )


def priority(channel: str, *, alert: Alert | None, incident: Incident | None) -> int:
    if incident is not None or (alert is not None and alert.kind == Alert.Kind.SOS):
        cause = 0
    elif alert is not None and alert.kind in (Alert.Kind.LEFT_ZONE, Alert.Kind.SILENT):
        cause = 1
    else:
        cause = 2
    return CHANNEL_RANK[channel] * 10 + cause


# The events of this process's idle senders: set after a commit that wrote deliveries.
_wakers: set[threading.Event] = set()
_wakers_lock = threading.Lock()


def wake() -> None:
    with _wakers_lock:
        for event in _wakers:
            event.set()


def sign(body: bytes, secret: str) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


# A webhook whose payload names a signer (``SIGNER_KEY: "<app>:<reference>"``) is signed with
# the secret that app's registered function returns for the reference (Open311 client apps sign
# with their own secret), else with WANGGE_WEBHOOK_SECRET. The key is not sent.
SIGNER_KEY = "_signer"
_signers: dict[str, Callable[[str], str | None]] = {}


def register_signer(prefix: str, secret_of: Callable[[str], str | None]) -> None:
    _signers[prefix] = secret_of


def webhook_body_and_secret(payload: dict[str, Any]) -> tuple[bytes, str]:
    signer = payload.get(SIGNER_KEY)
    sent = {k: v for k, v in payload.items() if k != SIGNER_KEY}
    body = json.dumps(sent, ensure_ascii=False, sort_keys=True).encode()
    if signer is None:
        return body, settings.WANGGE_WEBHOOK_SECRET
    prefix, _sep, reference = str(signer).partition(":")
    secret_of = _signers.get(prefix)
    secret = secret_of(reference) if secret_of is not None else None
    if not secret:
        raise OSError(f"no signing secret for {signer}")  # retried later; never sent unsigned
    return body, secret


def alert_recipients(alert: Alert) -> list[User]:
    """The person's guardians, and the grid workers of their grid if consent allows sharing."""
    enrolment = alert.enrolment
    users: dict[int, User] = {user.pk: user for user in queries.guardians_of(enrolment)}
    if alert.kind == Alert.Kind.PHONE_OFF:
        return list(users.values())  # a phone left off at home is the family's to sort out
    if queries.shares_location_with_workers(enrolment) and enrolment.grid_id:
        for worker in User.objects.filter(
            role=Role.GRID_WORKER, is_active=True, assignments__area_id=enrolment.grid_id
        ).distinct():
            users[worker.pk] = worker
    return list(users.values())


def alert_message(alert: Alert) -> dict[str, Any]:
    resident = alert.enrolment.resident
    when = timezone.localtime(alert.fix_at or alert.raised_at)
    title = _("%(name)s：%(kind)s") % {"name": resident.name, "kind": alert.get_kind_display()}
    body = _("时间 %(time)s，位置 %(lat).6f, %(lon).6f。请尽快联系或前往查看。") % {
        "time": f"{when:%Y-%m-%d %H:%M}",
        "lat": alert.lat or 0.0,
        "lon": alert.lon or 0.0,
    }
    return {
        "title": title,
        "body": body,
        "alert": alert.pk,
        "kind": alert.kind,
        "enrolment": alert.enrolment_id,
        "lat": alert.lat,
        "lon": alert.lon,
        "at": (alert.fix_at or alert.raised_at).isoformat(),
    }


def queue_for_users(
    *, users: Iterable[User], payload: dict[str, Any], alert: Alert | None = None, incident: Incident | None = None
) -> list[Notification]:
    """Write the deliveries (every channel each user can be reached on, and the webhook) in the
    caller's transaction; the worker's senders deliver them once it commits. Sends nothing."""
    rows = []

    def row(channel: str, recipient: User | None, address: str = "") -> Notification:
        return Notification(
            alert=alert,
            incident=incident,
            recipient=recipient,
            address=address,
            channel=channel,
            payload=payload,
            priority=priority(channel, alert=alert, incident=incident),
        )

    for user in users:
        rows.append(row("in_app", user))
        if user.phone:
            rows.append(row("sms", user, user.phone))
        if user.email:
            rows.append(row("email", user, user.email))
    if settings.WANGGE_WEBHOOK_URL:
        rows.append(row("webhook", None, settings.WANGGE_WEBHOOK_URL))
    created = Notification.objects.bulk_create(rows)
    transaction.on_commit(wake)
    return created


def notify_alert(alert: Alert) -> list[Notification]:
    return queue_for_users(users=alert_recipients(alert), payload=alert_message(alert), alert=alert)


def _send(notification: Notification) -> None:
    payload = notification.payload
    text = f"{payload.get('title', '')}\n{payload.get('body', '')}".strip()
    timeout = timeout_for(notification.channel)
    if notification.channel == Notification.Channel.IN_APP:
        return  # stored and listed: that is the delivery
    if notification.channel == Notification.Channel.EMAIL:
        mail = get_connection(timeout=timeout)
        send_mail(str(payload.get("title", "")), text, None, [notification.address], connection=mail)
        return
    if notification.channel == Notification.Channel.SMS:
        backend = import_string(settings.WANGGE_SMS_BACKEND)()
        if "timeout" in inspect.signature(backend.send).parameters:
            backend.send(notification.address, text, timeout=timeout)
        else:
            backend.send(notification.address, text)
        return
    if notification.channel == Notification.Channel.WEBHOOK:
        body, secret = webhook_body_and_secret(payload)
        request = urllib.request.Request(
            notification.address,
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/json; charset=utf-8",
                "X-Wangge-Signature": sign(body, secret),
                "X-Wangge-Notification": str(notification.pk),
            },
        )
        with urllib.request.urlopen(request, timeout=timeout) as response:
            if response.status >= 300:
                raise OSError(f"HTTP {response.status}")
        return
    raise ValueError(f"unknown channel {notification.channel}")


def backoff(attempts: int) -> dt.timedelta:
    return dt.timedelta(seconds=min(3600, 30 * 2 ** max(0, attempts - 1)))


def _due(now: dt.datetime) -> Q:
    return Q(status__in=[Notification.Status.PENDING, Notification.Status.FAILED], next_attempt_at__lte=now) & (
        Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)
    )


def claim(*, channels: Sequence[str], sender: str, now: dt.datetime | None = None) -> tuple[Notification, str] | None:
    """Lease the most urgent due delivery of ``channels`` for ``sender``: the delivery and the
    lease's token, or None if nothing is due. The lease is a conditional UPDATE committed before
    anything is sent, which only one sender can win; the attempt is counted there."""
    moment = now or timezone.now()
    candidates = list(
        Notification.objects.filter(_due(moment), channel__in=list(channels))
        .order_by("priority", "next_attempt_at", "id")
        .values_list("id", "channel")[:20]
    )
    for pk, channel in candidates:
        token = f"{sender}:{uuid.uuid4().hex[:12]}"[-100:]
        until = moment + dt.timedelta(seconds=timeout_for(channel)) + LEASE_GRACE
        with transaction.atomic():
            won = Notification.objects.filter(_due(moment), pk=pk).update(
                claimed_by=token, claimed_until=until, attempts=F("attempts") + 1
            )
        if won:
            return Notification.objects.get(pk=pk), token
    return None


def deliver_one(*, channels: Sequence[str] = CHANNELS, sender: str, now: dt.datetime | None = None) -> bool:
    """Claim, send and record one due delivery; False if none was due."""
    claimed = claim(channels=channels, sender=sender, now=now)
    if claimed is None:
        return False
    notification, token = claimed
    error = ""
    try:
        _send(notification)
    except Exception as exc:  # any gateway failure is recorded and retried, never lost
        error = f"{type(exc).__name__}: {exc}"[:500] or type(exc).__name__
    moment = now or timezone.now()
    fields: dict[str, Any] = {"claimed_by": "", "claimed_until": None, "last_error": error}
    if not error:
        fields.update(status=Notification.Status.SENT, sent_at=moment)
    elif notification.attempts >= MAX_ATTEMPTS:
        fields.update(status=Notification.Status.GIVEN_UP)
        logger.error("notification %s (%s) given up: %s", notification.pk, notification.channel, error)
    else:
        fields.update(status=Notification.Status.FAILED, next_attempt_at=moment + backoff(notification.attempts))
        logger.warning("notification %s (%s) failed, will retry: %s", notification.pk, notification.channel, error)
    if not Notification.objects.filter(pk=notification.pk, claimed_by=token).update(**fields):
        # The send outlasted its lease (an adapter that ignores its timeout) and another sender
        # took the delivery over; its outcome is the one recorded.
        logger.error("notification %s: lease lost while sending (%s)", notification.pk, error or "sent")
    return True


def deliver_due(
    *, channels: Sequence[str] = CHANNELS, sender: str = "deliver", now: dt.datetime | None = None, limit: int = 200
) -> int:
    """Deliver due deliveries of ``channels``, most urgent first, until none is due (at most
    ``limit``); how many were attempted."""
    attempted = 0
    while attempted < limit and deliver_one(channels=channels, sender=sender, now=now):
        attempted += 1
    return attempted


class Sender(threading.Thread):
    """A worker thread delivering one channel's notifications until ``stop`` is set."""

    def __init__(self, *, worker: str, channels: Sequence[str], stop: threading.Event, poll: float = POLL_SECONDS):
        super().__init__(name=f"notify-{'+'.join(channels)}", daemon=True)
        self.sender = f"{worker}/{'+'.join(channels)}"
        self.channels = tuple(channels)
        self.stop = stop
        self.poll = poll
        self.woken = threading.Event()

    def run(self) -> None:
        with _wakers_lock:
            _wakers.add(self.woken)
        try:
            while not self.stop.is_set():
                self.woken.clear()
                try:
                    while not self.stop.is_set() and deliver_one(channels=self.channels, sender=self.sender):
                        pass
                except OperationalError:
                    logger.exception("%s: database error; retrying", self.name)
                    close_old_connections()
                except Exception:
                    logger.exception("%s failed", self.name)
                self.woken.wait(self.poll)
        finally:
            with _wakers_lock:
                _wakers.discard(self.woken)
            connection.close()


def sender_threads(*, worker: str, stop: threading.Event, poll: float = POLL_SECONDS) -> list[Sender]:
    """One sender per channel (not started), so a hung gateway holds up only its own channel."""
    return [Sender(worker=worker, channels=[channel], stop=stop, poll=poll) for channel in CHANNELS]


def queue_sms(*, phone: str, text: str) -> Notification:
    """One SMS to a phone number that belongs to no account (a resident), in the caller's
    transaction; the SMS sender delivers it after the commit. Registered as core's outbox."""
    notification = Notification.objects.create(
        address=phone,
        channel=Notification.Channel.SMS,
        payload={"body": text},
        priority=priority("sms", alert=None, incident=None),
    )
    transaction.on_commit(wake)
    return notification


def notify_users(*, users: Iterable[User], title: str, body: str, url: str = "") -> list[Notification]:
    """A notification from another app (a case escalated): every channel each user has."""
    return queue_for_users(users=users, payload={"title": title, "body": body, "url": url})
