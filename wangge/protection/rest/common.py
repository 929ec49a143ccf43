"""What the protection REST views share: the audited purpose of a location or profile read,
out-of-scope as 404, an action's refusal as 400, and the incident body every incident endpoint answers."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter
from rest_framework import exceptions
from rest_framework.request import Request

from wangge.protection import queries, serializers
from wangge.protection.models import Enrolment, Incident

PURPOSE = OpenApiParameter("purpose", str, required=True, description="why the location is read (audited)")
PROFILE_PURPOSE = OpenApiParameter(
    "purpose", str, required=False, description='why the profile is read (audited; "api" if not given)'
)
TAGS = ["protection"]
# The purpose ``may_read_locations`` is asked with for sighting coordinates in an incident body.
INCIDENT_PURPOSE = "incident"


def bad_request(exc: DjangoValidationError) -> exceptions.ValidationError:
    return exceptions.ValidationError({"detail": exc.messages})


def purpose_of(request: Request) -> str:
    """The ``purpose`` query parameter every location read must give (400 without)."""
    purpose = (request.query_params.get("purpose") or "").strip()
    if not purpose:
        raise exceptions.ValidationError({"purpose": [_("查看位置必须说明用途")]})
    return purpose[:200]


def profile_purpose(request: Request) -> str:
    """The ``purpose`` a profile read is audited with: the caller's, or "api". Optional, unlike
    a location read's, so that clients reading profiles before it was audited keep working."""
    return (request.query_params.get("purpose") or "").strip()[:200] or "api"


def managed(request: Request, enrolment: Enrolment) -> Enrolment:
    if not queries.can_manage(request.user, enrolment):
        raise Http404
    return enrolment


def incident_detail(request: Request, incident: Incident) -> dict[str, Any]:
    # Sighting coordinates only for those entitled to the person's locations; no audit entry
    # here because the list of updates is not the trail (the trail endpoint is audited).
    locations = queries.may_read_locations(request.user, incident.enrolment, purpose=INCIDENT_PURPOSE)
    context = {"locations": locations}
    return serializers.IncidentDetailSerializer(incident, context=context).data  # type: ignore[return-value]


def sightings_context(request: Request, incident: Incident) -> dict[str, Any]:
    return {"locations": queries.may_read_locations(request.user, incident.enrolment, purpose=INCIDENT_PURPOSE)}
