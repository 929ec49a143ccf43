"""Every scoped read of missing-person protection.

Locations are the most sensitive data Wangge holds, so they have their own, narrower rule than
the registry: only the person's guardians, staff assigned to an open incident for the person, and
district administrators of the person's district may see them, and only while consent stands.
Everyone else gets a 404, exactly as for an enrolment that does not exist.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Subquery
from django.http import Http404
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from wangge.accounts import policy
from wangge.accounts.models import Role, User
from wangge.areas.geometry import distance_to_area
from wangge.core.audit import Action, audit
from wangge.core.scope import NOTHING, area_filter
from wangge.protection.models import (
    Alert,
    Consent,
    Device,
    Enrolment,
    Incident,
    Location,
    Notification,
    Profile,
    Responder,
    SafeZone,
)
from wangge.registry.models import Guardianship, Resident


def _active(user: Any) -> bool:
    return bool(getattr(user, "is_authenticated", False) and user.is_active)


def _consented() -> Exists:
    return Exists(Consent.objects.filter(enrolment=OuterRef("pk"), withdrawn_at__isnull=True, covers_tracking=True))


def enrolments_visible_to(user: Any) -> QuerySet[Enrolment]:
    if not _active(user):
        return Enrolment.objects.none()
    query = Q(resident__guardianships__guardian=user)
    query |= Q(incidents__status=Incident.Status.OPEN, incidents__searchers=user)
    query |= Q(incidents__status=Incident.Status.OPEN, incidents__responders__user=user)
    if policy.can_manage_protection(user):
        query |= area_filter(user)
    return Enrolment.objects.filter(query).distinct()


def with_list_flags(rows: QuerySet[Enrolment]) -> QuerySet[Enrolment]:
    """Annotate whether consent stands and the open incident, so a list needs no query per row."""
    open_incident = Incident.objects.filter(enrolment=OuterRef("pk"), status=Incident.Status.OPEN)
    return rows.annotate(
        consent_stands=_consented(),
        open_incident_pk=Subquery(open_incident.order_by("-opened_at").values("pk")[:1]),
    )


def get_enrolment(user: Any, pk: Any) -> Enrolment:
    try:
        return enrolments_visible_to(user).select_related("resident", "grid", "community").get(pk=pk)
    except (Enrolment.DoesNotExist, ValueError, TypeError):
        raise Http404 from None


def _location_filter(user: Any) -> Q:
    if not _active(user):
        return NOTHING
    query = Q(resident__guardianships__guardian=user)
    query |= Q(incidents__status=Incident.Status.OPEN, incidents__searchers=user)
    # The nearest workers and volunteers notified of an open incident, if consent covers sharing.
    query |= Q(
        incidents__status=Incident.Status.OPEN,
        incidents__responders__user=user,
        incidents__responders__shares_location=True,
    )
    if policy.reads_district_locations(user):
        query |= area_filter(user)
    return query


def enrolments_with_locations_visible_to(user: Any) -> QuerySet[Enrolment]:
    """Enrolments whose locations the user may read: consent stands and the user is entitled."""
    return Enrolment.objects.filter(_location_filter(user)).filter(_consented()).distinct()


def get_enrolment_for_locations(user: Any, pk: Any) -> Enrolment:
    try:
        return enrolments_with_locations_visible_to(user).select_related("resident").get(pk=pk)
    except (Enrolment.DoesNotExist, ValueError, TypeError):
        raise Http404 from None


def trail(enrolment: Enrolment, *, since: Any = None, limit: int = 5000) -> QuerySet[Location]:
    """The person's locations in time order (call only after ``get_enrolment_for_locations``)."""
    rows = Location.objects.filter(enrolment=enrolment)
    if since is not None:
        rows = rows.filter(recorded_at__gte=since)
    return rows.order_by("-recorded_at")[:limit]


def alerts_visible_to(user: Any) -> QuerySet[Alert]:
    """Alerts of the people in the user's areas, or of the people the user is guardian of."""
    if not _active(user):
        return Alert.objects.none()
    query = Q(enrolment__resident__guardianships__guardian=user)
    if policy.can_manage_protection(user):
        query |= area_filter(user)
    return Alert.objects.filter(query).distinct()


def incidents_visible_to(user: Any) -> QuerySet[Incident]:
    if not _active(user):
        return Incident.objects.none()
    query = Q(enrolment__resident__guardianships__guardian=user) | Q(searchers=user)
    query |= Q(status=Incident.Status.OPEN, responders__user=user)
    if policy.can_manage_protection(user):
        query |= area_filter(user)
    return Incident.objects.filter(query).distinct()


# -- added for the incident, page and REST side (wangge.protection.incidents / views / rest) --


def get_incident(user: Any, pk: Any) -> Incident:
    try:
        return incidents_visible_to(user).select_related("enrolment__resident", "grid", "community").get(pk=pk)
    except (Incident.DoesNotExist, ValueError, TypeError):
        raise Http404 from None


def get_alert(user: Any, pk: Any) -> Alert:
    try:
        return alerts_visible_to(user).select_related("enrolment__resident").get(pk=pk)
    except (Alert.DoesNotExist, ValueError, TypeError):
        raise Http404 from None


def _manage_filter(user: Any, *, prefix: str = "") -> Q:
    """Who may change an enrolment (consent, profile, devices, zones) and coordinate a search:
    the person's guardians, and staff whose areas hold the person."""
    if not _active(user):
        return NOTHING
    query = Q(**{f"{prefix}resident__guardianships__guardian": user})
    if policy.can_manage_protection(user):
        query |= area_filter(user, prefix=prefix)
    return query


def enrolments_managed_by(user: Any) -> QuerySet[Enrolment]:
    return Enrolment.objects.filter(_manage_filter(user)).distinct()


def can_manage(user: Any, enrolment: Enrolment) -> bool:
    return enrolments_managed_by(user).filter(pk=enrolment.pk).exists()


def can_coordinate(user: Any, incident: Incident) -> bool:
    """Assign searchers and close: guardians and area staff; a searcher may close as found too."""
    if can_manage(user, incident.enrolment):
        return True
    return incident.searchers.filter(pk=getattr(user, "pk", None)).exists()


def sees_medical_notes(user: Any, enrolment: Enrolment) -> bool:
    """Medical notes: guardians, and staff of full-detail roles responsible for the person."""
    if policy.is_guardian_of(user, enrolment.resident):
        return True
    return policy.sees_medical_notes_by_role(user) and can_manage(user, enrolment)


# The purposes the app's own location and profile reads are audited with; a caller of the API
# may give its own words.
PURPOSES = {
    "incident": gettext_lazy("走失搜寻"),
    "enrolment": gettext_lazy("查看登记"),
    "profile edit": gettext_lazy("修改档案"),
    "photo": gettext_lazy("查看照片"),
    "api": gettext_lazy("接口读取"),
}


def purpose_label(purpose: str) -> str:
    """A known purpose's name (in the current language), a caller's own words as they are."""
    label = PURPOSES.get(purpose)
    return str(label) if label is not None else purpose


def may_read_locations(user: Any, enrolment: Enrolment, *, purpose: str) -> bool:
    """Whether ``locations_for`` would answer (for showing or hiding a map; it does not read)."""
    return policy.can_read_locations(user, enrolment, purpose)


def locations_for(
    user: Any,
    enrolment: Enrolment | int,
    *,
    purpose: str,
    since: dt.datetime | None = None,
    limit: int = 5000,
) -> list[Location]:
    """The person's trail (newest first) for an entitled user, written to the audit log with
    its purpose in the same transaction; anyone else, or a withdrawn consent, is a 404."""
    purpose = purpose.strip()[:200]
    if not purpose:
        raise ValueError("a location read needs a purpose")
    pk = enrolment.pk if isinstance(enrolment, Enrolment) else enrolment
    with transaction.atomic():
        entitled = get_enrolment_for_locations(user, pk)
        rows = list(trail(entitled, since=since, limit=limit))
        audit(
            actor=user,
            action=Action.VIEW,
            obj=entitled,
            summary=_("查看位置轨迹：%(name)s（用途：%(purpose)s）")
            % {"name": entitled.resident.name, "purpose": purpose_label(purpose)},
            detail={"purpose": purpose, "since": since.isoformat() if since else None, "points": len(rows)},
        )
    return rows


def open_alerts_visible_to(user: Any) -> QuerySet[Alert]:
    return alerts_visible_to(user).filter(resolved_at__isnull=True).select_related("enrolment__resident", "grid")


def wards_of(user: Any) -> QuerySet[Resident]:
    """The residents the user is guardian of (the guardian's page)."""
    if not _active(user):
        return Resident.objects.none()
    return Resident.objects.filter(guardianships__guardian=user).distinct()


def get_device(user: Any, pk: Any) -> Device:
    """A phone, for the people who manage its enrolment."""
    try:
        return (
            Device.objects.filter(enrolment__in=enrolments_managed_by(user))
            .select_related("enrolment__resident")
            .get(pk=pk)
        )
    except (Device.DoesNotExist, ValueError, TypeError):
        raise Http404 from None


def get_zone(user: Any, pk: Any) -> SafeZone:
    try:
        return SafeZone.objects.filter(enrolment__in=enrolments_managed_by(user)).select_related("enrolment").get(pk=pk)
    except (SafeZone.DoesNotExist, ValueError, TypeError):
        raise Http404 from None


def notifications_for(user: Any, *, limit: int = 20) -> QuerySet[Notification]:
    """The user's own in-app notifications (alerts, search requests), newest first."""
    if not _active(user):
        return Notification.objects.none()
    return Notification.objects.filter(recipient=user, channel=Notification.Channel.IN_APP).order_by("-created_at")[
        :limit
    ]


def guardians_of(enrolment: Enrolment) -> list[User]:
    """The person's active guardians, who are told everything about an alert or a search."""
    return [
        g.guardian
        for g in Guardianship.objects.filter(resident_id=enrolment.resident_id).select_related("guardian")
        if g.guardian.is_active
    ]


def shares_location_with_workers(enrolment: Enrolment) -> bool:
    """Whether a standing consent lets workers and volunteers (not only guardians) be sent the
    person's location."""
    return Consent.objects.filter(
        enrolment=enrolment, withdrawn_at__isnull=True, covers_tracking=True, covers_sharing_workers=True
    ).exists()


def active_enrolment_of(resident: Resident) -> Enrolment | None:
    """The resident's current enrolment (at most one; call after the resident's own scope check)."""
    return resident.enrolments.filter(active=True).first()


def _profile_of(enrolment: Enrolment) -> Profile:
    """The missing-person profile, or an empty unsaved one for an enrolment made without."""
    return Profile.objects.filter(enrolment=enrolment).first() or Profile(enrolment=enrolment)


@dataclass(frozen=True)
class ProfileRead:
    """A missing-person profile as one user may see it: ``medical`` says whether its medical
    notes may be shown to them (they are hidden otherwise)."""

    enrolment: Enrolment
    profile: Profile
    medical: bool


def profile_for(
    user: Any, subject: Enrolment | Incident | int, *, purpose: str, medical_notes: bool = True
) -> ProfileRead:
    """The person's missing-person profile (the "Herbert protocol") for one who may see it,
    written to the audit log with its purpose and whether the medical notes were included, in
    the same transaction; out of scope is a 404. Every page and API read of a profile or of its
    medical notes comes through here.

    ``subject`` is the enrolment (or its id), or an incident of it when the profile is read on
    the incident's page: the scope is then the incident's (its searchers keep the page after
    the search closed). ``medical_notes=False`` for a read that shows no notes (the photo)."""
    purpose = purpose.strip()[:200]
    if not purpose:
        raise ValueError("a profile read needs a purpose")
    with transaction.atomic():
        if isinstance(subject, Incident):
            entitled = get_incident(user, subject.pk).enrolment
        else:
            entitled = get_enrolment(user, subject.pk if isinstance(subject, Enrolment) else subject)
        profile = _profile_of(entitled)
        medical = medical_notes and sees_medical_notes(user, entitled)
        audit(
            actor=user,
            action=Action.VIEW,
            obj=profile if profile.pk else entitled,
            summary=_("查看走失预案档案：%(name)s（用途：%(purpose)s）")
            % {"name": entitled.resident.name, "purpose": purpose_label(purpose)},
            detail={"purpose": purpose, "enrolment": entitled.pk, "medical_notes": medical},
        )
    return ProfileRead(enrolment=entitled, profile=profile, medical=medical)


def sees_zones(user: Any, enrolment: Enrolment) -> bool:
    """Whether the user may see the person's safe zones, which give away where the person lives:
    those who manage the enrolment (guardians, staff of the person's areas) always; the others
    who see it (searchers and notified responders of an open search) only while a consent covers
    sharing with workers and volunteers. Ask after the enrolment was found in the user's scope."""
    return can_manage(user, enrolment) or shares_location_with_workers(enrolment)


def zones_for(user: Any, enrolment: Enrolment | int) -> QuerySet[SafeZone]:
    """The person's safe zones for one who may see them (``sees_zones``); anyone else a 404."""
    pk = enrolment.pk if isinstance(enrolment, Enrolment) else enrolment
    entitled = get_enrolment(user, pk)
    if not sees_zones(user, entitled):
        raise Http404
    return entitled.zones.order_by("id")


def consent_document(user: Any, enrolment: Enrolment, consent_pk: Any) -> Consent:
    """A signed consent form with a file, for one who manages the enrolment; the view is audited."""
    if not can_manage(user, enrolment):
        raise Http404
    consent = enrolment.consents.filter(pk=consent_pk).exclude(document="").first()
    if consent is None:
        raise Http404
    audit(
        actor=user,
        action=Action.VIEW,
        obj=consent,
        summary=_("查看同意书：%(name)s") % {"name": enrolment.resident.name},
    )
    return consent


def searcher_candidates(incident: Incident) -> QuerySet[User]:
    """Who may be asked to search: field staff assigned on the path from the person's grid up
    to the district (district administrators only if the policy sends them to the field) and
    the people already notified (grid workers and volunteers around the last position); never
    the person's guardians (family, told already) nor those already searching."""
    ids = [i for i in (incident.grid_id, incident.community_id, incident.street_id, incident.district_id) if i]
    guardians = incident.enrolment.resident.guardianships.values("guardian_id")
    return (
        User.objects.filter(is_active=True)
        .exclude(role=Role.AUDITOR)
        .filter(
            Q(role__in=list(policy.FIELD_SEARCHER_ROLES), assignments__area_id__in=ids)
            | Q(protection_responses__incident=incident)
        )
        .exclude(pk__in=guardians)
        .exclude(pk__in=incident.searchers.values("pk"))
        .distinct()
        .order_by("full_name", "username")
    )


def incident_deliveries(incident: Incident) -> dict[str, Any]:
    """How the search's notifications (and those of the alert it came from) are getting out:
    counts by status, and the deliveries given up after every attempt, for the incident page."""
    rows = Notification.objects.filter(Q(incident=incident) | Q(alert_id=incident.alert_id, alert__isnull=False))
    counts = dict(rows.values_list("status").annotate(n=Count("id")).order_by())
    given_up = list(rows.filter(status=Notification.Status.GIVEN_UP).select_related("recipient").order_by("id")[:50])
    return {
        "total": sum(counts.values()),
        "sent": counts.get(Notification.Status.SENT, 0),
        "waiting": counts.get(Notification.Status.PENDING, 0) + counts.get(Notification.Status.FAILED, 0),
        "given_up": given_up,
        "given_up_count": counts.get(Notification.Status.GIVEN_UP, 0),
    }


# -- what must be acted on now: the banners of the home pages and the count on the tab --

URGENT_SHOWN = 5


@dataclass(frozen=True)
class Urgent:
    """The open alerts and searches that concern a user: ``alerts`` and ``incidents`` are the
    newest few (``URGENT_SHOWN``), the counts are of all of them."""

    alert_count: int
    incident_count: int
    alerts: list[Alert]
    incidents: list[Incident]

    @property
    def count(self) -> int:
        return self.alert_count + self.incident_count


def _guardian_of_person(user: Any, *, resident: str) -> Exists:
    return Exists(Guardianship.objects.filter(resident_id=OuterRef(resident), guardian=user))


def urgent_alerts_for(user: Any) -> QuerySet[Alert]:
    """Open alerts the user must act on: those of their relatives for a guardian; for staff who
    manage protection, those of the people in their areas, except a phone switched off, which is
    the family's to sort out (the alert notifies only them). Subqueries, not joins, so the rows
    need no DISTINCT and the count stays an index scan at a district's scale."""
    if not _active(user):
        return Alert.objects.none()
    query = Q(_guardian_of_person(user, resident="enrolment__resident_id"))
    if policy.can_manage_protection(user):
        query |= area_filter(user) & ~Q(kind=Alert.Kind.PHONE_OFF)
    return Alert.objects.filter(query, resolved_at__isnull=True)


def urgent_incidents_for(user: Any) -> QuerySet[Incident]:
    """Open searches the user must act on: for a relative, as a searcher or a notified responder,
    or in the areas of staff who manage protection."""
    if not _active(user):
        return Incident.objects.none()
    searcher = Incident.searchers.through.objects.filter(incident_id=OuterRef("pk"), user=user)
    query = Q(_guardian_of_person(user, resident="enrolment__resident_id"))
    query |= Q(Exists(searcher)) | Q(Exists(Responder.objects.filter(incident_id=OuterRef("pk"), user=user)))
    if policy.can_manage_protection(user):
        query |= area_filter(user)
    return Incident.objects.filter(query, status=Incident.Status.OPEN)


def urgent_for(user: Any) -> Urgent:
    """What the user must act on now: two counts, and the newest rows only when there are any
    (so a quiet home page costs two indexed counts). Kept on the user object for the request, so
    the page and the navigation's badge ask once."""
    cached = getattr(user, "_wangge_urgent", None)
    if cached is not None:
        return cached
    alerts = urgent_alerts_for(user)
    found = urgent_incidents_for(user)
    alert_count = alerts.count()
    incident_count = found.count()
    urgent = Urgent(
        alert_count=alert_count,
        incident_count=incident_count,
        alerts=list(alerts.select_related("enrolment__resident", "grid").order_by("-raised_at")[:URGENT_SHOWN])
        if alert_count
        else [],
        incidents=list(found.select_related("enrolment__resident", "grid").order_by("-opened_at")[:URGENT_SHOWN])
        if incident_count
        else [],
    )
    if _active(user):
        user._wangge_urgent = urgent
    return urgent


@dataclass(frozen=True)
class SearcherChoice:
    user: User
    role: str
    distance_m: float | None


def searcher_choices(incident: Incident) -> list[SearcherChoice]:
    """The candidates with their role and how far they are from the last position (the nearest
    of the areas they serve, 0 inside), nearest first; those of unknown distance last."""
    candidates = list(searcher_candidates(incident).prefetch_related("assignments__area"))
    responses = {r.user_id: r for r in Responder.objects.filter(incident=incident, user__in=[u.pk for u in candidates])}
    where = (incident.last_lat, incident.last_lon)
    choices: list[SearcherChoice] = []
    for user in candidates:
        response = responses.get(user.pk)
        role = response.get_kind_display() if response and response.kind == Responder.Kind.VOLUNTEER else None
        distances: list[float] = []
        if response is not None and response.distance_m is not None:
            distances.append(response.distance_m)
        if where[0] is not None and where[1] is not None:
            for assignment in user.assignments.all():
                metres = distance_to_area(
                    level=assignment.area.level, area_id=assignment.area_id, lat=where[0], lon=where[1]
                )
                if metres is not None:
                    distances.append(metres)
        choices.append(SearcherChoice(user, str(role or user.get_role_display()), min(distances, default=None)))
    return sorted(choices, key=lambda c: (c.distance_m is None, c.distance_m or 0.0, str(c.user)))
