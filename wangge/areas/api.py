"""API of the area tree and buildings, mounted under /api/v1/; every read is scoped."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter
from rest_framework.serializers import BaseSerializer

from wangge.areas.models import Area, Building
from wangge.areas.queries import areas_visible_to, buildings_visible_to, grid_at
from wangge.areas.serializers import AreaDetailSerializer, AreaSerializer, BuildingSerializer, LocateQuerySerializer
from wangge.core.api import int_param


@extend_schema_view(
    list=extend_schema(
        parameters=[
            OpenApiParameter("level", OpenApiTypes.STR, enum=Area.Level.values, description="层级"),
            OpenApiParameter("parent", OpenApiTypes.INT, description="上级区域编号"),
        ]
    )
)
class AreaViewSet(viewsets.ReadOnlyModelViewSet[Area]):
    """Areas the caller may see: their assignments, everything below, and the path above."""

    queryset = Area.objects.none()

    def get_queryset(self) -> QuerySet[Area]:
        areas = areas_visible_to(self.request.user).order_by("level", "code", "name", "id")
        if self.action == "list":
            level = self.request.query_params.get("level")
            if level:
                areas = areas.filter(level=level)
            parent = int_param(self.request, "parent")
            if parent is not None:
                areas = areas.filter(parent_id=parent)
        return areas

    def get_serializer_class(self) -> type[BaseSerializer[Any]]:
        if self.action in ("retrieve", "locate"):
            return AreaDetailSerializer
        return AreaSerializer

    @extend_schema(responses=AreaSerializer(many=True))
    @action(detail=True, methods=["get"])
    def children(self, request: Request, pk: str | None = None) -> Response:
        area = self.get_object()
        children = self.get_queryset().filter(parent=area)
        page = self.paginate_queryset(children)
        if page is not None:
            return self.get_paginated_response(AreaSerializer(page, many=True).data)
        return Response(AreaSerializer(children, many=True).data)

    @extend_schema(parameters=[LocateQuerySerializer], responses=AreaDetailSerializer)
    @action(detail=False, methods=["get"])
    def locate(self, request: Request) -> Response:
        """The grid containing a WGS-84 point, if the caller may see it (else 404)."""
        query = LocateQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        within = areas_visible_to(request.user).filter(level=Area.Level.GRID)
        grid = grid_at(lon=query.validated_data["lon"], lat=query.validated_data["lat"], within=within)
        if grid is None:
            raise Http404
        return Response(AreaDetailSerializer(grid).data)


@extend_schema_view(
    list=extend_schema(
        parameters=[
            OpenApiParameter("grid", OpenApiTypes.INT, description="网格编号"),
            OpenApiParameter("community", OpenApiTypes.INT, description="社区编号"),
        ]
    )
)
class BuildingViewSet(viewsets.ReadOnlyModelViewSet[Building]):
    serializer_class = BuildingSerializer
    queryset = Building.objects.none()

    def get_queryset(self) -> QuerySet[Building]:
        buildings = buildings_visible_to(self.request.user).order_by("community_id", "name", "id")
        for column in ("grid", "community"):
            value = int_param(self.request, column)
            if value is not None:
                buildings = buildings.filter(**{f"{column}_id": value})
        return buildings


router = SimpleRouter()
router.register("areas", AreaViewSet, basename="area")
router.register("buildings", BuildingViewSet, basename="building")

urlpatterns = router.urls
