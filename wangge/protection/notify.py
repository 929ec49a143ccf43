"""Notifications for alerts and incidents: stored first, then delivered and retried.

Every notification is a row before anything is sent, so none is silently lost: the first
attempt runs right after the transaction that created it commits, and the worker retries
failures with exponential back-off until delivered or given up after ``MAX_ATTEMPTS``.

Channels: in-app (delivering = making it visible in the recipient's list), e-mail through
Django's mail, SMS through an adapter named by ``WANGGE_SMS_BACKEND`` (a class with
``send(phone, text)``; the default only logs — a real gateway such as Aliyun or Tencent Cloud SMS
is a ten-line subclass), and a webhook signed with HMAC-SHA256 over the raw body
(header ``X-Wangge-Signature: sha256=<hex>``, secret ``WANGGE_WEBHOOK_SECRET``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import logging
import urllib.request
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _

from wangge.accounts.models import Role, User
from wangge.protection import queries
from wangge.protection.models import Alert, Incident, Notification

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
WEBHOOK_TIMEOUT = 5.0


class LoggingSmsBackend:
    """The default SMS gateway: writes the message to the log and succeeds."""

    def send(self, phone: str, text: str) -> None:
        logger.warning("SMS to %s: %s", phone, text)


def sign(body: bytes, secret: str) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


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
    """Create the notifications (every channel the user can be reached on) and send after commit."""
    rows = []
    for user in users:
        rows.append(Notification(alert=alert, incident=incident, recipient=user, channel="in_app", payload=payload))
        if user.email:
            rows.append(
                Notification(
                    alert=alert, incident=incident, recipient=user, address=user.email, channel="email", payload=payload
                )
            )
        if user.phone:
            rows.append(
                Notification(
                    alert=alert, incident=incident, recipient=user, address=user.phone, channel="sms", payload=payload
                )
            )
    if settings.WANGGE_WEBHOOK_URL:
        rows.append(
            Notification(
                alert=alert, incident=incident, address=settings.WANGGE_WEBHOOK_URL, channel="webhook", payload=payload
            )
        )
    created = Notification.objects.bulk_create(rows)
    ids = [row.pk for row in created if row.pk is not None]
    if len(ids) != len(created):  # backends that do not return ids from bulk inserts
        ids = list(
            Notification.objects.filter(alert=alert, incident=incident, status="pending").values_list("id", flat=True)
        )
    transaction.on_commit(lambda: deliver(ids))
    return created


def notify_alert(alert: Alert) -> list[Notification]:
    return queue_for_users(users=alert_recipients(alert), payload=alert_message(alert), alert=alert)


def _send(notification: Notification) -> None:
    payload = notification.payload
    text = f"{payload.get('title', '')}\n{payload.get('body', '')}".strip()
    if notification.channel == Notification.Channel.IN_APP:
        return  # stored and listed: that is the delivery
    if notification.channel == Notification.Channel.EMAIL:
        send_mail(str(payload.get("title", "")), text, None, [notification.address], fail_silently=False)
        return
    if notification.channel == Notification.Channel.SMS:
        import_string(settings.WANGGE_SMS_BACKEND)().send(notification.address, text)
        return
    if notification.channel == Notification.Channel.WEBHOOK:
        body = json.dumps(payload, ensure_ascii=False, sort_keys=True).encode()
        request = urllib.request.Request(
            notification.address,
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/json; charset=utf-8",
                "X-Wangge-Signature": sign(body, settings.WANGGE_WEBHOOK_SECRET),
                "X-Wangge-Notification": str(notification.pk),
            },
        )
        with urllib.request.urlopen(request, timeout=WEBHOOK_TIMEOUT) as response:
            if response.status >= 300:
                raise OSError(f"HTTP {response.status}")
        return
    raise ValueError(f"unknown channel {notification.channel}")


def backoff(attempts: int) -> dt.timedelta:
    return dt.timedelta(seconds=min(3600, 30 * 2 ** max(0, attempts - 1)))


def deliver(ids: Iterable[int], *, now: dt.datetime | None = None) -> int:
    """Attempt each pending or failed notification once; returns how many were sent."""
    sent = 0
    for notification in Notification.objects.filter(
        id__in=list(ids), status__in=[Notification.Status.PENDING, Notification.Status.FAILED]
    ):
        moment = now or timezone.now()
        notification.attempts += 1
        try:
            _send(notification)
        except Exception as exc:  # any gateway failure is recorded and retried, never lost
            notification.last_error = f"{type(exc).__name__}: {exc}"[:500]
            if notification.attempts >= MAX_ATTEMPTS:
                notification.status = Notification.Status.GIVEN_UP
                logger.error("notification %s given up: %s", notification.pk, notification.last_error)
            else:
                notification.status = Notification.Status.FAILED
                notification.next_attempt_at = moment + backoff(notification.attempts)
        else:
            notification.status = Notification.Status.SENT
            notification.sent_at = moment
            notification.last_error = ""
            sent += 1
        notification.save(update_fields=["attempts", "status", "next_attempt_at", "sent_at", "last_error"])
    return sent


def retry_due(*, now: dt.datetime | None = None, limit: int = 200) -> int:
    moment = now or timezone.now()
    with transaction.atomic():
        ids = list(
            Notification.objects.select_for_update(skip_locked=True)
            .filter(status__in=[Notification.Status.PENDING, Notification.Status.FAILED], next_attempt_at__lte=moment)
            .order_by("next_attempt_at")
            .values_list("id", flat=True)[:limit]
        )
    return deliver(ids, now=moment)
