"""The periodic check for phones gone silent outside their zone (run by the worker's jobs)."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from wangge.protection.models import Alert, Device
from wangge.protection.notify import notify_alert


def check_silent(*, now: dt.datetime | None = None) -> list[Alert]:
    """Raise ``silent`` for phones outside their zone (or with an open left-zone alert) that have
    sent nothing for ``WANGGE_SILENT_MINUTES``."""
    moment = now or timezone.now()
    cutoff = moment - dt.timedelta(minutes=settings.WANGGE_SILENT_MINUTES)
    open_silent = Alert.objects.filter(kind=Alert.Kind.SILENT, resolved_at__isnull=True).values("enrolment_id")
    left = Alert.objects.filter(kind=Alert.Kind.LEFT_ZONE, resolved_at__isnull=True).values("enrolment_id")
    candidates = (
        Device.objects.filter(active=True, enrolment__active=True, last_seen__lt=cutoff)
        .exclude(enrolment_id__in=open_silent)
        .filter(enrolment__consents__withdrawn_at__isnull=True, enrolment__consents__covers_tracking=True)
        .filter(Q(outside_since__isnull=False) | Q(enrolment_id__in=left))
        .select_related("enrolment")
        .distinct()
    )
    alerts: list[Alert] = []
    with transaction.atomic():
        for device in candidates:
            if any(a.enrolment_id == device.enrolment_id for a in alerts):
                continue
            alert = Alert(
                enrolment=device.enrolment,
                device=device,
                kind=Alert.Kind.SILENT,
                raised_at=moment,
                lat=device.last_lat,
                lon=device.last_lon,
                fix_at=device.last_seen,
                detail={"silent_minutes": int((moment - (device.last_seen or moment)).total_seconds() // 60)},
            )
            alert.copy_scope(device.enrolment)
            alert.save()
            notify_alert(alert)
            alerts.append(alert)
    return alerts
