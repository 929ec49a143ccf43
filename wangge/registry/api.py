"""API of households and residents, mounted under /api/v1/.

Reads go through ``wangge.registry.queries`` (out of scope is a 404, the same as a missing
id); writes go through ``wangge.registry.actions``. A full view of a resident writes its audit
entry in the same transaction that reads the record.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.db.models import Prefetch, QuerySet
from django.http import Http404, StreamingHttpResponse
from django.urls import path
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import exceptions, mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter

from wangge.accounts import policy
from wangge.core.api import int_param
from wangge.registry import actions
from wangge.registry.export import csv_response, residents_export
from wangge.registry.models import Household, LifeEvent, Resident
from wangge.registry.queries import (
    get_household,
    get_resident,
    households_visible_to,
    resident_seen_in_full,
    residents_visible_to,
)
from wangge.registry.search_views import SearchAPIView
from wangge.registry.serializers import (
    HouseholdSerializer,
    LifeEventCreateSerializer,
    ResidentCreateSerializer,
    ResidentDetailSerializer,
    ResidentSummarySerializer,
    ResidentUpdateSerializer,
)


def _require_editor(user: Any) -> None:
    if not policy.can_edit_registry(user):
        raise exceptions.PermissionDenied(_("您没有修改居民信息的权限。"))


def _run(write: Any, **kwargs: Any) -> Any:
    """Call an action; its Django ``ValidationError`` becomes a 400 with messages per field."""
    try:
        return write(**kwargs)
    except DjangoValidationError as exc:
        detail = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        raise exceptions.ValidationError(detail) from None


def _scoped_household(user: Any, pk: int) -> Household:
    """A household by id from a request body: out of scope reads exactly like nonexistent."""
    try:
        return get_household(user, pk)
    except Http404:
        raise exceptions.ValidationError({"household": [_("住户不存在或不在您的管辖范围内。")]}) from None


SCOPE_PARAMETERS = [
    OpenApiParameter("grid", OpenApiTypes.INT, description="网格编号"),
    OpenApiParameter("community", OpenApiTypes.INT, description="社区编号"),
]


@extend_schema_view(
    list=extend_schema(
        parameters=[*SCOPE_PARAMETERS, OpenApiParameter("building", OpenApiTypes.INT, description="楼栋编号")]
    )
)
class HouseholdViewSet(viewsets.ReadOnlyModelViewSet[Household]):
    """Households in the caller's areas (a guardian: those of their wards); members masked."""

    serializer_class = HouseholdSerializer
    queryset = Household.objects.none()

    def get_queryset(self) -> QuerySet[Household]:
        user = self.request.user
        households = households_visible_to(user).select_related("building").order_by("building_id", "entrance", "room")
        for column in ("grid", "community", "building"):
            value = int_param(self.request, column)
            if value is not None:
                households = households.filter(**{f"{column}_id": value})
        members = residents_visible_to(user).order_by("id")
        return households.prefetch_related(Prefetch("members", queryset=members, to_attr="visible_members"))


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


class CSVRenderer(BaseRenderer):
    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None) -> bytes:
        # Only errors come through here (the export streams its own body); JSON clients get JSON.
        detail = data.get("detail", "") if isinstance(data, dict) else data
        if isinstance(data, dict) and not detail:  # a parameter's error: {"grid": ["…"]}
            detail = " ".join(str(message) for messages in data.values() for message in _listed(messages))
        return str(detail).encode("utf-8")


@extend_schema_view(
    list=extend_schema(
        parameters=[
            *SCOPE_PARAMETERS,
            OpenApiParameter("household", OpenApiTypes.INT, description="住户编号"),
            OpenApiParameter("status", OpenApiTypes.STR, enum=Resident.Status.values, description="状态"),
        ]
    ),
    retrieve=extend_schema(
        description="完整的身份号码、电话和人员类别只对有权限的角色显示，且每次查看都写入审计日志。"
    ),
)
class ResidentViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet[Resident],
):
    serializer_class = ResidentSummarySerializer
    queryset = Resident.objects.none()

    def get_queryset(self) -> QuerySet[Resident]:
        residents = residents_visible_to(self.request.user)
        for column in ("grid", "community", "household"):
            value = int_param(self.request, column)
            if value is not None:
                residents = residents.filter(**{f"{column}_id": value})
        wanted = self.request.query_params.get("status")
        if wanted:
            residents = residents.filter(status=wanted)
        # By id: a stable order that pages on the primary key instead of sorting a district by name.
        return residents.order_by("id")

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        with transaction.atomic():
            resident = get_resident(request.user, kwargs["pk"])
            full = resident_seen_in_full(request.user, resident)
            data = ResidentDetailSerializer(resident, context={"request": request, "full": full}).data
        return Response(data)

    def _masked(self, resident: Resident) -> dict[str, Any]:
        # Write responses are masked: the full record is a separate, audited read.
        resident = get_resident(self.request.user, resident.pk)
        return dict(ResidentDetailSerializer(resident, context={"request": self.request, "full": False}).data)

    @extend_schema(request=ResidentCreateSerializer, responses={201: ResidentDetailSerializer})
    def create(self, request: Request) -> Response:
        """Register a person into a household (a move-in)."""
        _require_editor(request.user)
        incoming = ResidentCreateSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        fields = dict(incoming.validated_data)
        household = _scoped_household(request.user, fields.pop("household"))
        resident = _run(actions.resident_register, by=request.user, household=household, **fields)
        return Response(self._masked(resident), status=status.HTTP_201_CREATED)

    @extend_schema(request=ResidentUpdateSerializer, responses=ResidentDetailSerializer)
    def partial_update(self, request: Request, pk: str | None = None) -> Response:
        """Correct a resident's name, phone, relationship to the head or ethnicity."""
        resident = get_resident(request.user, pk)
        _require_editor(request.user)
        incoming = ResidentUpdateSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        resident = _run(actions.resident_update, by=request.user, resident=resident, **incoming.validated_data)
        return Response(self._masked(resident))

    @extend_schema(request=LifeEventCreateSerializer, responses={201: ResidentDetailSerializer})
    @action(detail=True, methods=["post"])
    def events(self, request: Request, pk: str | None = None) -> Response:
        """Record a life event: move in (to another household), move out, marriage, death."""
        user = request.user
        resident = get_resident(user, pk)
        _require_editor(user)
        incoming = LifeEventCreateSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        data = incoming.validated_data
        kind, date = data["kind"], data["date"]
        if kind == LifeEvent.Kind.MOVE_OUT:
            resident = _run(
                actions.resident_move_out, by=user, resident=resident, date=date, destination=data["destination"]
            )
        elif kind == LifeEvent.Kind.DEATH:
            resident = _run(actions.resident_die, by=user, resident=resident, date=date)
        elif kind == LifeEvent.Kind.MARRIAGE:
            spouse = None
            if data.get("spouse") is not None:
                try:
                    spouse = get_resident(user, data["spouse"])
                except Http404:
                    raise exceptions.ValidationError({"spouse": [_("居民不存在或不在您的管辖范围内。")]}) from None
            resident = _run(
                actions.resident_marry,
                by=user,
                resident=resident,
                date=date,
                spouse=spouse,
                spouse_name=data["spouse_name"],
            )
        else:
            household = _scoped_household(user, data["household"])
            resident = _run(
                actions.resident_move_in,
                by=user,
                resident=resident,
                household=household,
                date=date,
                relationship=data.get("relationship"),
            )
        return Response(self._masked(resident), status=status.HTTP_201_CREATED)

    @extend_schema(
        parameters=SCOPE_PARAMETERS,
        responses={(200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description="CSV, UTF-8 with BOM; masked")},
    )
    @action(detail=False, methods=["get"], renderer_classes=[CSVRenderer, JSONRenderer], pagination_class=None)
    def export(self, request: Request) -> StreamingHttpResponse:
        """The residents in the caller's areas as CSV (ID numbers and phones masked); audited."""
        try:
            count, chunks = residents_export(
                by=request.user, grid=int_param(request, "grid"), community=int_param(request, "community")
            )
        except DjangoPermissionDenied as exc:
            raise exceptions.PermissionDenied(str(exc)) from None
        return csv_response(chunks, count)


router = SimpleRouter()
router.register("households", HouseholdViewSet, basename="household")
router.register("residents", ResidentViewSet, basename="resident")

urlpatterns: list[Any] = [
    *router.urls,
    path("search/", SearchAPIView.as_view(), name="search"),
]
