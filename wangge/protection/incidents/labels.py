"""Durations of a search as figures (seconds, for the API and the audit log) and as the
labels the pages show."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone
from django.utils.translation import gettext as _

from wangge.protection.models import Incident


def time_to_found(incident: Incident) -> dt.timedelta | None:
    if incident.found_at is None:
        return None
    return max(dt.timedelta(0), incident.found_at - incident.opened_at)


def elapsed(incident: Incident, *, now: dt.datetime | None = None) -> dt.timedelta:
    end = incident.closed_at if incident.status == Incident.Status.CLOSED and incident.closed_at else None
    return max(dt.timedelta(0), (end or now or timezone.now()) - incident.opened_at)


def seconds(delta: dt.timedelta | None) -> int | None:
    return None if delta is None else int(delta.total_seconds())


def duration_label(delta: dt.timedelta | None) -> str:
    """``3小时05分`` — how the pages show elapsed time and time to found."""
    if delta is None:
        return ""
    minutes = int(delta.total_seconds() // 60)
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    if days:
        return _("%(d)d天%(h)d小时%(m)02d分") % {"d": days, "h": hours, "m": minutes}
    if hours:
        return _("%(h)d小时%(m)02d分") % {"h": hours, "m": minutes}
    return _("%(m)d分钟") % {"m": minutes}
