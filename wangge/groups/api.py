"""API of the special-group registers, mounted under /api/v1/ (``group-listings/``).

Every read names its purpose (``?purpose=follow_up|worklist|check|report``) and is audited
with it; a listing on a register the caller's role may not see, or outside their areas, is a
404 like one that does not exist. Writes go through ``wangge.groups.actions``.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter

from wangge.accounts import policy
from wangge.groups import actions, queries
from wangge.groups.models import FollowUp, Listing
from wangge.registry.api import _run  # the same translation of an action's errors into a 400

PURPOSE = OpenApiParameter(
    "purpose", OpenApiTypes.STR, enum=queries.Purpose.values, required=True, description="查看用途（写入审计日志）"
)


class FollowUpSerializer(serializers.ModelSerializer[FollowUp]):
    by: serializers.StringRelatedField[Any] = serializers.StringRelatedField()

    class Meta:
        model = FollowUp
        fields = ["id", "date", "by", "finding", "next_date"]
        read_only_fields = fields


class ListingSerializer(serializers.ModelSerializer[Listing]):
    register = serializers.CharField(source="register_id", read_only=True)
    resident_name = serializers.CharField(source="resident.name", read_only=True)
    responsible: serializers.StringRelatedField[Any] = serializers.StringRelatedField()

    class Meta:
        model = Listing
        fields = [
            "id",
            "register",
            "resident",
            "resident_name",
            "attention",
            "responsible",
            "follow_up_days",
            "next_follow_up",
            "last_follow_up",
            "start",
            "ended",
            "release_date",
            "period_start",
            "period_end",
            "office",
            "risk_level",
            "grid",
            "community",
        ]
        read_only_fields = fields


class FollowUpCreateSerializer(serializers.Serializer[Any]):
    date = serializers.DateField()
    finding = serializers.CharField(max_length=2000)
    next_date = serializers.DateField(required=False, allow_null=True, default=None)


def _purpose(request: Request) -> str:
    purpose = request.query_params.get("purpose", "")
    if purpose not in queries.Purpose.values:
        raise exceptions.ValidationError(
            {"purpose": [_("请说明查看用途：%(p)s") % {"p": ", ".join(queries.Purpose.values)}]}
        )
    return purpose


class ListingViewSet(viewsets.ViewSet):
    """Listed people of the registers the caller may see, in their areas."""

    queryset = Listing.objects.none()  # for the schema's path parameter type only; reads use queries

    @extend_schema(
        parameters=[
            PURPOSE,
            OpenApiParameter("register", OpenApiTypes.STR, description="名册代码"),
            OpenApiParameter("due", OpenApiTypes.INT, description="只列出该天数内到期（含逾期）的随访"),
        ],
        responses=ListingSerializer(many=True),
    )
    def list(self, request: Request) -> Response:
        purpose = _purpose(request)
        due = request.query_params.get("due")
        with transaction.atomic():
            if due not in (None, ""):
                try:
                    within = max(0, min(int(due), 366))
                except ValueError:
                    raise exceptions.ValidationError({"due": [_("请填写天数")]}) from None
                found = queries.listings_due(request.user, on=timezone.localdate(), purpose=purpose, within_days=within)
            else:
                found = queries.listings_for(
                    request.user, purpose=purpose, register=request.query_params.get("register")
                )
            data = ListingSerializer(found, many=True).data
        return Response(data)

    @extend_schema(parameters=[PURPOSE], responses=ListingSerializer)
    def retrieve(self, request: Request, pk: str | None = None) -> Response:
        purpose = _purpose(request)
        with transaction.atomic():
            listing = queries.get_listing(request.user, pk, purpose=purpose)
            data = dict(ListingSerializer(listing).data)
            data["follow_ups"] = FollowUpSerializer(queries.follow_ups_of(listing)[:50], many=True).data
        return Response(data)

    @extend_schema(request=FollowUpCreateSerializer, responses={201: FollowUpSerializer})
    @action(detail=True, methods=["post"], url_path="follow-ups")
    def follow_ups(self, request: Request, pk: str | None = None) -> Response:
        """Record a follow-up (随访/帮教) of a listed person."""
        user = request.user
        with transaction.atomic():
            listing = queries.get_listing(user, pk, purpose=queries.Purpose.FOLLOW_UP)
            if not policy.can_edit_register(user, listing.register):
                raise exceptions.PermissionDenied(_("您没有记录随访的权限。"))
            incoming = FollowUpCreateSerializer(data=request.data)
            incoming.is_valid(raise_exception=True)
            record = _run(actions.follow_up_record, by=user, listing=listing, **incoming.validated_data)
        return Response(FollowUpSerializer(record).data, status=status.HTTP_201_CREATED)


router = SimpleRouter()
router.register("group-listings", ListingViewSet, basename="group-listing")

urlpatterns: list[Any] = [
    *router.urls,
]
