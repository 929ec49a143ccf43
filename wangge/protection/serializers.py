"""API shapes of missing-person protection.

Scoping happens in ``queries`` before anything reaches a serializer; writes go through
``actions`` and ``incidents``. Coordinates appear only where the view has checked that the
caller may read the person's locations and has audited the read (``locations`` in the context);
medical notes only with ``medical`` in the context.
"""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from wangge.protection.incidents.labels import elapsed, seconds, time_to_found
from wangge.protection.models import (
    Alert,
    Consent,
    Device,
    Enrolment,
    Incident,
    IncidentUpdate,
    Location,
    Profile,
    Responder,
    SafeZone,
)


class ConsentSerializer(serializers.ModelSerializer[Consent]):
    class Meta:
        model = Consent
        fields = [
            "id",
            "given_by_kind",
            "given_by_name",
            "relationship",
            "date",
            "covers_tracking",
            "covers_sharing_workers",
            "covers_sharing_police",
            "recorded_at",
            "withdrawn_at",
        ]
        read_only_fields = ["id", "recorded_at", "withdrawn_at"]

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs.get("given_by_kind") == Consent.GivenBy.GUARDIAN and not (attrs.get("relationship") or "").strip():
            raise serializers.ValidationError({"relationship": [_("由监护人同意时请填写与本人的关系")]})
        if attrs.get("date") and attrs["date"] > timezone.localdate():
            raise serializers.ValidationError({"date": [_("同意日期不能晚于今天")]})
        return attrs


class EnrolmentSerializer(serializers.ModelSerializer[Enrolment]):
    resident_name = serializers.CharField(source="resident.name", read_only=True)
    grid_name = serializers.CharField(source="grid.name", read_only=True, default="")
    consent_active = serializers.SerializerMethodField()
    open_incident = serializers.SerializerMethodField()

    class Meta:
        model = Enrolment
        fields = [
            "id",
            "resident",
            "resident_name",
            "grid",
            "grid_name",
            "active",
            "enrolled_at",
            "ended_at",
            "consent_active",
            "open_incident",
        ]
        read_only_fields = fields

    def get_consent_active(self, obj: Enrolment) -> bool:
        if hasattr(obj, "consent_stands"):  # annotated by queries.with_list_flags
            return bool(obj.consent_stands)
        return obj.active_consent() is not None

    def get_open_incident(self, obj: Enrolment) -> int | None:
        if hasattr(obj, "open_incident_pk"):  # annotated by queries.with_list_flags
            return obj.open_incident_pk  # type: ignore[no-any-return]
        incident = obj.incidents.filter(status=Incident.Status.OPEN).only("id").first()
        return incident.pk if incident else None


class EnrolmentCreateSerializer(serializers.Serializer):
    resident = serializers.IntegerField(help_text=_("居民 ID"))
    consent = ConsentSerializer()


class ProfileSerializer(serializers.ModelSerializer[Profile]):
    photo = serializers.ImageField(read_only=True, use_url=False)

    class Meta:
        model = Profile
        fields = [
            "photo",
            "photo_taken_on",
            "appearance",
            "habits",
            "routines",
            "places",
            "previous_addresses",
            "workplaces",
            "medical_notes",
            "guardian_phones",
            "updated_at",
        ]
        read_only_fields = ["photo", "updated_at"]
        extra_kwargs = {"medical_notes": {"help_text": _("仅监护人和负责的工作人员可见，其他人为 null")}}

    def to_representation(self, instance: Profile) -> dict[str, Any]:
        data = super().to_representation(instance)
        if not self.context.get("medical"):
            data["medical_notes"] = None
        data["photo"] = bool(instance.photo)
        return data


class DeviceSerializer(serializers.ModelSerializer[Device]):
    class Meta:
        model = Device
        fields = [
            "id",
            "name",
            "identifier",
            "owntracks_device",
            "coord_system",
            "active",
            "osmand_legacy",
            "registered_at",
            "last_seen",
            "battery",
            "accuracy",
        ]
        read_only_fields = [f for f in fields if f not in ("name", "coord_system")]


class DeviceActiveSerializer(serializers.Serializer[Any]):
    active = serializers.BooleanField()


class DeviceCredentialsSerializer(DeviceSerializer):
    """A device as registered: the password appears in this one response and never again."""

    password = serializers.CharField(read_only=True)
    osmand_key = serializers.CharField(read_only=True, help_text="the OsmAnd / Traccar Client device id, a secret")
    traccar_link = serializers.CharField(read_only=True)
    owntracks_url = serializers.CharField(read_only=True)
    osmand_url = serializers.CharField(read_only=True)
    mqtt_topic = serializers.CharField(read_only=True)
    owntracks_config_link = serializers.CharField(read_only=True)

    class Meta(DeviceSerializer.Meta):
        fields = [
            *DeviceSerializer.Meta.fields,
            "password",
            "osmand_key",
            "traccar_link",
            "owntracks_url",
            "osmand_url",
            "mqtt_topic",
            "owntracks_config_link",
        ]


class ZoneSerializer(serializers.ModelSerializer[SafeZone]):
    class Meta:
        model = SafeZone
        fields = [
            "id",
            "name",
            "kind",
            "geojson",
            "center_lat",
            "center_lon",
            "radius_m",
            "active_from",
            "active_until",
            "active",
        ]
        read_only_fields = ["id", "active"]
        extra_kwargs = {
            "center_lat": {"min_value": -90, "max_value": 90},
            "center_lon": {"min_value": -180, "max_value": 180},
            "radius_m": {"min_value": 20, "max_value": 20000},
        }

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        from django.core.exceptions import ValidationError as DjangoValidationError

        from wangge.protection.forms import parse_polygon

        if (attrs.get("active_from") is None) != (attrs.get("active_until") is None):
            raise serializers.ValidationError(_("生效时段需同时填写开始和结束，或都不填"))
        if attrs.get("kind", SafeZone.Kind.CIRCLE) == SafeZone.Kind.CIRCLE:
            if attrs.get("center_lat") is None or attrs.get("center_lon") is None or not attrs.get("radius_m"):
                raise serializers.ValidationError(_("圆形区域需要圆心和半径"))
            attrs["geojson"] = None
        else:
            import json

            try:
                attrs["geojson"] = parse_polygon(json.dumps(attrs.get("geojson") or {}))
            except DjangoValidationError as exc:
                raise serializers.ValidationError({"geojson": exc.messages}) from None
            attrs["center_lat"] = attrs["center_lon"] = attrs["radius_m"] = None
        return attrs


class AlertDetailSerializer(serializers.ModelSerializer[Alert]):
    resident = serializers.CharField(source="enrolment.resident.name", read_only=True)
    escalated_incident = serializers.SerializerMethodField()

    class Meta:
        model = Alert
        # No coordinates: locations are read through the audited endpoints.
        fields = ["id", "enrolment", "resident", "kind", "raised_at", "resolved_at", "fix_at", "escalated_incident"]
        read_only_fields = fields

    def get_escalated_incident(self, obj: Alert) -> int | None:
        value = (obj.detail or {}).get("escalated_incident")
        return int(value) if value else None


class ResponderSerializer(serializers.ModelSerializer[Responder]):
    name = serializers.CharField(source="user.__str__", read_only=True)
    phone = serializers.CharField(source="user.phone", read_only=True)
    grid_name = serializers.CharField(source="grid.name", read_only=True, default="")

    class Meta:
        model = Responder
        fields = ["user", "name", "phone", "kind", "grid", "grid_name", "distance_m", "notified_at"]
        read_only_fields = fields


class IncidentUpdateSerializer(serializers.ModelSerializer[IncidentUpdate]):
    by_name = serializers.CharField(source="by.__str__", read_only=True, default="")

    class Meta:
        model = IncidentUpdate
        fields = ["id", "kind", "text", "lat", "lon", "seen_at", "by", "by_name", "created_at"]
        read_only_fields = ["id", "by", "by_name", "created_at"]
        extra_kwargs = {
            "kind": {"help_text": _("note（进展）或 sighting（目击线索）")},
            "lat": {"min_value": -90, "max_value": 90, "help_text": _("仅对有权查看位置的人返回")},
            "lon": {"min_value": -180, "max_value": 180},
        }

    def to_representation(self, instance: IncidentUpdate) -> dict[str, Any]:
        data = super().to_representation(instance)
        if not self.context.get("locations"):
            data["lat"] = data["lon"] = None
        return data


class IncidentSerializer(serializers.ModelSerializer[Incident]):
    resident_name = serializers.CharField(source="enrolment.resident.name", read_only=True)
    elapsed_seconds = serializers.SerializerMethodField()
    time_to_found_seconds = serializers.SerializerMethodField()
    searchers: serializers.PrimaryKeyRelatedField[Any] = serializers.PrimaryKeyRelatedField(many=True, read_only=True)
    # A plain string rather than an enum: "status" already names the residents' enum in the schema.
    status = serializers.CharField(read_only=True, help_text=_("open（搜寻中）或 closed（已结束）"))

    class Meta:
        model = Incident
        # The last known location is read through ``incidents/{id}/location/`` (audited).
        fields = [
            "id",
            "enrolment",
            "resident_name",
            "status",
            "opened_at",
            "opened_by",
            "description",
            "alert",
            "last_seen_at",
            "last_source",
            "searchers",
            "closed_at",
            "outcome",
            "found_where",
            "found_at",
            "found_condition",
            "elapsed_seconds",
            "time_to_found_seconds",
        ]
        read_only_fields = fields

    def get_elapsed_seconds(self, obj: Incident) -> int:
        return int(elapsed(obj).total_seconds())

    def get_time_to_found_seconds(self, obj: Incident) -> int | None:
        return seconds(time_to_found(obj))


class IncidentDetailSerializer(IncidentSerializer):
    responders = ResponderSerializer(many=True, read_only=True)
    updates = serializers.SerializerMethodField()

    class Meta(IncidentSerializer.Meta):
        fields = [*IncidentSerializer.Meta.fields, "responders", "updates"]
        read_only_fields = fields

    def get_updates(self, obj: Incident) -> list[dict[str, Any]]:
        rows = obj.updates.select_related("by")[:200]
        return IncidentUpdateSerializer(rows, many=True, context=self.context).data  # type: ignore[return-value]


class ReportSerializer(serializers.Serializer):
    description = serializers.CharField(required=False, allow_blank=True, default="")


class AssignSerializer(serializers.Serializer):
    searcher = serializers.IntegerField(help_text=_("用户 ID"))


class CloseSerializer(serializers.Serializer):
    outcome = serializers.ChoiceField(choices=Incident.Outcome.choices)
    found_where = serializers.CharField(required=False, allow_blank=True, default="", max_length=200)
    found_at = serializers.DateTimeField(required=False, allow_null=True, default=None)
    condition = serializers.CharField(required=False, allow_blank=True, default="", max_length=200)


class LocationPointSerializer(serializers.ModelSerializer[Location]):
    class Meta:
        model = Location
        fields = ["recorded_at", "lat", "lon", "accuracy", "speed", "battery"]


class IncidentLocationSerializer(serializers.Serializer):
    last_lat = serializers.FloatField(allow_null=True)
    last_lon = serializers.FloatField(allow_null=True)
    last_seen_at = serializers.DateTimeField(allow_null=True)
    last_source = serializers.CharField()
    trail = LocationPointSerializer(many=True)
