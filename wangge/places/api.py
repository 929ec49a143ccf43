"""API of units and key places, mounted under /api/v1/ (``units/``, ``places/``,
``rectifications/``). Reads are scoped like the pages (out of scope is a 404); writes go through
``wangge.places.actions``."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter

from wangge.accounts import policy
from wangge.areas.models import Building
from wangge.areas.queries import get_building
from wangge.places import actions, queries
from wangge.places.models import Inspection, Place, Rectification, Unit
from wangge.registry.api import _run  # the same translation of an action's errors into a 400
from wangge.registry.models import Room
from wangge.registry.room_queries import get_room


class UnitSerializer(serializers.ModelSerializer[Unit]):
    kind = serializers.CharField(source="kind_id", read_only=True)
    address = serializers.CharField(source="full_address", read_only=True)

    class Meta:
        model = Unit
        fields = [
            "id",
            "name",
            "kind",
            "credit_code",
            "credit_code_checked",
            "building",
            "room",
            "address",
            "legal_rep",
            "legal_rep_phone",
            "staff_count",
            "party_org",
            "party_org_name",
            "party_members",
            "grid",
            "community",
        ]
        read_only_fields = fields


class UnitCreateSerializer(serializers.Serializer[Any]):
    name = serializers.CharField(max_length=100)
    kind = serializers.CharField(max_length=30)
    building = serializers.IntegerField()
    room = serializers.IntegerField(required=False, allow_null=True, default=None)
    address = serializers.CharField(max_length=200, required=False, default="", allow_blank=True)
    credit_code = serializers.CharField(max_length=30, required=False, default="", allow_blank=True)
    pilot_code = serializers.BooleanField(required=False, default=False)
    legal_rep = serializers.CharField(max_length=60)
    legal_rep_phone = serializers.CharField(max_length=20, required=False, default="", allow_blank=True)
    staff_count = serializers.IntegerField(min_value=0, required=False, allow_null=True, default=None)
    party_org = serializers.ChoiceField(choices=Unit.PartyOrg.choices, required=False, default=Unit.PartyOrg.NONE)
    party_org_name = serializers.CharField(max_length=100, required=False, default="", allow_blank=True)
    party_members = serializers.IntegerField(min_value=0, required=False, allow_null=True, default=None)


class PlaceSerializer(serializers.ModelSerializer[Place]):
    place_type = serializers.CharField(source="place_type_id", read_only=True)
    hazard_level = serializers.CharField(source="hazard_level_id", read_only=True)
    address = serializers.CharField(source="full_address", read_only=True)

    class Meta:
        model = Place
        fields = [
            "id",
            "name",
            "place_type",
            "unit",
            "building",
            "room",
            "address",
            "operator",
            "operator_phone",
            "hazard_level",
            "inspection_due",
            "last_inspected",
            "grid",
            "community",
        ]
        read_only_fields = fields


class PlaceCreateSerializer(serializers.Serializer[Any]):
    name = serializers.CharField(max_length=100)
    place_type = serializers.CharField(max_length=30)
    building = serializers.IntegerField()
    room = serializers.IntegerField(required=False, allow_null=True, default=None)
    unit = serializers.IntegerField(required=False, allow_null=True, default=None)
    address = serializers.CharField(max_length=200, required=False, default="", allow_blank=True)
    operator = serializers.CharField(max_length=60, required=False, default="", allow_blank=True)
    operator_phone = serializers.CharField(max_length=20, required=False, default="", allow_blank=True)


class PlaceInspectionSerializer(serializers.ModelSerializer[Inspection]):
    hazard_level = serializers.CharField(source="hazard_level_id", read_only=True)
    inspector: serializers.StringRelatedField[Any] = serializers.StringRelatedField()

    class Meta:
        model = Inspection
        fields = ["id", "date", "inspector", "findings", "hazard_level"]
        read_only_fields = fields


class PlaceInspectionCreateSerializer(serializers.Serializer[Any]):
    date = serializers.DateField()
    findings = serializers.CharField(max_length=2000, required=False, default="", allow_blank=True)
    hazard_level = serializers.CharField(max_length=30, required=False, default="none")
    rectify = serializers.CharField(max_length=2000, required=False, default="", allow_blank=True)
    deadline = serializers.DateField(required=False, allow_null=True, default=None)


class RectificationSerializer(serializers.ModelSerializer[Rectification]):
    class Meta:
        model = Rectification
        fields = ["id", "place", "inspection", "required", "deadline", "done", "done_note", "case"]
        read_only_fields = fields


class DoneSerializer(serializers.Serializer[Any]):
    date = serializers.DateField()
    note = serializers.CharField(max_length=500, required=False, default="", allow_blank=True)


def _require_editor(user: Any) -> None:
    if not policy.can_edit_registry(user):
        raise exceptions.PermissionDenied(_("您没有修改登记信息的权限。"))


def _where(user: Any, building_id: int, room_id: int | None) -> tuple[Building, Room | None]:
    """A building (and room) from a request body: out of scope reads exactly like nonexistent."""
    try:
        building = get_building(user, building_id)
    except Http404:
        raise exceptions.ValidationError({"building": [_("楼栋不存在或不在您的管辖范围内。")]}) from None
    if room_id is None:
        return building, None
    try:
        return building, get_room(user, room_id)
    except Http404:
        raise exceptions.ValidationError({"room": [_("房屋不存在或不在您的管辖范围内。")]}) from None


class UnitViewSet(viewsets.ViewSet):
    """Units (实有单位) in the caller's areas."""

    queryset = Unit.objects.none()  # for the schema's path parameter type only

    @extend_schema(responses=UnitSerializer(many=True))
    def list(self, request: Request) -> Response:
        found = queries.units_visible_to(request.user).select_related("building", "room__building")[:1000]
        return Response(UnitSerializer(found, many=True).data)

    @extend_schema(responses=UnitSerializer)
    def retrieve(self, request: Request, pk: str | None = None) -> Response:
        return Response(UnitSerializer(queries.get_unit(request.user, pk)).data)

    @extend_schema(request=UnitCreateSerializer, responses={201: UnitSerializer})
    def create(self, request: Request) -> Response:
        user = request.user
        _require_editor(user)
        incoming = UnitCreateSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        data = dict(incoming.validated_data)
        data["building"], data["room"] = _where(user, data["building"], data["room"])
        unit = _run(actions.unit_register, by=user, **data)
        return Response(UnitSerializer(unit).data, status=status.HTTP_201_CREATED)


class PlaceViewSet(viewsets.ViewSet):
    """Key places (重点场所) in the caller's areas; ``?attention=1`` lists only those due or overdue."""

    queryset = Place.objects.none()  # for the schema's path parameter type only

    @extend_schema(responses=PlaceSerializer(many=True))
    def list(self, request: Request) -> Response:
        user = request.user
        if request.query_params.get("attention"):
            found = queries.places_needing_attention(user, today=timezone.localdate())
        else:
            found = queries.places_visible_to(user).select_related("building", "room__building")
        return Response(PlaceSerializer(found[:1000], many=True).data)

    @extend_schema(responses=PlaceSerializer)
    def retrieve(self, request: Request, pk: str | None = None) -> Response:
        place = queries.get_place(request.user, pk)
        data = dict(PlaceSerializer(place).data)
        data["inspections"] = PlaceInspectionSerializer(queries.inspections_of(place)[:50], many=True).data
        data["rectifications"] = RectificationSerializer(queries.rectifications_of(place)[:50], many=True).data
        return Response(data)

    @extend_schema(request=PlaceCreateSerializer, responses={201: PlaceSerializer})
    def create(self, request: Request) -> Response:
        user = request.user
        _require_editor(user)
        incoming = PlaceCreateSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        data = dict(incoming.validated_data)
        data["building"], data["room"] = _where(user, data["building"], data["room"])
        if data["unit"] is not None:
            try:
                data["unit"] = queries.get_unit(user, data["unit"])
            except Http404:
                raise exceptions.ValidationError({"unit": [_("单位不存在或不在您的管辖范围内。")]}) from None
        place = _run(actions.place_register, by=user, **data)
        return Response(PlaceSerializer(place).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=PlaceInspectionCreateSerializer, responses={201: PlaceInspectionSerializer})
    @action(detail=True, methods=["post"])
    def inspections(self, request: Request, pk: str | None = None) -> Response:
        """Record a hazard inspection; ``rectify`` and ``deadline`` open a rectification."""
        user = request.user
        place = queries.get_place(user, pk)
        _require_editor(user)
        incoming = PlaceInspectionCreateSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        record = _run(actions.place_inspect, by=user, place=place, **incoming.validated_data)
        return Response(PlaceInspectionSerializer(record).data, status=status.HTTP_201_CREATED)


class RectificationViewSet(viewsets.ViewSet):
    """Rectifications (整改) in the caller's areas; ``?overdue=1`` lists only those past their deadline."""

    queryset = Rectification.objects.none()  # for the schema's path parameter type only

    @extend_schema(responses=RectificationSerializer(many=True))
    def list(self, request: Request) -> Response:
        user = request.user
        if request.query_params.get("overdue"):
            found = queries.rectifications_overdue(user, today=timezone.localdate())
        else:
            found = queries.rectifications_visible_to(user)
        return Response(RectificationSerializer(found[:1000], many=True).data)

    @extend_schema(request=DoneSerializer, responses=RectificationSerializer)
    @action(detail=True, methods=["post"])
    def done(self, request: Request, pk: str | None = None) -> Response:
        user = request.user
        target = queries.get_rectification(user, pk)
        _require_editor(user)
        incoming = DoneSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        record = _run(actions.rectification_complete, by=user, rectification=target, **incoming.validated_data)
        return Response(RectificationSerializer(record).data)

    @extend_schema(request=None, responses={201: RectificationSerializer})
    @action(detail=True, methods=["post"])
    def escalate(self, request: Request, pk: str | None = None) -> Response:
        """Hand a rectification past its deadline over as a grid-event case."""
        user = request.user
        target = queries.get_rectification(user, pk)
        try:
            _run(actions.rectification_escalate, by=user, rectification=target)
        except DjangoPermissionDenied:
            raise exceptions.PermissionDenied(_("您没有登记案件的权限。")) from None
        target.refresh_from_db()
        return Response(RectificationSerializer(target).data, status=status.HTTP_201_CREATED)


router = SimpleRouter()
router.register("units", UnitViewSet, basename="unit")
router.register("places", PlaceViewSet, basename="place")
router.register("rectifications", RectificationViewSet, basename="rectification")

urlpatterns: list[Any] = [
    *router.urls,
]
