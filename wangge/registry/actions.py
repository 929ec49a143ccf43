"""Every write to the registry: atomic, audited, named ``<thing>_<verb>``.

Life events are actions on the registry that also leave a ``LifeEvent`` row, so the history of
a household survives the change (who moved out when, and where to).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import OuterRef, Subquery
from django.utils.translation import gettext as _

from wangge.areas.models import Building, models_with_a_grid
from wangge.core import documents
from wangge.core.audit import Action, audit
from wangge.registry import room_actions
from wangge.registry.models import (
    NATIONAL_ID,
    REGISTERED,
    CareCategory,
    CareTag,
    DocumentType,
    FloatingDetail,
    ForeignDetail,
    Household,
    LifeEvent,
    PopulationType,
    Resident,
)
from wangge.registry.search import index_residents

EDITABLE_FIELDS = frozenset({"name", "phone", "relationship", "ethnicity"})


def _document_type(code: str) -> DocumentType:
    try:
        return DocumentType.objects.get(code=code)
    except DocumentType.DoesNotExist:
        raise ValidationError({"document_type": _("未知的证件类型：%(code)s") % {"code": code}}) from None


def _population_type(code: str) -> PopulationType:
    try:
        return PopulationType.objects.get(code=code)
    except PopulationType.DoesNotExist:
        raise ValidationError({"population_type": _("未知的人口类型：%(code)s") % {"code": code}}) from None


def _parse_document(
    document_type: DocumentType, number: str, *, sex: str, birth_date: dt.date | None
) -> documents.Document:
    """The number validated by its type's rule, with the holder's birth date and sex: read from
    the number where it carries them, otherwise as entered (then both are required)."""
    try:
        parsed = documents.parse(document_type.format, number)
    except documents.InvalidDocument as exc:
        raise ValidationError({"id_number": str(exc)}) from None
    if parsed.birth_date is not None:
        return parsed
    errors = {}
    if sex not in Resident.Sex.values:
        errors["sex"] = _("该证件号码不含性别，请选择性别")
    if birth_date is None:
        errors["birth_date"] = _("该证件号码不含出生日期，请填写出生日期")
    elif birth_date > dt.date.today() or birth_date.year < 1880:
        errors["birth_date"] = _("出生日期 %(date)s 不可能") % {"date": birth_date.isoformat()}
    if errors:
        raise ValidationError(errors)
    return documents.Document(parsed.number, birth_date, sex, parsed.warnings)


def household_create(*, by: Any, building: Building, entrance: str = "", room: str) -> Household:
    room = room.strip()
    if not room:
        raise ValidationError({"room": _("请填写房号")})
    with transaction.atomic():
        if Household.objects.filter(building=building, entrance=entrance, room=room).exists():
            raise ValidationError({"room": _("该房号已登记为一户")})
        household = Household(building=building, entrance=entrance, room=room)
        household.copy_scope(building)
        household.save()
        room_actions.household_settle(by=by, household=household)
        audit(actor=by, action=Action.CREATE, obj=household, summary=_("新建住户 %(a)s") % {"a": household.address})
    return household


def resident_register(
    *,
    by: Any,
    household: Household,
    name: str,
    id_number: str,
    phone: str = "",
    relationship: str = Resident.Relationship.OTHER,
    ethnicity: str = "",
    event: str = LifeEvent.Kind.MOVE_IN,
    date: dt.date | None = None,
    document_type: str = NATIONAL_ID,
    population_type: str = REGISTERED,
    sex: str = "",
    birth_date: dt.date | None = None,
    separation: str = Resident.Separation.NONE,
) -> Resident:
    """Add a person to a household: a move-in by default, a birth with ``event="birth"``.

    ``id_number`` is the number of a ``document_type`` (the national ID by default); ``sex``
    and ``birth_date`` are needed only for documents whose number does not carry them.
    """
    name = name.strip()
    if not name:
        raise ValidationError({"name": _("请填写姓名")})
    doc_type = _document_type(document_type)
    parsed = _parse_document(doc_type, id_number, sex=sex, birth_date=birth_date)
    assert parsed.birth_date is not None and parsed.sex is not None
    pop_type = _population_type(population_type)
    if separation not in Resident.Separation.values:
        raise ValidationError({"separation": _("未知的人户分离情况")})
    duplicate = ValidationError({"id_number": _("该证件号码已登记")})
    if Resident.objects.filter(id_number=parsed.number).exists():
        raise duplicate
    with transaction.atomic():
        resident = Resident(
            household=household,
            name=name,
            id_number=parsed.number,
            document_type=doc_type,
            population_type=pop_type,
            separation=separation,
            sex=parsed.sex,
            birth_date=parsed.birth_date,
            phone=phone.strip(),
            relationship=relationship,
            ethnicity=ethnicity,
        )
        resident.copy_scope(household)
        try:
            with transaction.atomic():  # a concurrent registration of the same number loses here
                resident.save()
        except IntegrityError:
            raise duplicate from None
        if relationship == Resident.Relationship.HEAD and household.head_id is None:
            household.head = resident
            household.save(update_fields=["head"])
        LifeEvent.objects.create(
            resident=resident,
            kind=event,
            date=date or (parsed.birth_date if event == LifeEvent.Kind.BIRTH else dt.date.today()),
            household=household,
            recorded_by=by,
        )
        index_residents([resident])
        audit(
            actor=by,
            action=Action.CREATE,
            obj=resident,
            summary=_("登记居民 %(name)s 入住 %(a)s") % {"name": name, "a": household.address},
            detail={"event": event, "warnings": list(parsed.warnings)},
        )
    return resident


FLOATING_FIELDS = ("permit_number", "origin", "arrival_date", "reason", "expected_stay")
FOREIGN_FIELDS = ("nationality", "visa_type", "visa_expiry")


def resident_population_set(
    *,
    by: Any,
    resident: Resident,
    population_type: str,
    separation: str = Resident.Separation.NONE,
    floating: dict[str, Any] | None = None,
    foreign: dict[str, Any] | None = None,
) -> Resident:
    """Set a person's population type and 人户分离, with the 流动 or 境外 details that go with it.

    Details of the other kinds are kept (a person who was floating and settles keeps the record
    of their arrival); ``floating`` / ``foreign`` replace the record of that kind when given.
    """
    pop_type = _population_type(population_type)
    if separation not in Resident.Separation.values:
        raise ValidationError({"separation": _("未知的人户分离情况")})
    unknown = set(floating or {}) - set(FLOATING_FIELDS) | set(foreign or {}) - set(FOREIGN_FIELDS)
    if unknown:
        raise ValidationError({field: _("该字段不能直接修改") for field in unknown})
    before = {"population_type": resident.population_type_id, "separation": resident.separation}
    with transaction.atomic():
        resident.population_type = pop_type
        resident.separation = separation
        resident.save(update_fields=["population_type", "separation", "updated_at"])
        if floating is not None:
            values = {k: v.strip() if isinstance(v, str) else v for k, v in floating.items()}
            FloatingDetail.objects.update_or_create(resident=resident, defaults=values)
        if foreign is not None:
            values = {k: v.strip() if isinstance(v, str) else v for k, v in foreign.items()}
            ForeignDetail.objects.update_or_create(resident=resident, defaults=values)
        audit(
            actor=by,
            action=Action.UPDATE,
            obj=resident,
            summary=_("修改 %(name)s 的人口类型为%(type)s") % {"name": resident.name, "type": pop_type.name},
            detail={
                "before": before,
                "population_type": pop_type.code,
                "separation": separation,
                "floating_fields": sorted(floating or {}),
                "foreign_fields": sorted(foreign or {}),
            },
        )
    return resident


def birth_register(
    *, by: Any, household: Household, name: str, id_number: str, relationship: str = Resident.Relationship.CHILD
) -> Resident:
    return resident_register(
        by=by,
        household=household,
        name=name,
        id_number=id_number,
        relationship=relationship,
        event=LifeEvent.Kind.BIRTH,
    )


def resident_update(*, by: Any, resident: Resident, **changes: Any) -> Resident:
    unknown = set(changes) - EDITABLE_FIELDS
    if unknown:
        raise ValidationError({field: _("该字段不能直接修改") for field in unknown})
    before = {field: getattr(resident, field) for field in changes}
    with transaction.atomic():
        for field, value in changes.items():
            setattr(resident, field, value.strip() if isinstance(value, str) else value)
        if not resident.name:
            raise ValidationError({"name": _("请填写姓名")})
        resident.save(update_fields=[*changes, "updated_at"])
        if {"name", "phone"} & set(changes):
            index_residents([resident])
        audit(
            actor=by,
            action=Action.UPDATE,
            obj=resident,
            summary=_("修改居民 %(name)s 的信息") % {"name": resident.name},
            detail={"fields": sorted(changes), "before_fields": sorted(k for k, v in before.items() if v)},
        )
    return resident


def _require_status(resident: Resident, *allowed: str) -> None:
    if resident.status not in allowed:
        raise ValidationError(
            {"status": _("%(name)s 当前状态为%(status)s，不能登记此事件")
             % {"name": resident.name, "status": resident.get_status_display()}}
        )  # fmt: skip


def resident_move_out(*, by: Any, resident: Resident, date: dt.date, destination: str = "") -> Resident:
    _require_status(resident, Resident.Status.LIVING)
    with transaction.atomic():
        household = resident.household
        resident.status = Resident.Status.MOVED_OUT
        resident.save(update_fields=["status", "updated_at"])
        if household is not None and household.head_id == resident.pk:
            household.head = None
            household.save(update_fields=["head"])
        LifeEvent.objects.create(
            resident=resident,
            kind=LifeEvent.Kind.MOVE_OUT,
            date=date,
            household=household,
            detail={"destination": destination},
            recorded_by=by,
        )
        audit(actor=by, action=Action.EVENT, obj=resident, summary=_("%(name)s 迁出") % {"name": resident.name})
    return resident


def resident_move_in(
    *, by: Any, resident: Resident, household: Household, date: dt.date, relationship: str | None = None
) -> Resident:
    """Move a known person (moved out, or living elsewhere in the district) into a household."""
    _require_status(resident, Resident.Status.LIVING, Resident.Status.MOVED_OUT)
    with transaction.atomic():
        previous = resident.household
        resident.household = household
        resident.status = Resident.Status.LIVING
        if relationship:
            resident.relationship = relationship
        resident.copy_scope(household)
        resident.save()
        if previous is not None and previous.pk != household.pk and previous.head_id == resident.pk:
            previous.head = None
            previous.save(update_fields=["head"])
        LifeEvent.objects.create(
            resident=resident,
            kind=LifeEvent.Kind.MOVE_IN,
            date=date,
            household=household,
            detail={"from_household": previous.pk if previous else None},
            recorded_by=by,
        )
        index_residents([resident])
        audit(
            actor=by,
            action=Action.EVENT,
            obj=resident,
            summary=_("%(name)s 迁入 %(a)s") % {"name": resident.name, "a": household.address},
        )
    return resident


def resident_die(*, by: Any, resident: Resident, date: dt.date) -> Resident:
    _require_status(resident, Resident.Status.LIVING, Resident.Status.MOVED_OUT)
    with transaction.atomic():
        resident.status = Resident.Status.DECEASED
        resident.save(update_fields=["status", "updated_at"])
        household = resident.household
        if household is not None and household.head_id == resident.pk:
            household.head = None
            household.save(update_fields=["head"])
        LifeEvent.objects.create(
            resident=resident, kind=LifeEvent.Kind.DEATH, date=date, household=household, recorded_by=by
        )
        audit(actor=by, action=Action.EVENT, obj=resident, summary=_("登记 %(name)s 死亡") % {"name": resident.name})
    return resident


def resident_marry(
    *, by: Any, resident: Resident, date: dt.date, spouse: Resident | None = None, spouse_name: str = ""
) -> Resident:
    _require_status(resident, Resident.Status.LIVING)
    if spouse is not None and spouse.pk == resident.pk:
        raise ValidationError({"spouse": _("不能与本人结婚")})
    with transaction.atomic():
        detail = {"spouse_id": spouse.pk if spouse else None, "spouse_name": spouse.name if spouse else spouse_name}
        LifeEvent.objects.create(
            resident=resident,
            kind=LifeEvent.Kind.MARRIAGE,
            date=date,
            household=resident.household,
            detail=detail,
            recorded_by=by,
        )
        if spouse is not None:
            LifeEvent.objects.create(
                resident=spouse,
                kind=LifeEvent.Kind.MARRIAGE,
                date=date,
                household=spouse.household,
                detail={"spouse_id": resident.pk, "spouse_name": resident.name},
                recorded_by=by,
            )
        audit(actor=by, action=Action.EVENT, obj=resident, summary=_("登记 %(name)s 结婚") % {"name": resident.name})
    return resident


def care_tag_add(*, by: Any, resident: Resident, category: CareCategory, note: str = "") -> CareTag:
    with transaction.atomic():
        tag, created = CareTag.objects.get_or_create(
            resident=resident, category=category, defaults={"recorded_by": by, "note": note}
        )
        if created:
            audit(
                actor=by,
                action=Action.CREATE,
                obj=tag,
                summary=_("为 %(name)s 登记人员类别 %(category)s") % {"name": resident.name, "category": category.name},
            )
    return tag


def care_tag_remove(*, by: Any, resident: Resident, category: CareCategory) -> None:
    with transaction.atomic():
        deleted, _rows = CareTag.objects.filter(resident=resident, category=category).delete()
        if deleted:
            audit(
                actor=by,
                action=Action.DELETE,
                object_type="registry.caretag",
                object_id=f"{resident.pk}:{category.code}",
                summary=_("取消 %(name)s 的人员类别 %(category)s") % {"name": resident.name, "category": category.name},
            )


def households_regrid(*, grid_of: dict[int, int], community_ids: list[int]) -> None:
    """Put households in new grids (household pk -> grid pk) during a grid division.

    Their residents, search keys and everything else that carries a person's grid follow. This
    is one step of ``wangge.division.actions.grids_apply``, which holds the transaction and writes
    the one audit entry for the whole division.
    """
    by_grid: dict[int, list[int]] = defaultdict(list)
    for household_pk, area_pk in grid_of.items():
        by_grid[area_pk].append(household_pk)
    with transaction.atomic():
        for area_pk, pks in by_grid.items():
            for start in range(0, len(pks), 900):
                Household.objects.filter(pk__in=pks[start : start + 900]).update(grid_id=area_pk)
        household_grid = Household.objects.filter(pk=OuterRef("household_id")).values("grid_id")[:1]
        Resident.objects.filter(community_id__in=community_ids).exclude(household=None).update(
            grid_id=Subquery(household_grid)
        )
        _follow_residents(community_ids)
        room_actions.rooms_follow_households(community_ids=community_ids)


def _follow_residents(community_pks: list[int]) -> None:
    """Everything that carries a person's grid follows them: search keys and enrolments first,
    then the open work hanging off an enrolment (alerts, incidents)."""
    tables = models_with_a_grid()
    for through in ("resident", "enrolment"):
        for model in tables:
            names = {f.name for f in model._meta.get_fields()}
            if model is Resident or through not in names or "community" not in names:
                continue
            source = model._meta.get_field(through).related_model
            grid = source._default_manager.filter(pk=OuterRef(f"{through}_id")).values("grid_id")[:1]  # type: ignore[union-attr]
            model._default_manager.filter(community_id__in=community_pks).update(grid_id=Subquery(grid))
