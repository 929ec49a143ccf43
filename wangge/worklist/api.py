"""REST API of the worklist: the caller's tasks, visits (recorded idempotently by client id: a
resend answers 200 with the stored visit) and the rules with a dry run. Scoped by ``queries``
(out of scope = 404); writes through ``actions``."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from django.http import Http404
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import exceptions, generics, serializers
from rest_framework.request import Request
from rest_framework.response import Response

from wangge.accounts import policy
from wangge.worklist import actions, queries
from wangge.worklist.models import Rule, Task, Visit

TAGS = ["worklist"]
MAX_ID = 2**63 - 1  # larger ids overflow SQLite's integers


class RuleSerializer(serializers.ModelSerializer[Rule]):
    class Meta:
        model = Rule
        fields = ["code", "name", "name_en", "source", "kind", "condition", "due_days", "every_days", "priority",
                  "assignee", "active", "version"]  # fmt: skip
        read_only_fields = fields


class TaskSerializer(serializers.ModelSerializer[Task]):
    rule: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(slug_field="code", read_only=True)
    resident_name = serializers.CharField(source="resident.name", read_only=True, allow_null=True, default=None)

    class Meta:
        model = Task
        fields = ["id", "rule", "rule_version", "resident", "resident_name", "household", "listing", "rental",
                  "grid", "period",
                  "anchor", "due", "status", "assignee", "visit", "escalated_at"]  # fmt: skip
        read_only_fields = fields


class VisitSerializer(serializers.ModelSerializer[Visit]):
    tasks = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=MAX_ID),
        write_only=True,
        required=False,
        default=list,
        max_length=100,
    )
    household = serializers.IntegerField(source="household_id", min_value=1, max_value=MAX_ID)
    resident = serializers.IntegerField(
        source="resident_id", required=False, allow_null=True, default=None, min_value=1, max_value=MAX_ID
    )

    class Meta:
        model = Visit
        fields = ["id", "client_id", "household", "resident", "kind", "met", "notes", "follow_up", "lon", "lat",
                  "visited_at", "recorded_by", "case", "tasks"]  # fmt: skip
        read_only_fields = ["id", "recorded_by", "case"]
        extra_kwargs = {
            "client_id": {"validators": []},
            "visited_at": {"required": False},
            "lon": {"min_value": -180, "max_value": 180},
            "lat": {"min_value": -90, "max_value": 90},
        }


def _require(allowed: bool) -> None:
    if not allowed:
        raise Http404


class RuleList(generics.ListAPIView[Rule]):
    """The service rules (read-only here; the district edits them in the admin)."""

    serializer_class = RuleSerializer

    def get_queryset(self) -> QuerySet[Rule]:
        _require(policy.can_see_worklist(self.request.user))
        return queries.rules()

    @extend_schema(tags=TAGS)
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


class RulePreview(generics.GenericAPIView[Rule]):
    """What the rule would create on a day (default today), without writing anything."""

    serializer_class = RuleSerializer

    @extend_schema(
        tags=TAGS,
        parameters=[OpenApiParameter("date", OpenApiTypes.DATE, required=False)],
        responses=inline_serializer(
            "RulePreview", {"tasks": serializers.IntegerField(), "grids": serializers.IntegerField()}
        ),
    )
    def get(self, request: Request, code: str) -> Response:
        _require(policy.can_see_coverage(request.user) or policy.can_edit_rules(request.user))
        rule = Rule.objects.filter(code=code).first()
        if rule is None:
            raise Http404
        try:
            day = dt.date.fromisoformat(request.query_params["date"]) if "date" in request.query_params else None
        except ValueError:
            raise exceptions.ValidationError({"date": [_("日期格式应为 YYYY-MM-DD")]}) from None
        return Response(actions.rule_preview(rule=rule, today=day))


class TaskList(generics.ListAPIView[Task]):
    """The caller's open tasks due by today (``?all=1``: every task in scope, newest due first,
    less the special-group follow-ups)."""

    serializer_class = TaskSerializer

    def get_queryset(self) -> QuerySet[Task]:
        user = self.request.user
        _require(policy.can_see_worklist(user))
        everything = self.request.query_params.get("all") == "1"
        return queries.tasks_for_api(user, today=timezone.localdate(), everything=everything)

    @extend_schema(tags=TAGS, parameters=[OpenApiParameter("all", OpenApiTypes.STR, required=False)])
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


class TaskDetail(generics.RetrieveAPIView[Task]):
    serializer_class = TaskSerializer

    @extend_schema(tags=TAGS)
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        _require(policy.can_see_worklist(request.user))
        return Response(TaskSerializer(queries.get_task(request.user, kwargs["pk"])).data)


class VisitList(generics.ListCreateAPIView[Visit]):
    """Visits the caller may read; POST records one (201), or answers the stored one (200) when
    its ``client_id`` was sent before."""

    serializer_class = VisitSerializer

    def get_queryset(self) -> QuerySet[Visit]:
        _require(policy.can_see_worklist(self.request.user))
        return queries.visits_visible_to(self.request.user).order_by("-visited_at", "-id")

    @extend_schema(tags=TAGS)
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(tags=TAGS, responses={200: VisitSerializer, 201: VisitSerializer})
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        user = request.user
        _require(policy.can_record_visits(user))
        body = VisitSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        try:
            household = queries.get_household(user, data["household_id"])
        except Http404:
            raise exceptions.ValidationError({"household": [_("住户不存在或不在您的管辖范围内。")]}) from None
        tasks = list(queries.tasks_visible_to(user).filter(pk__in=data["tasks"], household=household))
        resident = None
        if data.get("resident_id"):
            resident = household.members.filter(pk=data["resident_id"]).first()
            if resident is None:
                raise exceptions.ValidationError({"resident": [_("该居民不属于这户")]})
        try:
            visit, created = actions.visit_record(
                by=user,
                household=household,
                client_id=data["client_id"],
                kind=data.get("kind", Visit.Kind.HOME),
                met=data.get("met", ""),
                notes=data.get("notes", ""),
                follow_up=data.get("follow_up", False),
                tasks=tasks,
                resident=resident,
                lon=data.get("lon"),
                lat=data.get("lat"),
                visited_at=data.get("visited_at"),
            )
        except DjangoValidationError as exc:
            raise exceptions.ValidationError({"detail": exc.messages}) from None
        return Response(VisitSerializer(visit).data, status=201 if created else 200)


class VisitDetail(generics.RetrieveAPIView[Visit]):
    serializer_class = VisitSerializer

    @extend_schema(tags=TAGS)
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        _require(policy.can_see_worklist(request.user))
        return Response(VisitSerializer(queries.get_visit(request.user, kwargs["pk"])).data)


urlpatterns = [
    path("worklist/rules/", RuleList.as_view(), name="api-worklist-rules"),
    path("worklist/rules/<slug:code>/preview/", RulePreview.as_view(), name="api-worklist-rule-preview"),
    path("worklist/tasks/", TaskList.as_view(), name="api-worklist-tasks"),
    path("worklist/tasks/<int:pk>/", TaskDetail.as_view(), name="api-worklist-task"),
    path("worklist/visits/", VisitList.as_view(), name="api-worklist-visits"),
    path("worklist/visits/<int:pk>/", VisitDetail.as_view(), name="api-worklist-visit"),
]
