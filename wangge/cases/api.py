"""REST API of cases: the caller's cases (``?list=mine|due|overdue|needs``), one case with its
timeline, and intake. Scoped by ``queries`` (out of scope = 404); writes through ``actions``."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.http import Http404
from django.urls import path
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, generics, serializers
from rest_framework.request import Request
from rest_framework.response import Response

from wangge.accounts import policy
from wangge.areas.queries import areas_within
from wangge.cases import actions, queries
from wangge.cases.models import Case, Category, Step
from wangge.registry.queries import get_resident

TAGS = ["cases"]
LISTS = {
    "mine": queries.mine,
    "due": queries.due_soon,
    "overdue": queries.overdue,
    "needs": queries.needs,
    "all": queries.cases_visible_to,
}


class StepSerializer(serializers.ModelSerializer[Step]):
    by: serializers.StringRelatedField[Any] = serializers.StringRelatedField()

    class Meta:
        model = Step
        fields = ["kind", "at", "by", "note", "data"]


class CaseSerializer(serializers.ModelSerializer[Case]):
    number = serializers.CharField(read_only=True)
    category: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(slug_field="code", read_only=True)
    lead_department: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(slug_field="code", read_only=True)
    due = serializers.SerializerMethodField(help_text="the running deadline (null when stopped)")
    overdue = serializers.SerializerMethodField()

    class Meta:
        model = Case
        fields = [
            "id",
            "number",
            "kind",
            "category",
            "channel",
            "status",
            "received_at",
            "accepted_at",
            "accept_due",
            "handle_due",
            "due",
            "overdue",
            "grid",
            "community",
            "lead_department",
            "merit",
            "resolution",
            "satisfaction",
            "closed_at",
        ]
        read_only_fields = fields

    def get_due(self, case: Case) -> str | None:
        due = queries.clock_of(case).due
        return due.isoformat() if due else None

    def get_overdue(self, case: Case) -> bool:
        return queries.clock_of(case).overdue


class CaseDetailSerializer(CaseSerializer):
    text = serializers.CharField(read_only=True)
    petitioners: serializers.PrimaryKeyRelatedField[Any] = serializers.PrimaryKeyRelatedField(many=True, read_only=True)
    co_departments: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        many=True, slug_field="code", read_only=True
    )
    steps = StepSerializer(many=True, read_only=True)

    class Meta(CaseSerializer.Meta):
        fields = [
            *CaseSerializer.Meta.fields,
            "text",
            "petitioners",
            "contact_name",
            "collective_count",
            "co_departments",
            "visited_at",
            "visit_exempt_reason",
            "replied_at",
            "verified_at",
            "lon",
            "lat",
            "address",
            "steps",
        ]
        read_only_fields = fields


class CodeField(serializers.SlugRelatedField[Any]):
    """A code table entry by its code. PostgreSQL cannot compare text holding NUL, so such a code
    is simply not found (400) rather than a database error (500)."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, str) and "\x00" in data:
            self.fail("does_not_exist", slug_name=self.slug_field, value=data)
        return super().to_internal_value(data)


class IntakeSerializer(serializers.Serializer[Any]):
    category = CodeField(slug_field="code", queryset=Category.objects.filter(active=True))
    text = serializers.CharField(max_length=5000)
    channel = serializers.ChoiceField(choices=Case.Channel.choices)
    petitioners = serializers.ListField(child=serializers.IntegerField(), required=False, default=list)
    contact_name = serializers.CharField(max_length=60, required=False, default="", allow_blank=True)
    contact_phone = serializers.CharField(max_length=20, required=False, default="", allow_blank=True)
    new_facts = serializers.CharField(
        max_length=2000,
        required=False,
        default="",
        allow_blank=True,
        help_text="new facts and grounds of a petition whose matter was re-reviewed (Article 36)",
    )
    collective_count = serializers.IntegerField(min_value=1, required=False, default=1)
    area = serializers.IntegerField(required=False, allow_null=True, default=None, help_text="grid or community id")
    lon = serializers.FloatField(min_value=-180, max_value=180, required=False, allow_null=True, default=None)
    lat = serializers.FloatField(min_value=-90, max_value=90, required=False, allow_null=True, default=None)
    address = serializers.CharField(max_length=200, required=False, default="", allow_blank=True)


def _require_cases(user: Any) -> None:
    if not policy.can_view_cases(user):
        raise Http404


class CaseList(generics.ListCreateAPIView[Case]):
    """The caller's cases; POST registers one (reception desk, phone, letter, field)."""

    serializer_class = CaseSerializer

    def get_queryset(self) -> QuerySet[Case]:
        _require_cases(self.request.user)
        name = self.request.query_params.get("list", "all")
        if name not in LISTS:
            raise exceptions.ValidationError({"list": [_("未知的列表")]})
        return (
            LISTS[name](self.request.user).select_related("category", "lead_department").order_by("-received_at", "-id")
        )

    @extend_schema(
        tags=TAGS,
        parameters=[
            OpenApiParameter("list", OpenApiTypes.STR, enum=list(LISTS), description="which list (default all)")
        ],
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(tags=TAGS, request=IntakeSerializer, responses={201: CaseDetailSerializer})
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        user = request.user
        if not policy.can_take_cases(user):
            raise Http404
        body = IntakeSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        people = []
        for pk in data["petitioners"]:
            try:
                people.append(get_resident(user, pk))
            except Http404:
                raise exceptions.ValidationError({"petitioners": [_("居民不存在或不在您的管辖范围内。")]}) from None
        area = None
        if data["area"] is not None:
            area = areas_within(user).filter(pk=data["area"]).first()
            if area is None:
                raise exceptions.ValidationError({"area": [_("区域不存在或不在您的管辖范围内。")]})
        try:
            with transaction.atomic():
                case = actions.case_receive(
                    by=user,
                    category=data["category"],
                    text=data["text"],
                    channel=data["channel"],
                    petitioners=people,
                    contact_name=data["contact_name"],
                    contact_phone=data["contact_phone"],
                    collective_count=data["collective_count"],
                    area=area,
                    lon=data["lon"],
                    lat=data["lat"],
                    address=data["address"],
                    new_facts=data["new_facts"],
                )
        except DjangoValidationError as exc:
            raise exceptions.ValidationError({"detail": exc.messages}) from None
        return Response(CaseDetailSerializer(case).data, status=201)


class CaseDetail(generics.RetrieveAPIView[Case]):
    """One case with its timeline (the read is audited)."""

    serializer_class = CaseDetailSerializer

    @extend_schema(tags=TAGS)
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        user = request.user
        _require_cases(user)
        with transaction.atomic():
            case = queries.get_case(user, kwargs["pk"])
            queries.case_read(user, case)
            return Response(CaseDetailSerializer(case).data)


urlpatterns = [
    path("cases/", CaseList.as_view(), name="api-cases"),
    path("cases/<int:pk>/", CaseDetail.as_view(), name="api-case"),
]
