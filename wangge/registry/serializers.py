"""API shapes of households and residents.

Thin on purpose: scoping is done by ``wangge.registry.queries`` before anything reaches a
serializer and every write goes through ``wangge.registry.actions``. Sensitive fields (ID
number, phone, care categories) are masked unless the view passes ``full=True`` in the
context, which it does only for roles that see full detail, after writing the audit entry.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from wangge.areas.serializers import ChoiceLabelField
from wangge.core import documents, idnumbers
from wangge.registry.models import (
    NATIONAL_ID,
    REGISTERED,
    CareTag,
    DocumentType,
    FloatingDetail,
    ForeignDetail,
    Household,
    LifeEvent,
    PopulationType,
    Resident,
)

PHONE_RE = re.compile(r"^\+?[0-9][0-9 \-]{2,19}$")


def age_on(birth_date: dt.date, today: dt.date) -> int:
    return today.year - birth_date.year - ((today.month, today.day) < (birth_date.month, birth_date.day))


class ResidentSummarySerializer(serializers.ModelSerializer[Resident]):
    """A resident as lists show them, to every role: ID number and phone masked."""

    id_number = serializers.SerializerMethodField(help_text=_("证件号码（脱敏）；居民身份证即公民身份号码"))
    document_type = serializers.CharField(source="document_type_id", read_only=True, help_text=_("证件类型代码"))
    document_type_label = serializers.SerializerMethodField()
    population_type = serializers.CharField(source="population_type_id", read_only=True, help_text=_("人口类型代码"))
    population_type_label = serializers.SerializerMethodField()
    separation_label = ChoiceLabelField(Resident.Separation, source="separation")
    phone = serializers.SerializerMethodField(help_text=_("联系电话（脱敏）"))
    age = serializers.SerializerMethodField()
    sex_label = ChoiceLabelField(Resident.Sex, source="sex")
    relationship_label = ChoiceLabelField(Resident.Relationship, source="relationship")
    status_label = ChoiceLabelField(Resident.Status, source="status")

    class Meta:
        model = Resident
        fields = [
            "id",
            "name",
            "sex",
            "sex_label",
            "age",
            "id_number",
            "phone",
            "relationship",
            "relationship_label",
            "status",
            "status_label",
            "household",
            "grid",
            "community",
            "document_type",
            "document_type_label",
            "population_type",
            "population_type_label",
            "separation",
            "separation_label",
        ]
        read_only_fields = fields

    @property
    def full(self) -> bool:
        return bool(self.context.get("full", False))

    def get_id_number(self, resident: Resident) -> str:
        return resident.id_number if self.full else idnumbers.mask(resident.id_number)

    def get_phone(self, resident: Resident) -> str:
        return resident.phone if self.full else idnumbers.mask_phone(resident.phone)

    def get_age(self, resident: Resident) -> int:
        return age_on(resident.birth_date, timezone.localdate())

    def _labels(self, model: type[DocumentType] | type[PopulationType]) -> dict[str, str]:
        # One read of the (small) code table per response, not one per listed resident.
        cache: dict[Any, dict[str, str]] = self.root.__dict__.setdefault("_code_labels", {})
        if model not in cache:
            cache[model] = {row.code: row.label() for row in model.objects.all()}
        return cache[model]

    def get_document_type_label(self, resident: Resident) -> str:
        code = str(resident.document_type_id)
        return self._labels(DocumentType).get(code, code)

    def get_population_type_label(self, resident: Resident) -> str:
        code = str(resident.population_type_id)
        return self._labels(PopulationType).get(code, code)


class FloatingDetailSerializer(serializers.ModelSerializer[FloatingDetail]):
    class Meta:
        model = FloatingDetail
        fields = ["permit_number", "origin", "arrival_date", "reason", "expected_stay"]
        read_only_fields = fields


class ForeignDetailSerializer(serializers.ModelSerializer[ForeignDetail]):
    class Meta:
        model = ForeignDetail
        fields = ["nationality", "visa_type", "visa_expiry"]
        read_only_fields = fields


class CareTagSerializer(serializers.ModelSerializer[CareTag]):
    code = serializers.CharField(source="category.code", read_only=True)
    name = serializers.CharField(source="category.name", read_only=True)
    recorded_by: serializers.StringRelatedField[Any] = serializers.StringRelatedField(read_only=True)

    class Meta:
        model = CareTag
        fields = ["code", "name", "recorded_by", "recorded_at", "note"]
        read_only_fields = fields


class LifeEventSerializer(serializers.ModelSerializer[LifeEvent]):
    kind_label = ChoiceLabelField(LifeEvent.Kind, source="kind")

    class Meta:
        model = LifeEvent
        fields = ["id", "kind", "kind_label", "date", "household", "recorded_at"]
        read_only_fields = fields


class ResidentDetailSerializer(ResidentSummarySerializer):
    """One resident; ID number, phone, birth date and care categories in full only when ``full``."""

    full_detail = serializers.SerializerMethodField(help_text=_("是否显示完整信息（否则为脱敏信息）"))
    birth_date = serializers.SerializerMethodField()
    address = serializers.SerializerMethodField()
    care_categories = serializers.SerializerMethodField(help_text=_("人员类别；无权查看时为 null"))
    events = LifeEventSerializer(many=True, read_only=True)
    floating = serializers.SerializerMethodField(help_text=_("流动人口信息（居住证号码脱敏）；无则为 null"))
    foreign = serializers.SerializerMethodField(help_text=_("境外人员信息；无则为 null"))

    class Meta(ResidentSummarySerializer.Meta):
        fields = [
            *ResidentSummarySerializer.Meta.fields,
            "full_detail",
            "birth_date",
            "ethnicity",
            "address",
            "care_categories",
            "events",
            "floating",
            "foreign",
        ]
        read_only_fields = fields

    def get_full_detail(self, resident: Resident) -> bool:
        return self.full

    @extend_schema_field(serializers.DateField(allow_null=True))
    def get_birth_date(self, resident: Resident) -> dt.date | None:
        return resident.birth_date if self.full else None

    def get_address(self, resident: Resident) -> str:
        return resident.household.address if resident.household is not None else ""

    @extend_schema_field(FloatingDetailSerializer(allow_null=True))
    def get_floating(self, resident: Resident) -> dict[str, Any] | None:
        detail = getattr(resident, "floating", None)
        if detail is None:
            return None
        data = dict(FloatingDetailSerializer(detail).data)
        if not self.full:
            data["permit_number"] = idnumbers.mask(detail.permit_number)
        return data

    @extend_schema_field(ForeignDetailSerializer(allow_null=True))
    def get_foreign(self, resident: Resident) -> dict[str, Any] | None:
        detail = getattr(resident, "foreign", None)
        return dict(ForeignDetailSerializer(detail).data) if detail is not None else None

    @extend_schema_field(CareTagSerializer(many=True, allow_null=True))
    def get_care_categories(self, resident: Resident) -> list[dict[str, Any]] | None:
        if not self.full:
            return None
        tags = resident.care_tags.select_related("category", "recorded_by").order_by("category_id")
        return list(CareTagSerializer(tags, many=True).data)


class HouseholdSerializer(serializers.ModelSerializer[Household]):
    """A household with the members the caller may see, masked."""

    address = serializers.CharField(read_only=True)
    building_name = serializers.CharField(source="building.name", read_only=True)
    head = serializers.SerializerMethodField()
    members = ResidentSummarySerializer(source="visible_members", many=True, read_only=True)

    class Meta:
        model = Household
        fields = [
            "id",
            "address",
            "building",
            "building_name",
            "entrance",
            "room",
            "head",
            "grid",
            "community",
            "street",
            "district",
            "members",
        ]
        read_only_fields = fields

    def get_head(self, household: Household) -> int | None:
        # Only point at the head if the caller may see them (a guardian may not see the head).
        visible = {member.pk for member in getattr(household, "visible_members", [])}
        return household.head_id if household.head_id in visible else None


class ResidentCreateSerializer(serializers.Serializer[Any]):
    household = serializers.IntegerField(help_text=_("住户编号"))
    name = serializers.CharField(max_length=60)
    id_number = serializers.CharField(
        max_length=60, help_text=_("证件号码；居民身份证为18位（或旧版15位）公民身份号码")
    )
    document_type = serializers.CharField(max_length=30, required=False, default=NATIONAL_ID)
    population_type = serializers.CharField(max_length=30, required=False, default=REGISTERED)
    sex = serializers.ChoiceField(
        choices=Resident.Sex.choices, required=False, default="", help_text=_("证件号码不含性别时必填")
    )
    birth_date = serializers.DateField(
        required=False, allow_null=True, default=None, help_text=_("证件号码不含出生日期时必填")
    )
    separation = serializers.ChoiceField(choices=Resident.Separation.choices, required=False, default="")
    phone = serializers.CharField(max_length=20, required=False, allow_blank=True, default="")
    relationship = serializers.ChoiceField(choices=Resident.Relationship.choices, default=Resident.Relationship.OTHER)
    ethnicity = serializers.CharField(max_length=20, required=False, allow_blank=True, default="")

    def validate_name(self, value: str) -> str:
        value = value.strip()
        if not value:
            raise serializers.ValidationError(_("请填写姓名"))
        return value

    def validate_id_number(self, value: str) -> str:
        # Checked here as well as by the action, so a bad number is reported with the other fields.
        code = self.initial_data.get("document_type") or NATIONAL_ID
        fmt = DocumentType.objects.filter(code=code).values_list("format", flat=True).first()
        if fmt is None:
            return value  # the action reports the unknown type
        try:
            return documents.parse(fmt, value).number
        except documents.InvalidDocument as exc:
            raise serializers.ValidationError(str(exc)) from None

    def validate_phone(self, value: str) -> str:
        return validate_phone(value)


class ResidentUpdateSerializer(serializers.Serializer[Any]):
    name = serializers.CharField(max_length=60, required=False)
    phone = serializers.CharField(max_length=20, required=False, allow_blank=True)
    relationship = serializers.ChoiceField(choices=Resident.Relationship.choices, required=False)
    ethnicity = serializers.CharField(max_length=20, required=False, allow_blank=True)

    def validate_name(self, value: str) -> str:
        value = value.strip()
        if not value:
            raise serializers.ValidationError(_("请填写姓名"))
        return value

    def validate_phone(self, value: str) -> str:
        return validate_phone(value)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not attrs:
            raise serializers.ValidationError(_("没有要修改的内容"))
        return attrs


def validate_phone(value: str) -> str:
    value = value.strip()
    if value and not PHONE_RE.match(value):
        raise serializers.ValidationError(_("联系电话格式不正确"))
    return value


# The events a client records on an existing resident (a birth is a registration instead).
EVENT_INPUT_KINDS = [
    (LifeEvent.Kind.MOVE_IN.value, LifeEvent.Kind.MOVE_IN.label),
    (LifeEvent.Kind.MOVE_OUT.value, LifeEvent.Kind.MOVE_OUT.label),
    (LifeEvent.Kind.MARRIAGE.value, LifeEvent.Kind.MARRIAGE.label),
    (LifeEvent.Kind.DEATH.value, LifeEvent.Kind.DEATH.label),
]


class LifeEventCreateSerializer(serializers.Serializer[Any]):
    kind = serializers.ChoiceField(choices=EVENT_INPUT_KINDS)
    date = serializers.DateField(required=False, help_text=_("默认为今天"))
    household = serializers.IntegerField(required=False, help_text=_("迁入的住户编号（迁入时必填）"))
    relationship = serializers.ChoiceField(choices=Resident.Relationship.choices, required=False)
    destination = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    spouse = serializers.IntegerField(required=False, help_text=_("配偶的居民编号（如已登记）"))
    spouse_name = serializers.CharField(max_length=60, required=False, allow_blank=True, default="")

    def validate_date(self, value: dt.date) -> dt.date:
        if value > timezone.localdate():
            raise serializers.ValidationError(_("日期不能晚于今天"))
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["kind"] == LifeEvent.Kind.MOVE_IN and attrs.get("household") is None:
            raise serializers.ValidationError({"household": _("迁入时请选择住户")})
        attrs.setdefault("date", timezone.localdate())
        return attrs
