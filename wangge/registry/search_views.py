"""The resident search page (``/search/``) and API (``GET /api/v1/search/``).

Both are thin: ``wangge.registry.search.search_residents`` scopes, ranks and writes the one
audit entry per request. Results are masked for every role (lists never show full ID
numbers or phones); the resident's page is the audited full view.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from wangge.accounts import policy
from wangge.core import idnumbers
from wangge.registry.models import Resident
from wangge.registry.search import MAX_RESULTS, parse_query, search_residents
from wangge.registry.serializers import ResidentSummarySerializer, age_on

PAGE_SIZE = 20
API_MAX_LIMIT = 50


def _require_registry_role(user: Any) -> None:
    # An auditor or an unassigned role has no registry: the feature is not there for them.
    if not policy.can_view_registry(user):
        raise Http404


def _int(raw: str | None, *, default: int, low: int, high: int) -> int:
    try:
        value = int(raw) if raw not in (None, "") else default
    except ValueError:
        value = default
    return max(low, min(high, value))


# --- page ----------------------------------------------------------------------------------


def _row(resident: Resident) -> dict[str, Any]:
    return {
        "resident": resident,
        "age": age_on(resident.birth_date, timezone.localdate()),
        "id_number": idnumbers.mask(resident.id_number),
        "phone": idnumbers.mask_phone(resident.phone) if resident.phone else "",
    }


@login_required
def search_page(request: HttpRequest) -> HttpResponse:
    _require_registry_role(request.user)
    q = request.GET.get("q", "").replace("\x00", "").strip()[:100]  # PostgreSQL text cannot hold NUL
    offset = _int(request.GET.get("offset"), default=0, low=0, high=MAX_RESULTS)
    parsed = parse_query(q)
    results: list[Resident] = []
    more = False
    if q:
        found = search_residents(user=request.user, q=q, limit=PAGE_SIZE + 1, offset=offset)
        more = len(found) > PAGE_SIZE and offset + PAGE_SIZE < MAX_RESULTS
        results = found[:PAGE_SIZE]
    context = {
        "q": q,
        "parsed": parsed,
        "results": [_row(r) for r in results],
        "offset": offset,
        "next_url": f"?{urlencode([('q', q), ('offset', offset + PAGE_SIZE)])}" if more else None,
        "previous_url": f"?{urlencode([('q', q), ('offset', max(0, offset - PAGE_SIZE))])}" if offset else None,
        "kind_label": KIND_LABELS.get(parsed.kind, ""),
    }
    return render(request, "registry/search.html", context)


KIND_LABELS = {
    "name": _("按姓名"),
    "pinyin": _("按拼音或首字母"),
    "id_number": _("按身份号码"),
    "phone": _("按手机号"),
}


# --- API -----------------------------------------------------------------------------------


class SearchResultSerializer(ResidentSummarySerializer):
    """A search hit: the masked summary plus where the person lives and a link to their page."""

    address = serializers.SerializerMethodField(help_text=_("住址（楼栋、单元、房号）"))
    grid_name = serializers.SerializerMethodField(help_text=_("网格名称"))
    community_name = serializers.SerializerMethodField(help_text=_("社区名称"))
    url = serializers.SerializerMethodField(help_text=_("居民页面"))

    class Meta(ResidentSummarySerializer.Meta):
        fields = [*ResidentSummarySerializer.Meta.fields, "address", "grid_name", "community_name", "url"]
        read_only_fields = fields

    def get_address(self, resident: Resident) -> str:
        return resident.household.address if resident.household_id and resident.household else ""

    def get_grid_name(self, resident: Resident) -> str:
        return str(resident.grid) if resident.grid_id and resident.grid else ""

    def get_community_name(self, resident: Resident) -> str:
        return str(resident.community) if resident.community_id else ""

    def get_url(self, resident: Resident) -> str:
        path = reverse("registry:resident", args=[resident.pk])
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request is not None else path


class SearchAPIView(APIView):
    """Find residents in your areas by name (简体 or 繁體), pinyin, initials, ID number or phone."""

    @extend_schema(
        operation_id="search_residents",
        summary="搜索居民",
        description=(
            "按姓名（简体或繁体）、全拼（可带空格、可只输入开头）、首字母、身份号码（完整、15位旧号或至少6位开头）、"
            "手机号后四位或完整手机号搜索当前用户管辖范围内的居民。身份号码和电话已脱敏。每次搜索写入审计日志。"
            "结果先列完全匹配，再列在住居民，再按姓名拼音排序；最多可翻到前 100 条。"
        ),
        parameters=[
            OpenApiParameter(
                "q", OpenApiTypes.STR, required=True, description="搜索内容，例如 刘娟、劉娟、liuj、lj、1234"
            ),
            OpenApiParameter("limit", OpenApiTypes.INT, description=f"每页条数，1–{API_MAX_LIMIT}，默认 {PAGE_SIZE}"),
            OpenApiParameter("offset", OpenApiTypes.INT, description="跳过的条数，默认 0"),
        ],
        responses=inline_serializer(
            "SearchResponse",
            {
                "query": serializers.CharField(),
                "kind": serializers.ChoiceField(choices=["name", "pinyin", "id_number", "phone", "none"]),
                "hint": serializers.CharField(),
                "next": serializers.URLField(allow_null=True),
                "previous": serializers.URLField(allow_null=True),
                "results": SearchResultSerializer(many=True),
            },
        ),
    )
    def get(self, request: Request) -> Response:
        _require_registry_role(request.user)
        q = request.query_params.get("q", "").replace("\x00", "").strip()[:100]  # PostgreSQL text cannot hold NUL
        limit = _int(request.query_params.get("limit"), default=PAGE_SIZE, low=1, high=API_MAX_LIMIT)
        offset = _int(request.query_params.get("offset"), default=0, low=0, high=MAX_RESULTS)
        parsed = parse_query(q)
        found = search_residents(user=request.user, q=q, limit=limit + 1, offset=offset) if q else []
        more = len(found) > limit and offset + limit < MAX_RESULTS
        results = found[:limit]

        def page_url(start: int) -> str:
            path = request.build_absolute_uri(request.path)
            return f"{path}?{urlencode([('q', q), ('limit', limit), ('offset', start)])}"

        return Response(
            {
                "query": q,
                "kind": parsed.kind,
                "hint": parsed.hint,
                "next": page_url(offset + limit) if more else None,
                "previous": page_url(max(0, offset - limit)) if offset else None,
                "results": SearchResultSerializer(results, many=True, context={"request": request}).data,
            }
        )
