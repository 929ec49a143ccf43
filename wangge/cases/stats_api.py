"""REST API of the case statistics: the figures of the page and of ``wangge cases stats`` for
the caller's scope, as one JSON object."""

from __future__ import annotations

from typing import Any

from django.http import Http404
from django.urls import path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from wangge.accounts import policy
from wangge.areas.queries import areas_within
from wangge.cases import stats
from wangge.cases.stats_views import StatsForm


class CaseStats(APIView):
    """Case figures of the caller's areas (or one of them) for a range of receipt dates."""

    @extend_schema(
        tags=["cases"],
        parameters=[
            OpenApiParameter("area", OpenApiTypes.INT, description="an area id within the caller's areas"),
            OpenApiParameter("from", OpenApiTypes.DATE, description="first day of receipt (inclusive)"),
            OpenApiParameter("to", OpenApiTypes.DATE, description="last day of receipt (inclusive)"),
        ],
        responses={200: OpenApiTypes.OBJECT},
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        user = request.user
        if not policy.can_view_cases(user):
            raise Http404
        params = request.query_params
        areas = areas_within(user)
        raw_area = params.get("area")
        if raw_area and (not raw_area.isdigit() or not areas.filter(pk=raw_area).exists()):
            raise Http404
        form = StatsForm(
            {"area": raw_area or "", "date_from": params.get("from", ""), "date_to": params.get("to", "")},
            areas=areas,
        )
        if not form.is_valid():
            raise exceptions.ValidationError({name: [str(e) for e in errors] for name, errors in form.errors.items()})
        data = form.cleaned_data
        return Response(
            stats.figures(user=user, area=data["area"], date_from=data["date_from"], date_to=data["date_to"])
        )


urlpatterns = [path("cases/stats/", CaseStats.as_view(), name="api-case-stats")]
