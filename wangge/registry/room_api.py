"""API of rooms and rentals, mounted under /api/v1/ (``rooms/``, ``rentals/``).

Reads go through ``wangge.registry.room_queries`` (out of scope is a 404, the same as a missing
id); writes go through ``wangge.registry.room_actions``. Residents named in a request body
(owner, landlord, tenants) are resolved in the caller's scope: one outside it reads like one
that does not exist.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Prefetch, QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import exceptions, mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter

from wangge.accounts import policy
from wangge.areas.queries import get_building
from wangge.core.api import int_param
from wangge.core.scope import area_filter
from wangge.registry import room_actions, room_queries
from wangge.registry.api import _run  # the same translation of an action's errors into a 400
from wangge.registry.models import NO_HAZARD, VACANT, Rental, RentalInspection, Resident, Room
from wangge.registry.queries import get_resident

# --- shapes -------------------------------------------------------------------------------------


class RoomSerializer(serializers.ModelSerializer[Room]):
    building_name = serializers.CharField(source="building.name", read_only=True)
    use = serializers.CharField(source="use_id", read_only=True)
    use_label = serializers.SerializerMethodField()
    owner = serializers.IntegerField(source="owner_id", read_only=True, allow_null=True)
    households = serializers.SerializerMethodField()

    class Meta:
        model = Room
        fields = [
            "id",
            "building",
            "building_name",
            "entrance",
            "floor",
            "number",
            "area",
            "use",
            "use_label",
            "owner",
            "owner_name",
            "grid",
            "community",
            "households",
        ]
        read_only_fields = fields

    def get_use_label(self, room: Room) -> str:
        return room.use.label()

    def get_households(self, room: Room) -> list[int]:
        return [h.pk for h in room.households.all()]


class RoomCreateSerializer(serializers.Serializer[Any]):
    building = serializers.IntegerField()
    entrance = serializers.CharField(max_length=10, required=False, allow_blank=True, default="")
    number = serializers.CharField(max_length=20)
    floor = serializers.IntegerField(required=False, allow_null=True, default=None, min_value=-9, max_value=200)
    area = serializers.DecimalField(max_digits=8, decimal_places=2, required=False, allow_null=True, default=None)
    use = serializers.CharField(max_length=30, required=False, default=VACANT)
    owner = serializers.IntegerField(required=False, allow_null=True, default=None)
    owner_name = serializers.CharField(max_length=60, required=False, allow_blank=True, default="")


class RoomUpdateSerializer(serializers.Serializer[Any]):
    floor = serializers.IntegerField(required=False, allow_null=True, min_value=-9, max_value=200)
    area = serializers.DecimalField(max_digits=8, decimal_places=2, required=False, allow_null=True)
    use = serializers.CharField(max_length=30, required=False)
    owner = serializers.IntegerField(required=False, allow_null=True)
    owner_name = serializers.CharField(max_length=60, required=False, allow_blank=True)


class InspectionSerializer(serializers.ModelSerializer[RentalInspection]):
    hazard_level = serializers.CharField(source="hazard_level_id", read_only=True)
    inspector = serializers.SerializerMethodField()

    class Meta:
        model = RentalInspection
        fields = ["id", "date", "hazard_level", "findings", "inspector"]
        read_only_fields = fields

    def get_inspector(self, inspection: RentalInspection) -> str:
        return str(inspection.inspector) if inspection.inspector else ""


class RentalSerializer(serializers.ModelSerializer[Rental]):
    address = serializers.CharField(source="room.address", read_only=True)
    hazard_level = serializers.CharField(source="hazard_level_id", read_only=True)
    landlord = serializers.IntegerField(source="landlord_id", read_only=True, allow_null=True)
    tenants = serializers.SerializerMethodField()
    overdue = serializers.SerializerMethodField()
    expiring = serializers.SerializerMethodField()

    class Meta:
        model = Rental
        fields = [
            "id",
            "room",
            "address",
            "landlord",
            "landlord_name",
            "landlord_phone",
            "tenants",
            "registration_number",
            "rent",
            "start",
            "end",
            "ended",
            "hazard_level",
            "last_inspected",
            "inspection_due",
            "overdue",
            "expiring",
            "grid",
            "community",
        ]
        read_only_fields = fields

    def _flags(self, rental: Rental) -> dict[str, bool]:
        return room_queries.rental_flags(rental, today=self.context["today"])

    def get_tenants(self, rental: Rental) -> list[int]:
        # Only the tenants the caller may see (prefetched by the view).
        return [t.pk for t in getattr(rental, "visible_tenants", [])]

    def get_overdue(self, rental: Rental) -> bool:
        return self._flags(rental)["overdue"]

    def get_expiring(self, rental: Rental) -> bool:
        return self._flags(rental)["expiring"]


class RentalCreateSerializer(serializers.Serializer[Any]):
    room = serializers.IntegerField()
    start = serializers.DateField()
    end = serializers.DateField()
    landlord = serializers.IntegerField(required=False, allow_null=True, default=None)
    landlord_name = serializers.CharField(max_length=60, required=False, allow_blank=True, default="")
    landlord_phone = serializers.CharField(max_length=20, required=False, allow_blank=True, default="")
    tenants = serializers.ListField(child=serializers.IntegerField(), required=False, default=list, max_length=50)
    registration_number = serializers.CharField(max_length=40, required=False, allow_blank=True, default="")
    rent = serializers.DecimalField(max_digits=10, decimal_places=2, required=False, allow_null=True, default=None)
    hazard_level = serializers.CharField(max_length=30, required=False, default=NO_HAZARD)


class InspectionCreateSerializer(serializers.Serializer[Any]):
    date = serializers.DateField()
    hazard_level = serializers.CharField(max_length=30, required=False, default=NO_HAZARD)
    findings = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)


class EndSerializer(serializers.Serializer[Any]):
    date = serializers.DateField()


class TenantsChangeSerializer(serializers.Serializer[Any]):
    """Residents (ids) moving in as tenants and tenants moving out."""

    add = serializers.ListField(child=serializers.IntegerField(), required=False, default=list, max_length=50)
    remove = serializers.ListField(child=serializers.IntegerField(), required=False, default=list, max_length=50)


# --- helpers ------------------------------------------------------------------------------------


def _require_editor(user: Any) -> None:
    if not policy.can_edit_registry(user):
        raise exceptions.PermissionDenied(_("您没有修改房屋信息的权限。"))


def _scoped(field: str, load: Any, user: Any, pk: Any) -> Any:
    try:
        return load(user, pk)
    except Http404:
        raise exceptions.ValidationError({field: [_("对象不存在或不在您的管辖范围内。")]}) from None


def _resident(user: Any, field: str, pk: int | None) -> Resident | None:
    return None if pk is None else _scoped(field, get_resident, user, pk)


def _with_tenants(user: Any, rentals: QuerySet[Rental]) -> QuerySet[Rental]:
    """Rentals with their rooms and the tenants the user may see (``visible_tenants``)."""
    tenants = Resident.objects.filter(area_filter(user)).order_by("id")
    return rentals.select_related("room__building").prefetch_related(
        Prefetch("tenants", queryset=tenants, to_attr="visible_tenants")
    )


# --- views --------------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(
        parameters=[
            OpenApiParameter("building", OpenApiTypes.INT, description="楼栋编号"),
            OpenApiParameter("grid", OpenApiTypes.INT, description="网格编号"),
            OpenApiParameter("use", OpenApiTypes.STR, description="房屋用途代码"),
        ]
    )
)
class RoomViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet[Room],
):
    """Rooms in the caller's areas, with the households living in them."""

    serializer_class = RoomSerializer
    queryset = Room.objects.none()

    def get_queryset(self) -> QuerySet[Room]:
        rooms = room_queries.rooms_visible_to(self.request.user).select_related("building", "use")
        for column in ("building", "grid"):
            value = int_param(self.request, column)
            if value is not None:
                rooms = rooms.filter(**{f"{column}_id": value})
        use = self.request.query_params.get("use")
        if use:
            rooms = rooms.filter(use__code=use)
        return rooms.prefetch_related("households").order_by("id")

    @extend_schema(request=RoomCreateSerializer, responses={201: RoomSerializer})
    def create(self, request: Request) -> Response:
        """Register a room (a shop, an empty flat); homes get theirs with their household."""
        user = request.user
        _require_editor(user)
        incoming = RoomCreateSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        data = dict(incoming.validated_data)
        data["building"] = _scoped("building", get_building, user, data["building"])
        data["owner"] = _resident(user, "owner", data["owner"])
        room = _run(room_actions.room_create, by=user, **data)
        return Response(RoomSerializer(room_queries.get_room(user, room.pk)).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=RoomUpdateSerializer, responses=RoomSerializer)
    def partial_update(self, request: Request, pk: str | None = None) -> Response:
        """Change a room's use, area, floor or owner."""
        user = request.user
        room = room_queries.get_room(user, pk)
        _require_editor(user)
        incoming = RoomUpdateSerializer(data=request.data, partial=True)
        incoming.is_valid(raise_exception=True)
        changes = dict(incoming.validated_data)
        if "owner" in changes:
            changes["owner"] = _resident(user, "owner", changes["owner"])
        room = _run(room_actions.room_update, by=user, room=room, **changes)
        return Response(RoomSerializer(room_queries.get_room(user, room.pk)).data)


@extend_schema_view(
    list=extend_schema(
        parameters=[
            OpenApiParameter("room", OpenApiTypes.INT, description="房屋编号"),
            OpenApiParameter("building", OpenApiTypes.INT, description="楼栋编号"),
            OpenApiParameter(
                "attention", OpenApiTypes.BOOL, description="只列出检查到期（含即将到期）或租约即将到期的在租房屋"
            ),
            OpenApiParameter("current", OpenApiTypes.BOOL, description="只列出在租的房屋"),
        ]
    )
)
class RentalViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet[Rental],
):
    """Rentals (出租房屋) in the caller's areas; ``?attention=1`` is the grid worker's list."""

    serializer_class = RentalSerializer
    queryset = Rental.objects.none()

    def get_serializer_context(self) -> dict[str, Any]:
        return {**super().get_serializer_context(), "today": timezone.localdate()}

    def get_queryset(self) -> QuerySet[Rental]:
        user = self.request.user
        today = timezone.localdate()
        params = self.request.query_params
        if params.get("attention") in ("1", "true"):
            rentals = room_queries.rentals_needing_attention(user, today=today)
        elif params.get("current") in ("1", "true"):
            rentals = room_queries.current_rentals(user, today=today).order_by("end", "id")
        else:
            rentals = room_queries.rentals_visible_to(user).order_by("id")
        for column, lookup in (("room", "room_id"), ("building", "room__building_id")):
            value = int_param(self.request, column)
            if value is not None:
                rentals = rentals.filter(**{lookup: value})
        return _with_tenants(user, rentals)

    @extend_schema(request=RentalCreateSerializer, responses={201: RentalSerializer})
    def create(self, request: Request) -> Response:
        """Register a lease of a room (its landlord, tenants, period, rent and hazard level)."""
        user = request.user
        _require_editor(user)
        incoming = RentalCreateSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        data = dict(incoming.validated_data)
        data["room"] = _scoped("room", room_queries.get_room, user, data["room"])
        data["landlord"] = _resident(user, "landlord", data["landlord"])
        data["tenants"] = [_resident(user, "tenants", pk) for pk in dict.fromkeys(data["tenants"])]
        rental = _run(room_actions.rental_register, by=user, **data)
        return Response(self.get_serializer(self._fresh(rental)).data, status=status.HTTP_201_CREATED)

    def _fresh(self, rental: Rental) -> Rental:
        user = self.request.user
        return _with_tenants(user, room_queries.rentals_visible_to(user)).get(pk=rental.pk)

    @extend_schema(request=InspectionCreateSerializer, responses={201: InspectionSerializer})
    @action(detail=True, methods=["get", "post"])
    def inspections(self, request: Request, pk: str | None = None) -> Response:
        """The rental's inspections (GET), or record one (POST): the next falls due by its level."""
        user = request.user
        rental = room_queries.get_rental(user, pk)
        if request.method == "GET":
            return Response(InspectionSerializer(room_queries.inspections_of(rental), many=True).data)
        _require_editor(user)
        incoming = InspectionCreateSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        inspection = _run(room_actions.rental_inspect, by=user, rental=rental, **incoming.validated_data)
        return Response(InspectionSerializer(inspection).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=EndSerializer, responses=RentalSerializer)
    @action(detail=True, methods=["post"])
    def end(self, request: Request, pk: str | None = None) -> Response:
        """The tenants have left (退租) on ``date``."""
        user = request.user
        rental = room_queries.get_rental(user, pk)
        _require_editor(user)
        incoming = EndSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        date: dt.date = incoming.validated_data["date"]
        rental = _run(room_actions.rental_end, by=user, rental=rental, date=date)
        return Response(self.get_serializer(self._fresh(rental)).data)

    @extend_schema(request=TenantsChangeSerializer, responses=RentalSerializer)
    @action(detail=True, methods=["post"])
    def tenants(self, request: Request, pk: str | None = None) -> Response:
        """Tenants move in (``add``) or out (``remove``); the others stay, those the caller cannot
        see included. A resident outside the caller's areas reads like one that does not exist."""
        user = request.user
        rental = room_queries.get_rental(user, pk)
        _require_editor(user)
        incoming = TenantsChangeSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        change = {
            field: [_resident(user, field, resident) for resident in dict.fromkeys(incoming.validated_data[field])]
            for field in ("add", "remove")
        }
        rental = _run(room_actions.rental_tenants_change, by=user, rental=rental, **change)
        return Response(self.get_serializer(self._fresh(rental)).data)


router = SimpleRouter()
router.register("rooms", RoomViewSet, basename="room")
router.register("rentals", RentalViewSet, basename="rental")

urlpatterns: list[Any] = [*router.urls]
