"""REST of enrolments: enrolling with consent, consent, the profile, phones, zones, reporting
someone missing, and ending the protection."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import exceptions, mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from wangge.accounts import policy
from wangge.protection import actions, incidents, queries, serializers
from wangge.protection.models import Device, DeviceSecrets, Enrolment, SafeZone
from wangge.protection.provisioning import device_setup
from wangge.protection.rest.common import (
    PROFILE_PURPOSE,
    TAGS,
    bad_request,
    incident_detail,
    managed,
    profile_purpose,
)
from wangge.registry.queries import get_resident


def _credentials(request: Request, device: Device, credentials: DeviceSecrets, *, http_status: int = 200) -> Response:
    """The phone's password and OsmAnd key (shown once) and what to enter in OwnTracks /
    Traccar Client: this response is the API's setup page, and no other response has them."""
    setup = device_setup(request._request, device, credentials)
    for key in ("password", "osmand_key", "owntracks_url", "osmand_url", "mqtt_topic", "traccar_link"):
        setattr(device, key, setup[key])
    device.owntracks_config_link = setup["owntracks_http_link"]  # type: ignore[attr-defined]
    response = Response(serializers.DeviceCredentialsSerializer(device).data, status=http_status)
    response["Cache-Control"] = "no-store"
    return response


@extend_schema_view(
    list=extend_schema(tags=TAGS, summary="Enrolments the caller may see"),
    retrieve=extend_schema(tags=TAGS),
)
class EnrolmentViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet[Enrolment]):
    serializer_class = serializers.EnrolmentSerializer

    def get_queryset(self) -> Any:
        return queries.with_list_flags(
            queries.enrolments_visible_to(self.request.user)
            .select_related("resident", "grid")
            .order_by("-enrolled_at", "-id")
        )

    def get_object(self) -> Enrolment:
        return queries.get_enrolment(self.request.user, self.kwargs["pk"])

    @extend_schema(
        tags=TAGS,
        summary="Enrol a resident with a recorded consent",
        request=serializers.EnrolmentCreateSerializer,
        responses={201: serializers.EnrolmentSerializer},
    )
    def create(self, request: Request) -> Response:
        data = serializers.EnrolmentCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user: Any = request.user
        resident = get_resident(user, data.validated_data["resident"])
        if not policy.can_enrol(user, resident):
            raise Http404
        try:
            enrolment = actions.enrolment_create(by=user, resident=resident, consent=data.validated_data["consent"])
        except DjangoValidationError as exc:
            raise exceptions.ValidationError({"resident": exc.messages}) from None
        return Response(serializers.EnrolmentSerializer(enrolment).data, status=status.HTTP_201_CREATED)

    @extend_schema(tags=TAGS, responses=serializers.ConsentSerializer(many=True))
    @action(detail=True, methods=["get"])
    def consents(self, request: Request, pk: str) -> Response:
        enrolment = self.get_object()
        return Response(serializers.ConsentSerializer(enrolment.consents.all(), many=True).data)

    @consents.mapping.post
    @extend_schema(tags=TAGS, request=serializers.ConsentSerializer, responses={201: serializers.ConsentSerializer})
    def consent_record(self, request: Request, pk: str) -> Response:
        enrolment = managed(request, self.get_object())
        data = serializers.ConsentSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        consent = actions.consent_record(by=request.user, enrolment=enrolment, **data.validated_data)
        return Response(serializers.ConsentSerializer(consent).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        tags=TAGS,
        summary="Withdraw consent: tracking stops and past locations are hidden",
        request=None,
        responses={200: serializers.EnrolmentSerializer},
    )
    @action(detail=True, methods=["post"], url_path="withdraw-consent")
    def withdraw_consent(self, request: Request, pk: str) -> Response:
        enrolment = managed(request, self.get_object())
        actions.consent_withdraw(by=request.user, enrolment=enrolment)
        return Response(serializers.EnrolmentSerializer(enrolment).data)

    @extend_schema(tags=TAGS, parameters=[PROFILE_PURPOSE], responses=serializers.ProfileSerializer)
    @action(detail=True, methods=["get"])
    def profile(self, request: Request, pk: str) -> Response:
        read = queries.profile_for(request.user, self.get_object(), purpose=profile_purpose(request))
        return Response(serializers.ProfileSerializer(read.profile, context={"medical": read.medical}).data)

    @profile.mapping.patch
    @extend_schema(
        tags=TAGS,
        parameters=[PROFILE_PURPOSE],
        request=serializers.ProfileSerializer,
        responses=serializers.ProfileSerializer,
    )
    def profile_update(self, request: Request, pk: str) -> Response:
        enrolment = managed(request, self.get_object())
        read = queries.profile_for(request.user, enrolment, purpose=profile_purpose(request))
        medical = read.medical
        data = serializers.ProfileSerializer(
            read.profile, data=request.data, partial=True, context={"medical": medical}
        )
        data.is_valid(raise_exception=True)
        profile = actions.profile_update(
            by=request.user, enrolment=enrolment, changes=dict(data.validated_data), medical=medical
        )
        return Response(serializers.ProfileSerializer(profile, context={"medical": medical}).data)

    @extend_schema(tags=TAGS, responses=serializers.DeviceSerializer(many=True))
    @action(detail=True, methods=["get"])
    def devices(self, request: Request, pk: str) -> Response:
        enrolment = managed(request, self.get_object())
        return Response(serializers.DeviceSerializer(enrolment.devices.all(), many=True).data)

    @devices.mapping.post
    @extend_schema(
        tags=TAGS,
        summary="Register a phone; the response carries its password, once",
        request=serializers.DeviceSerializer,
        responses={201: serializers.DeviceCredentialsSerializer},
    )
    def device_register(self, request: Request, pk: str) -> Response:
        enrolment = managed(request, self.get_object())
        data = serializers.DeviceSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        device, credentials = actions.device_register(
            by=request.user,
            enrolment=enrolment,
            name=data.validated_data.get("name") or "手机",
            coord_system=data.validated_data.get("coord_system") or Device.CoordSystem.WGS84,
        )
        return _credentials(request, device, credentials, http_status=status.HTTP_201_CREATED)

    @extend_schema(tags=TAGS, responses=serializers.ZoneSerializer(many=True))
    @action(detail=True, methods=["get"])
    def zones(self, request: Request, pk: str) -> Response:
        return Response(serializers.ZoneSerializer(queries.zones_for(request.user, self.get_object()), many=True).data)

    @zones.mapping.post
    @extend_schema(tags=TAGS, request=serializers.ZoneSerializer, responses={201: serializers.ZoneSerializer})
    def zone_create(self, request: Request, pk: str) -> Response:
        enrolment = managed(request, self.get_object())
        data = serializers.ZoneSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        zone = actions.zone_create(by=request.user, enrolment=enrolment, name=values.pop("name"), **values)
        return Response(serializers.ZoneSerializer(zone).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        tags=TAGS,
        summary="End the protection: the phones' fixes are refused from now on (not while a search is open)",
        request=None,
        responses={200: serializers.EnrolmentSerializer},
    )
    @action(detail=True, methods=["post"])
    def end(self, request: Request, pk: str) -> Response:
        enrolment = managed(request, self.get_object())
        try:
            enrolment = actions.enrolment_end(by=request.user, enrolment=enrolment)
        except DjangoValidationError as exc:
            raise bad_request(exc) from None
        return Response(serializers.EnrolmentSerializer(enrolment).data)

    @extend_schema(
        tags=TAGS,
        summary="Report the person missing (returns the open incident if there is one)",
        request=serializers.ReportSerializer,
        responses={201: serializers.IncidentDetailSerializer},
    )
    @action(detail=True, methods=["post"])
    def report(self, request: Request, pk: str) -> Response:
        enrolment = managed(request, self.get_object())
        data = serializers.ReportSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            incident = incidents.incident_report(
                by=request.user, enrolment=enrolment, description=data.validated_data["description"]
            )
        except DjangoValidationError as exc:
            raise bad_request(exc) from None
        return Response(incident_detail(request, incident), status=status.HTTP_201_CREATED)


@extend_schema_view(retrieve=extend_schema(tags=TAGS), destroy=extend_schema(tags=TAGS))
class ZoneViewSet(mixins.RetrieveModelMixin, mixins.DestroyModelMixin, viewsets.GenericViewSet[SafeZone]):
    serializer_class = serializers.ZoneSerializer
    queryset = SafeZone.objects.none()

    def get_object(self) -> SafeZone:
        return queries.get_zone(self.request.user, self.kwargs["pk"])

    def perform_destroy(self, instance: SafeZone) -> None:
        actions.zone_delete(by=self.request.user, zone=instance)


@extend_schema_view(retrieve=extend_schema(tags=TAGS))
class DeviceViewSet(mixins.RetrieveModelMixin, viewsets.GenericViewSet[Device]):
    serializer_class = serializers.DeviceSerializer
    queryset = Device.objects.none()

    def get_object(self) -> Device:
        return queries.get_device(self.request.user, self.kwargs["pk"])

    @extend_schema(tags=TAGS, request=None, responses=serializers.DeviceCredentialsSerializer)
    @action(detail=True, methods=["post"], url_path="reset-password")
    def reset_password(self, request: Request, pk: str) -> Response:
        device = self.get_object()
        credentials = actions.device_reset_password(by=request.user, device=device)
        return _credentials(request, device, credentials)

    @extend_schema(
        tags=TAGS,
        summary="Switch the phone off or on (an off phone's fixes are refused and it no longer counts for alerts)",
        request=serializers.DeviceActiveSerializer,
        responses=serializers.DeviceSerializer,
    )
    @action(detail=True, methods=["post"])
    def active(self, request: Request, pk: str) -> Response:
        device = self.get_object()
        data = serializers.DeviceActiveSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        device = actions.device_set_active(by=request.user, device=device, active=data.validated_data["active"])
        return Response(serializers.DeviceSerializer(device).data)
