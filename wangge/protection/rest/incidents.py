"""REST of alerts and missing-person incidents: resolve or escalate an alert; an incident's
location (audited), progress log, searchers and closing."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import exceptions, mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from wangge.accounts.models import User
from wangge.protection import incidents, queries, serializers
from wangge.protection.models import Alert, Incident
from wangge.protection.rest.common import (
    PURPOSE,
    TAGS,
    bad_request,
    incident_detail,
    managed,
    purpose_of,
    sightings_context,
)


@extend_schema_view(retrieve=extend_schema(tags=TAGS))
class AlertViewSet(mixins.RetrieveModelMixin, viewsets.GenericViewSet[Alert]):
    """One alert, and resolving or escalating it (the list is ``GET /protection/alerts/``)."""

    serializer_class = serializers.AlertDetailSerializer
    queryset = Alert.objects.none()

    def get_object(self) -> Alert:
        return queries.get_alert(self.request.user, self.kwargs["pk"])

    @extend_schema(tags=TAGS, request=None, responses=serializers.AlertDetailSerializer)
    @action(detail=True, methods=["post"])
    def resolve(self, request: Request, pk: str) -> Response:
        alert = self.get_object()
        managed(request, alert.enrolment)
        alert = incidents.alert_resolve(by=request.user, alert=alert)
        return Response(serializers.AlertDetailSerializer(alert).data)

    @extend_schema(
        tags=TAGS,
        summary="Escalate to a missing-person incident",
        request=serializers.ReportSerializer,
        responses={201: serializers.IncidentDetailSerializer},
    )
    @action(detail=True, methods=["post"])
    def escalate(self, request: Request, pk: str) -> Response:
        alert = self.get_object()
        managed(request, alert.enrolment)
        data = serializers.ReportSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            incident = incidents.alert_escalate(
                by=request.user, alert=alert, description=data.validated_data["description"]
            )
        except DjangoValidationError as exc:
            raise bad_request(exc) from None
        return Response(incident_detail(request, incident), status=status.HTTP_201_CREATED)


@extend_schema_view(
    list=extend_schema(
        tags=TAGS,
        parameters=[OpenApiParameter("status", str, required=False, description="`open` or `closed`")],
    ),
    retrieve=extend_schema(tags=TAGS, responses=serializers.IncidentDetailSerializer),
)
class IncidentViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet[Incident]):
    serializer_class = serializers.IncidentSerializer

    def get_queryset(self) -> Any:
        rows = (
            queries.incidents_visible_to(self.request.user)
            .select_related("enrolment__resident")
            .prefetch_related("searchers")
            .order_by("-opened_at", "-id")
        )
        wanted = self.request.query_params.get("status")
        if wanted in Incident.Status.values:
            rows = rows.filter(status=wanted)
        return rows

    def get_object(self) -> Incident:
        return queries.get_incident(self.request.user, self.kwargs["pk"])

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return Response(incident_detail(request, self.get_object()))

    @extend_schema(
        tags=TAGS,
        summary="Last known location and the trail of the last hours (audited with its purpose)",
        parameters=[PURPOSE, OpenApiParameter("hours", int, required=False, description="trail window, default 6")],
        responses={200: serializers.IncidentLocationSerializer, 404: OpenApiResponse(description="not entitled")},
    )
    @action(detail=True, methods=["get"])
    def location(self, request: Request, pk: str) -> Response:
        purpose = purpose_of(request)
        incident = self.get_object()
        try:
            hours = min(72, max(1, int(request.query_params.get("hours") or 6)))
        except ValueError:
            raise exceptions.ValidationError({"hours": [_("请输入整数")]}) from None
        rows = queries.locations_for(
            request.user,
            incident.enrolment,
            purpose=purpose,
            since=timezone.now() - dt.timedelta(hours=hours),
        )
        body = {
            "last_lat": incident.last_lat,
            "last_lon": incident.last_lon,
            "last_seen_at": incident.last_seen_at,
            "last_source": incident.last_source,
            "trail": rows,
        }
        return Response(serializers.IncidentLocationSerializer(body).data)

    @extend_schema(tags=TAGS, responses=serializers.IncidentUpdateSerializer(many=True))
    @action(detail=True, methods=["get"])
    def updates(self, request: Request, pk: str) -> Response:
        incident = self.get_object()
        context = sightings_context(request, incident)
        rows = incident.updates.select_related("by")
        return Response(serializers.IncidentUpdateSerializer(rows, many=True, context=context).data)

    @updates.mapping.post
    @extend_schema(
        tags=TAGS, request=serializers.IncidentUpdateSerializer, responses={201: serializers.IncidentUpdateSerializer}
    )
    def update_log(self, request: Request, pk: str) -> Response:
        incident = self.get_object()
        data = serializers.IncidentUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        try:
            update = incidents.incident_log_update(
                by=request.user,
                incident=incident,
                text=values["text"],
                kind=values.get("kind", "note"),
                lat=values.get("lat"),
                lon=values.get("lon"),
                seen_at=values.get("seen_at"),
            )
        except DjangoValidationError as exc:
            raise bad_request(exc) from None
        context = sightings_context(request, incident)
        return Response(
            serializers.IncidentUpdateSerializer(update, context=context).data, status=status.HTTP_201_CREATED
        )

    @extend_schema(tags=TAGS, request=serializers.AssignSerializer, responses=serializers.IncidentDetailSerializer)
    @action(detail=True, methods=["post"])
    def searchers(self, request: Request, pk: str) -> Response:
        incident = self.get_object()
        if not queries.can_coordinate(request.user, incident):
            raise Http404
        data = serializers.AssignSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        searcher = queries.searcher_candidates(incident).filter(pk=data.validated_data["searcher"]).first()
        if searcher is None and not incident.searchers.filter(pk=data.validated_data["searcher"]).exists():
            raise exceptions.ValidationError({"searcher": [_("该用户不能担任本事件的搜寻人员")]})
        try:
            incidents.incident_assign_searcher(
                by=request.user,
                incident=incident,
                searcher=searcher or User.objects.get(pk=data.validated_data["searcher"]),
            )
        except DjangoValidationError as exc:
            raise bad_request(exc) from None
        return Response(incident_detail(request, incident))

    @extend_schema(
        tags=TAGS,
        summary="Close: found (where, when, condition) or otherwise",
        request=serializers.CloseSerializer,
        responses=serializers.IncidentDetailSerializer,
    )
    @action(detail=True, methods=["post"])
    def close(self, request: Request, pk: str) -> Response:
        incident = self.get_object()
        if not queries.can_coordinate(request.user, incident):
            raise Http404
        data = serializers.CloseSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            incident = incidents.incident_close(by=request.user, incident=incident, **data.validated_data)
        except DjangoValidationError as exc:
            raise bad_request(exc) from None
        return Response(incident_detail(request, incident))
