"""API shapes of areas and buildings; thin: scoping lives in ``wangge.areas.queries``."""

from __future__ import annotations

import functools
from typing import Any

from django.db import models
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from wangge.areas.models import Area, Building


@functools.lru_cache(maxsize=1024)
def _label(choices: type[models.Choices], value: Any, language: str) -> str:
    return str(dict(choices.choices).get(value, value))


def choice_label(choices: type[models.Choices], value: Any) -> str:
    """A choice's label in the active language.

    ``get_FOO_display`` hashes lazy strings on every call, which costs more than the rest of a
    row when a list or an export renders thousands of them; labels are cached per language.
    """
    return _label(choices, value, get_language() or "")


@extend_schema_field(OpenApiTypes.STR)
class ChoiceLabelField(serializers.Field):  # type: ignore[type-arg]
    """The label of a choice field, read-only: ``ChoiceLabelField(Area.Level, source="level")``."""

    def __init__(self, choices: type[models.Choices], **kwargs: Any) -> None:
        self.choices = choices
        kwargs["read_only"] = True
        super().__init__(**kwargs)

    def to_representation(self, value: Any) -> str:
        return choice_label(self.choices, value)


@extend_schema_field(OpenApiTypes.OBJECT)
class GeoJSONField(serializers.JSONField):
    """A GeoJSON geometry (WGS-84) as stored."""


class AreaSerializer(serializers.ModelSerializer[Area]):
    level_label = ChoiceLabelField(Area.Level, source="level")

    class Meta:
        model = Area
        fields = [
            "id",
            "level",
            "level_label",
            "kind",
            "name",
            "short_name",
            "code",
            "code_scheme",
            "code_date",
            "parent",
            "district",
            "street",
            "community",
            "target_households",
        ]
        read_only_fields = fields


class AreaDetailSerializer(AreaSerializer):
    boundary = GeoJSONField(read_only=True, allow_null=True, help_text=_("边界 (GeoJSON, WGS-84)"))

    class Meta(AreaSerializer.Meta):
        fields = [*AreaSerializer.Meta.fields, "boundary"]
        read_only_fields = fields


class LocateQuerySerializer(serializers.Serializer[Any]):
    lon = serializers.FloatField(min_value=-180, max_value=180, help_text=_("经度 (WGS-84)"))
    lat = serializers.FloatField(min_value=-90, max_value=90, help_text=_("纬度 (WGS-84)"))


class BuildingSerializer(serializers.ModelSerializer[Building]):
    class Meta:
        model = Building
        fields = [
            "id",
            "name",
            "address",
            "grid",
            "community",
            "street",
            "district",
            "lon",
            "lat",
            "entrances",
            "needs_location",
        ]
        read_only_fields = fields
