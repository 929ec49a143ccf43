"""The scoped REST API of missing-person protection: enrolments with consent, profile, phones,
zones, alerts and incidents.

Every object is loaded through ``queries`` (out of scope = 404); writes go through ``actions``
and ``incidents``. Location reads need a ``purpose`` and are written to the audit log. The
device endpoints and the enrolment trail stay in ``api.py``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import exceptions, mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter

from wangge.accounts.models import User
from wangge.core.audit import Action, audit
from wangge.protection import actions, incidents, queries, serializers
from wangge.protection.models import Alert, Device, Enrolment, Incident, Profile, SafeZone
from wangge.registry.queries import get_resident

PURPOSE = OpenApiParameter("purpose", str, required=True, description="why the location is read (audited)")
TAGS = ["protection"]


def _bad_request(exc: DjangoValidationError) -> exceptions.ValidationError:
    return exceptions.ValidationError({"detail": exc.messages})


def _purpose(request: Request) -> str:
    purpose = (request.query_params.get("purpose") or "").strip()
    if not purpose:
        raise exceptions.ValidationError({"purpose": [_("查看位置必须说明用途")]})
    return purpose[:200]


def _credentials(request: Request, device: Device, password: str, *, http_status: int = 200) -> Response:
    """The phone's password (shown once) and what to enter in OwnTracks / Traccar Client."""
    from wangge.protection.views import device_setup

    setup = device_setup(request._request, device, password)
    for key in ("password", "owntracks_url", "osmand_url", "mqtt_topic"):
        setattr(device, key, setup[key])
    device.owntracks_config_link = setup["owntracks_http_link"]  # type: ignore[attr-defined]
    response = Response(serializers.DeviceCredentialsSerializer(device).data, status=http_status)
    response["Cache-Control"] = "no-store"
    return response


def _managed(request: Request, enrolment: Enrolment) -> Enrolment:
    if not queries.can_manage(request.user, enrolment):
        raise Http404
    return enrolment


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
        resident = get_resident(request.user, data.validated_data["resident"])
        user: Any = request.user
        if user.role not in queries.AREA_ROLES and not resident.guardianships.filter(guardian=user).exists():
            raise Http404
        if resident.enrolments.filter(active=True).exists():
            raise exceptions.ValidationError({"resident": [_("该居民已登记走失防护")]})
        with transaction.atomic():
            enrolment = actions.enrolment_create(by=user, resident=resident)
            actions.consent_record(by=user, enrolment=enrolment, **data.validated_data["consent"])
        return Response(serializers.EnrolmentSerializer(enrolment).data, status=status.HTTP_201_CREATED)

    @extend_schema(tags=TAGS, responses=serializers.ConsentSerializer(many=True))
    @action(detail=True, methods=["get"])
    def consents(self, request: Request, pk: str) -> Response:
        enrolment = self.get_object()
        return Response(serializers.ConsentSerializer(enrolment.consents.all(), many=True).data)

    @consents.mapping.post
    @extend_schema(tags=TAGS, request=serializers.ConsentSerializer, responses={201: serializers.ConsentSerializer})
    def consent_record(self, request: Request, pk: str) -> Response:
        enrolment = _managed(request, self.get_object())
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
        enrolment = _managed(request, self.get_object())
        actions.consent_withdraw(by=request.user, enrolment=enrolment)
        return Response(serializers.EnrolmentSerializer(enrolment).data)

    @extend_schema(tags=TAGS, responses=serializers.ProfileSerializer)
    @action(detail=True, methods=["get"])
    def profile(self, request: Request, pk: str) -> Response:
        enrolment = self.get_object()
        profile, _created = Profile.objects.get_or_create(enrolment=enrolment)
        medical = queries.sees_medical_notes(request.user, enrolment)
        return Response(serializers.ProfileSerializer(profile, context={"medical": medical}).data)

    @profile.mapping.patch
    @extend_schema(tags=TAGS, request=serializers.ProfileSerializer, responses=serializers.ProfileSerializer)
    def profile_update(self, request: Request, pk: str) -> Response:
        enrolment = _managed(request, self.get_object())
        profile, _created = Profile.objects.get_or_create(enrolment=enrolment)
        medical = queries.sees_medical_notes(request.user, enrolment)
        data = serializers.ProfileSerializer(profile, data=request.data, partial=True, context={"medical": medical})
        data.is_valid(raise_exception=True)
        if not medical:
            data.validated_data.pop("medical_notes", None)
        with transaction.atomic():
            profile = data.save(updated_by=request.user)
            audit(
                actor=request.user,
                action=Action.UPDATE,
                obj=profile,
                summary=_("更新走失预案档案：%(name)s") % {"name": enrolment.resident.name},
                detail={"fields": sorted(data.validated_data)},
            )
        return Response(serializers.ProfileSerializer(profile, context={"medical": medical}).data)

    @extend_schema(tags=TAGS, responses=serializers.DeviceSerializer(many=True))
    @action(detail=True, methods=["get"])
    def devices(self, request: Request, pk: str) -> Response:
        enrolment = _managed(request, self.get_object())
        return Response(serializers.DeviceSerializer(enrolment.devices.all(), many=True).data)

    @devices.mapping.post
    @extend_schema(
        tags=TAGS,
        summary="Register a phone; the response carries its password, once",
        request=serializers.DeviceSerializer,
        responses={201: serializers.DeviceCredentialsSerializer},
    )
    def device_register(self, request: Request, pk: str) -> Response:
        enrolment = _managed(request, self.get_object())
        data = serializers.DeviceSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        device, password = actions.device_register(
            by=request.user,
            enrolment=enrolment,
            name=data.validated_data.get("name") or "手机",
            coord_system=data.validated_data.get("coord_system") or Device.CoordSystem.WGS84,
        )
        return _credentials(request, device, password, http_status=status.HTTP_201_CREATED)

    @extend_schema(tags=TAGS, responses=serializers.ZoneSerializer(many=True))
    @action(detail=True, methods=["get"])
    def zones(self, request: Request, pk: str) -> Response:
        enrolment = self.get_object()
        return Response(serializers.ZoneSerializer(enrolment.zones.all(), many=True).data)

    @zones.mapping.post
    @extend_schema(tags=TAGS, request=serializers.ZoneSerializer, responses={201: serializers.ZoneSerializer})
    def zone_create(self, request: Request, pk: str) -> Response:
        enrolment = _managed(request, self.get_object())
        data = serializers.ZoneSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        zone = actions.zone_create(by=request.user, enrolment=enrolment, name=values.pop("name"), **values)
        return Response(serializers.ZoneSerializer(zone).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        tags=TAGS,
        summary="Report the person missing (returns the open incident if there is one)",
        request=serializers.ReportSerializer,
        responses={201: serializers.IncidentDetailSerializer},
    )
    @action(detail=True, methods=["post"])
    def report(self, request: Request, pk: str) -> Response:
        enrolment = _managed(request, self.get_object())
        data = serializers.ReportSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            incident = incidents.incident_report(
                by=request.user, enrolment=enrolment, description=data.validated_data["description"]
            )
        except DjangoValidationError as exc:
            raise _bad_request(exc) from None
        return Response(_incident_detail(request, incident), status=status.HTTP_201_CREATED)


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
        password = actions.device_reset_password(by=request.user, device=device)
        return _credentials(request, device, password)


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
        _managed(request, alert.enrolment)
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
        _managed(request, alert.enrolment)
        data = serializers.ReportSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            incident = incidents.alert_escalate(
                by=request.user, alert=alert, description=data.validated_data["description"]
            )
        except DjangoValidationError as exc:
            raise _bad_request(exc) from None
        return Response(_incident_detail(request, incident), status=status.HTTP_201_CREATED)


def _incident_detail(request: Request, incident: Incident) -> dict[str, Any]:
    # Sighting coordinates only for those entitled to the person's locations; no audit entry
    # here because the list of updates is not the trail (the trail endpoint is audited).
    locations = queries.may_read_locations(request.user, incident.enrolment)
    context = {"locations": locations}
    return serializers.IncidentDetailSerializer(incident, context=context).data  # type: ignore[return-value]


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
        return Response(_incident_detail(request, self.get_object()))

    @extend_schema(
        tags=TAGS,
        summary="Last known location and the trail of the last hours (audited with its purpose)",
        parameters=[PURPOSE, OpenApiParameter("hours", int, required=False, description="trail window, default 6")],
        responses={200: serializers.IncidentLocationSerializer, 404: OpenApiResponse(description="not entitled")},
    )
    @action(detail=True, methods=["get"])
    def location(self, request: Request, pk: str) -> Response:
        purpose = _purpose(request)
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
        context = {"locations": queries.may_read_locations(request.user, incident.enrolment)}
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
            raise _bad_request(exc) from None
        context = {"locations": queries.may_read_locations(request.user, incident.enrolment)}
        return Response(
            serializers.IncidentUpdateSerializer(update, context=context).data, status=status.HTTP_201_CREATED
        )

    @extend_schema(tags=TAGS, request=serializers.AssignSerializer, responses=serializers.IncidentDetailSerializer)
    @action(detail=True, methods=["post"])
    def searchers(self, request: Request, pk: str) -> Response:
        from wangge.protection.views import _searcher_candidates

        incident = self.get_object()
        if not queries.can_coordinate(request.user, incident):
            raise Http404
        data = serializers.AssignSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        searcher = _searcher_candidates(incident).filter(pk=data.validated_data["searcher"]).first()
        if searcher is None and not incident.searchers.filter(pk=data.validated_data["searcher"]).exists():
            raise exceptions.ValidationError({"searcher": [_("该用户不能担任本事件的搜寻人员")]})
        try:
            incidents.incident_assign_searcher(
                by=request.user,
                incident=incident,
                searcher=searcher or User.objects.get(pk=data.validated_data["searcher"]),
            )
        except DjangoValidationError as exc:
            raise _bad_request(exc) from None
        return Response(_incident_detail(request, incident))

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
            raise _bad_request(exc) from None
        return Response(_incident_detail(request, incident))


router = SimpleRouter()
router.register("protection/enrolments", EnrolmentViewSet, basename="protection-enrolment")
router.register("protection/zones", ZoneViewSet, basename="protection-zone")
router.register("protection/devices", DeviceViewSet, basename="protection-device")
router.register("protection/alerts", AlertViewSet, basename="protection-alert")
router.register("protection/incidents", IncidentViewSet, basename="protection-incident")
urlpatterns = router.urls
