"""What the people searching for a missing person are sent: the profile a searcher needs,
and the location only to guardians, or to others when the consent covers sharing."""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from wangge.accounts.models import User
from wangge.protection import queries
from wangge.protection.models import Enrolment, Incident, Notification
from wangge.protection.notify import queue_for_users


def profile_summary(enrolment: Enrolment) -> dict[str, str]:
    """The parts of the profile a searcher needs; never the medical notes."""
    profile = getattr(enrolment, "profile", None)
    resident = enrolment.resident
    summary = {
        "name": resident.name,
        "sex": resident.get_sex_display(),
        "birth_year": str(resident.birth_date.year),
        "appearance": "",
        "habits": "",
        "routines": "",
        "places": "",
        "guardian_phones": "",
        "photo": "",
    }
    if profile is not None:
        summary.update(
            appearance=profile.appearance,
            habits=profile.habits,
            routines=profile.routines,
            places=profile.places,
            guardian_phones=profile.guardian_phones,
            photo=reverse("protection:photo", args=[enrolment.pk]) if profile.photo else "",
        )
    return summary


def incident_message(incident: Incident, *, with_location: bool, title: str = "") -> dict[str, Any]:
    enrolment = incident.enrolment
    profile = profile_summary(enrolment)
    lines = [
        _("%(name)s（%(sex)s，%(year)s年生）走失，请协助寻找。")
        % {"name": profile["name"], "sex": profile["sex"], "year": profile["birth_year"]}
    ]
    if with_location and incident.last_lat is not None and incident.last_lon is not None:
        when = (
            timezone.localtime(incident.last_seen_at).strftime("%Y-%m-%d %H:%M")
            if incident.last_seen_at
            else _("时间不详")
        )
        lines.append(
            _("最后已知位置：%(lat).6f, %(lon).6f（%(when)s）")
            % {"lat": incident.last_lat, "lon": incident.last_lon, "when": when}
        )
    if profile["appearance"]:
        lines.append(_("外貌特征：%(text)s") % {"text": profile["appearance"]})
    if profile["places"]:
        lines.append(_("常去地点：%(text)s") % {"text": profile["places"]})
    if profile["guardian_phones"]:
        lines.append(_("监护人：%(text)s") % {"text": profile["guardian_phones"].replace("\n", "；")})
    payload: dict[str, Any] = {
        "title": title or _("走失协查：%(name)s") % {"name": profile["name"]},
        "body": "\n".join(lines),
        "incident": incident.pk,
        "enrolment": enrolment.pk,
        "profile": profile,
        "url": reverse("protection:incident", args=[incident.pk]),
        "opened_at": incident.opened_at.isoformat(),
    }
    if with_location:
        payload.update(
            lat=incident.last_lat,
            lon=incident.last_lon,
            last_seen_at=incident.last_seen_at.isoformat() if incident.last_seen_at else None,
            last_source=incident.last_source,
        )
    return payload


def notify_incident(
    incident: Incident, *, users: list[User], exclude: Any = None, title: str = ""
) -> list[Notification]:
    """Guardians get the location; the others get it only if the consent covers sharing."""
    guardians = {u.pk for u in queries.guardians_of(incident.enrolment)}
    excluded = getattr(exclude, "pk", None)
    targets = {u.pk: u for u in users if u.pk != excluded}
    shares = queries.shares_location_with_workers(incident.enrolment)
    with_location = [u for u in targets.values() if shares or u.pk in guardians]
    without = [u for u in targets.values() if not (shares or u.pk in guardians)]
    rows: list[Notification] = []
    if with_location:
        rows += queue_for_users(
            users=with_location, payload=incident_message(incident, with_location=True, title=title), incident=incident
        )
    if without:
        rows += queue_for_users(
            users=without, payload=incident_message(incident, with_location=False, title=title), incident=incident
        )
    return rows
