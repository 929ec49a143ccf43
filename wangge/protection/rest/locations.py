"""The audited location reads of the REST API (a person's trail and last location, each with
its purpose) and the alert list, which carries no coordinates."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from wangge.core.api import datetime_param
from wangge.protection import queries
from wangge.protection.models import Alert, Location
from wangge.protection.rest.common import PURPOSE, purpose_of


class LocationSerializer(serializers.ModelSerializer):
    class Meta:
        model = Location
        fields = ["recorded_at", "lat", "lon", "accuracy", "speed", "bearing", "altitude", "battery", "source"]


class AlertSerializer(serializers.ModelSerializer):
    resident = serializers.CharField(source="enrolment.resident.name")
    kind_label = serializers.CharField(source="get_kind_display")
    phone = serializers.SerializerMethodField(help_text="the name of the phone the alert was raised on")

    class Meta:
        model = Alert
        # No coordinates: those are read through the audited trail endpoint. ``raised_at`` and
        # ``resolved_at`` are the server's times; ``fix_at`` and ``location`` the fix's.
        fields = [
            "id",
            "enrolment",
            "resident",
            "kind",
            "kind_label",
            "raised_at",
            "resolved_at",
            "device",
            "phone",
            "location",
            "fix_at",
        ]

    def get_phone(self, alert: Alert) -> str:
        return str(alert.detail.get("phone") or "")


class TrailView(APIView):
    @extend_schema(
        operation_id="protection_trail",
        tags=["protection"],
        parameters=[PURPOSE, OpenApiParameter("since", OpenApiTypes.DATETIME, required=False)],
        responses={200: LocationSerializer(many=True)},
    )
    def get(self, request: Request, pk: int) -> Response:
        purpose = purpose_of(request)
        since = datetime_param(request, "since") or timezone.now() - dt.timedelta(hours=6)
        rows = queries.locations_for(request.user, pk, purpose=purpose, since=since)
        return Response(LocationSerializer(rows, many=True).data)


class LastLocationView(APIView):
    @extend_schema(
        operation_id="protection_last_location",
        tags=["protection"],
        parameters=[PURPOSE],
        responses={200: LocationSerializer},
    )
    def get(self, request: Request, pk: int) -> Response:
        purpose = purpose_of(request)
        rows = queries.locations_for(request.user, pk, purpose=purpose, limit=1)
        last = rows[0] if rows else None
        if last is None:
            return Response(None)
        return Response(LocationSerializer(last).data)


class AlertListView(APIView):
    @extend_schema(
        operation_id="protection_alerts",
        tags=["protection"],
        parameters=[OpenApiParameter("open", bool, required=False)],
        responses={200: AlertSerializer(many=True)},
    )
    def get(self, request: Request) -> Response:
        rows = queries.alerts_visible_to(request.user).select_related("enrolment__resident").order_by("-raised_at")
        if request.query_params.get("open") in ("1", "true"):
            rows = rows.filter(resolved_at__isnull=True)
        return Response(AlertSerializer(rows[:200], many=True).data)
