"""Periodic jobs of the worker: silent phones, location retention. (Notifications, first
attempts and retries alike, are delivered by the worker's senders: see ``notify``.)"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from wangge.protection.ingest.silent import check_silent
from wangge.protection.models import Alert, Incident, Location


def purge_locations(*, now: dt.datetime | None = None, chunk: int = 5000) -> int:
    """Delete locations older than ``WANGGE_LOCATION_RETENTION_DAYS``, except those of people
    with an open incident (the trail is evidence while the search goes on)."""
    cutoff = (now or timezone.now()) - dt.timedelta(days=settings.WANGGE_LOCATION_RETENTION_DAYS)
    kept = Incident.objects.filter(status=Incident.Status.OPEN).values("enrolment_id")
    deleted = 0
    while True:
        ids = list(
            Location.objects.filter(received_at__lt=cutoff)
            .exclude(enrolment_id__in=kept)
            .values_list("id", flat=True)[:chunk]
        )
        if not ids:
            return deleted
        with transaction.atomic():
            # Alerts keep their own copy of the fix; only the link goes.
            Alert.objects.filter(location_id__in=ids).update(location=None)
            deleted += Location.objects.filter(id__in=ids)._raw_delete(Location.objects.db)


JOBS = {
    # name: (every seconds, function)
    "silent": (60, lambda now: len(check_silent(now=now))),
    "retention": (3600, lambda now: purge_locations(now=now)),
}
