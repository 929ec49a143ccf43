"""The periodic checks for people whose phones have gone quiet (run by the worker's jobs).

Both are about the person, not one phone: a person is silent only when every active phone is.
- ``silent``: outside their zone (or with an open left-zone alert) and no fix for
  ``WANGGE_SILENT_MINUTES`` — they may be lost and out of reach; everyone a left-zone alert
  reaches is told.
- ``phone_off``: at home (not outside) and no fix for ``WANGGE_PHONE_OFF_HOURS`` — most likely
  the phone is off, flat or left behind; only the guardians are told, so they can charge it
  or switch it on again.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, Max, OuterRef, Q
from django.utils import timezone

from wangge.protection.ingest.alerts import save_open_alert
from wangge.protection.models import Alert, Consent, Device, Enrolment
from wangge.protection.notify import notify_alert


def _quiet_people(*, kind: str, cutoff: dt.datetime, outside: bool) -> list[tuple[Enrolment, Device]]:
    """People with an active phone and consent, none of whose active phones has reported since
    ``cutoff``, outside (or not) and without an open alert of ``kind``; each with the phone
    that reported last (the alert names it and its last fix)."""
    open_alert = Alert.objects.filter(enrolment=OuterRef("pk"), resolved_at__isnull=True)
    is_outside = Q(outside_since__isnull=False) | Exists(open_alert.filter(kind=Alert.Kind.LEFT_ZONE))
    people = (
        Enrolment.objects.filter(active=True)
        .filter(
            Exists(Consent.objects.filter(enrolment=OuterRef("pk"), withdrawn_at__isnull=True, covers_tracking=True))
        )
        .filter(is_outside if outside else ~is_outside)
        .exclude(Exists(open_alert.filter(kind=kind)))
        .annotate(latest=Max("devices__last_seen", filter=Q(devices__active=True)))
        .filter(latest__lt=cutoff)
        .select_related("resident")
    )
    found: list[tuple[Enrolment, Device]] = []
    for enrolment in people:
        device = (
            Device.objects.filter(enrolment=enrolment, active=True, last_seen__isnull=False)
            .order_by("-last_seen", "id")
            .first()
        )
        if device is not None:
            found.append((enrolment, device))
    return found


def _raise(kind: str, enrolment: Enrolment, device: Device, moment: dt.datetime) -> Alert | None:
    quiet = moment - (device.last_seen or moment)
    alert = Alert(
        enrolment=enrolment,
        device=device,
        kind=kind,
        raised_at=moment,
        lat=device.last_lat,
        lon=device.last_lon,
        fix_at=device.last_seen,
        detail={"phone": device.name, "silent_minutes": int(quiet.total_seconds() // 60)},
    )
    alert.copy_scope(enrolment)
    with transaction.atomic():  # the alert and its notifications together
        if not save_open_alert(alert):
            return None  # another worker's job raised it first
        notify_alert(alert)
    return alert


def check_silent(*, now: dt.datetime | None = None) -> list[Alert]:
    """Raise ``silent`` and ``phone_off`` for people whose every active phone has gone quiet."""
    moment = now or timezone.now()
    alerts: list[Alert] = []
    checks = (
        (Alert.Kind.SILENT, dt.timedelta(minutes=settings.WANGGE_SILENT_MINUTES), True),
        (Alert.Kind.PHONE_OFF, dt.timedelta(hours=settings.WANGGE_PHONE_OFF_HOURS), False),
    )
    for kind, quiet_for, outside in checks:
        for enrolment, device in _quiet_people(kind=kind, cutoff=moment - quiet_for, outside=outside):
            alert = _raise(kind, enrolment, device, moment)
            if alert is not None:
                alerts.append(alert)
    return alerts
