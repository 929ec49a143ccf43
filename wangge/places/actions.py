"""Every write to units, places, their inspections and rectifications: keyword-only, atomic,
audited in the same transaction.

An inspection moves the place's next due date by the shorter of its type's period and the
period of the hazard level it found; when it requires something put right it opens a
rectification with a deadline. A rectification not done by its deadline can be handed over as
a grid event through ``wangge.cases.actions.case_receive`` (category 安全隐患).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from wangge.accounts import policy
from wangge.areas.models import Area, Building
from wangge.cases import actions as case_actions
from wangge.cases.models import Case, Category
from wangge.core.audit import Action, audit, recorded_user
from wangge.places import creditcode, place_import
from wangge.places.models import Inspection, Place, PlaceType, Rectification, Unit, UnitKind
from wangge.registry.importing import ImportResult, Problem
from wangge.registry.importing.residents import REJECTED
from wangge.registry.models import NO_HAZARD, HazardLevel, Room
from wangge.registry.serializers import PHONE_RE

#: the cases category a rectification overdue is handed over as
CASE_CATEGORY = "hazard"
#: the longest deadline an inspection may set for a rectification
MAX_DEADLINE_DAYS = 180


def _require_editor(by: Any) -> None:
    if by is not None and not policy.can_edit_registry(by):
        raise PermissionDenied


def _code(model: Any, field: str, code: str) -> Any:
    try:
        return model.objects.get(code=code)
    except model.DoesNotExist:
        raise ValidationError({field: _("未知的代码：%(code)s") % {"code": code}}) from None


def _located(obj: Unit | Place, building: Building, room: Room | None) -> None:
    if room is not None and room.building_id != building.pk:
        raise ValidationError({"room": _("该房屋不在所选楼栋")})
    obj.building = building
    obj.room = room
    obj.copy_scope(room if room is not None else building)


def check_credit_code(code: str, *, pilot: bool = False) -> tuple[str, bool]:
    """The code normalised (spaces out, capitals) and whether its check character is right, or a
    ``ValidationError`` naming what is wrong. ``pilot`` accepts a well-formed code whose check
    character the rule does not give: a few early pilot codes (Fujian, 2015) were issued so."""
    code = creditcode.normalise(code)
    if not code or creditcode.is_valid(code):
        return code, True
    if pilot and creditcode.is_well_formed(code):
        return code, False
    raise ValidationError({"credit_code": _("统一社会信用代码无效（应为 18 位，且校验码正确）")})


def _check_phone(errors: dict[str, str], field: str, value: str) -> None:
    if value.strip() and not PHONE_RE.match(value.strip()):
        errors[field] = _("联系电话格式不正确")


def _unit_errors(*, name: str, legal_rep: str, legal_rep_phone: str, party_org: str) -> None:
    errors: dict[str, str] = {}
    if not name.strip():
        errors["name"] = _("请填写单位名称")
    if not legal_rep.strip():
        errors["legal_rep"] = _("请填写法定代表人（负责人）")
    if party_org not in Unit.PartyOrg.values:
        errors["party_org"] = _("请选择党组织情况")
    _check_phone(errors, "legal_rep_phone", legal_rep_phone)
    if errors:
        raise ValidationError(errors)


def _refuse_taken_code(code: str, unit: Unit | None = None) -> None:
    taken = Unit.objects.filter(credit_code=code)
    if unit is not None:
        taken = taken.exclude(pk=unit.pk)
    if code and taken.exists():
        raise ValidationError({"credit_code": _("该统一社会信用代码已登记")})


def unit_register(
    *,
    by: Any,
    name: str,
    kind: str,
    building: Building,
    room: Room | None = None,
    address: str = "",
    credit_code: str = "",
    pilot_code: bool = False,
    legal_rep: str,
    legal_rep_phone: str = "",
    staff_count: int | None = None,
    party_org: str = Unit.PartyOrg.NONE,
    party_org_name: str = "",
    party_members: int | None = None,
) -> Unit:
    """Register a unit (实有单位) at a building (and room where known). ``pilot_code`` accepts a
    credit code that fails only its check character (an early pilot code), marked unchecked."""
    _require_editor(by)
    _unit_errors(name=name, legal_rep=legal_rep, legal_rep_phone=legal_rep_phone, party_org=party_org)
    code, checked = check_credit_code(credit_code, pilot=pilot_code)
    unit_kind = _code(UnitKind, "kind", kind)
    with transaction.atomic():
        _refuse_taken_code(code)
        unit = Unit(
            name=name.strip(),
            kind=unit_kind,
            address=address.strip(),
            credit_code=code,
            credit_code_checked=checked,
            legal_rep=legal_rep.strip(),
            legal_rep_phone=legal_rep_phone.strip(),
            staff_count=staff_count,
            party_org=party_org,
            party_org_name=party_org_name.strip(),
            party_members=party_members,
            created_by=recorded_user(by),
        )
        _located(unit, building, room)
        unit.save()
        audit(
            actor=by,
            action=Action.CREATE,
            obj=unit,
            summary=_("登记单位 %(name)s") % {"name": unit.name},
            detail={"credit_code_checked": checked},
        )
    return unit


#: the fields an edit compares to say in the audit log what it changed
UNIT_FIELDS = [
    "name",
    "kind_id",
    "building_id",
    "room_id",
    "address",
    "credit_code",
    "credit_code_checked",
    "legal_rep",
    "legal_rep_phone",
    "staff_count",
    "party_org",
    "party_org_name",
    "party_members",
]


def _changed(obj: Any, before: dict[str, Any], fields: list[str]) -> list[str]:
    return [f.removesuffix("_id") for f in fields if getattr(obj, f) != before[f]]


def unit_update(
    *,
    by: Any,
    unit: Unit,
    name: str,
    kind: str,
    building: Building,
    room: Room | None = None,
    address: str = "",
    credit_code: str = "",
    pilot_code: bool = False,
    legal_rep: str,
    legal_rep_phone: str = "",
    staff_count: int | None = None,
    party_org: str = Unit.PartyOrg.NONE,
    party_org_name: str = "",
    party_members: int | None = None,
) -> Unit:
    """Correct a unit's record: the same checks as registering it; the audit entry names the
    fields that changed (an edit that changes nothing writes nothing)."""
    _require_editor(by)
    _unit_errors(name=name, legal_rep=legal_rep, legal_rep_phone=legal_rep_phone, party_org=party_org)
    # a pilot code already on the record stays accepted without asking again
    kept_pilot = creditcode.normalise(credit_code) == unit.credit_code and not unit.credit_code_checked
    code, checked = check_credit_code(credit_code, pilot=pilot_code or kept_pilot)
    unit_kind = _code(UnitKind, "kind", kind)
    before = {f: getattr(unit, f) for f in UNIT_FIELDS}
    with transaction.atomic():
        _refuse_taken_code(code, unit)
        unit.name = name.strip()
        unit.kind = unit_kind
        unit.address = address.strip()
        unit.credit_code = code
        unit.credit_code_checked = checked
        unit.legal_rep = legal_rep.strip()
        unit.legal_rep_phone = legal_rep_phone.strip()
        unit.staff_count = staff_count
        unit.party_org = party_org
        unit.party_org_name = party_org_name.strip()
        unit.party_members = party_members
        _located(unit, building, room)
        changed = _changed(unit, before, UNIT_FIELDS)
        if not changed:
            return unit
        unit.save()
        audit(
            actor=by,
            action=Action.UPDATE,
            obj=unit,
            summary=_("修改单位 %(name)s") % {"name": unit.name},
            detail={"changed": changed},
        )
    return unit


def _next_due(date: dt.date, place_type: PlaceType, level: HazardLevel) -> dt.date:
    return date + dt.timedelta(days=min(place_type.inspect_every_days, level.inspect_every_days))


def _place_errors(*, name: str, operator_phone: str) -> None:
    errors: dict[str, str] = {}
    if not name.strip():
        errors["name"] = _("请填写场所名称")
    _check_phone(errors, "operator_phone", operator_phone)
    if errors:
        raise ValidationError(errors)


def place_register(
    *,
    by: Any,
    name: str,
    place_type: str,
    building: Building,
    room: Room | None = None,
    address: str = "",
    unit: Unit | None = None,
    operator: str = "",
    operator_phone: str = "",
    today: dt.date | None = None,
) -> Place:
    """Register a key place; its first inspection falls due at once (nobody has looked yet)."""
    _require_editor(by)
    _place_errors(name=name, operator_phone=operator_phone)
    kind = _code(PlaceType, "place_type", place_type)
    with transaction.atomic():
        place = Place(
            name=name.strip(),
            place_type=kind,
            unit=unit,
            address=address.strip(),
            operator=operator.strip() or (unit.legal_rep if unit else ""),
            operator_phone=operator_phone.strip() or (unit.legal_rep_phone if unit else ""),
            hazard_level=_code(HazardLevel, "hazard_level", NO_HAZARD),
            inspection_due=today or timezone.localdate(),
            created_by=recorded_user(by),
        )
        _located(place, building, room)
        place.save()
        audit(actor=by, action=Action.CREATE, obj=place, summary=_("登记重点场所 %(name)s") % {"name": place.name})
    return place


PLACE_FIELDS = ["name", "place_type_id", "unit_id", "building_id", "room_id", "address", "operator", "operator_phone"]


def place_update(
    *,
    by: Any,
    place: Place,
    name: str,
    place_type: str,
    building: Building,
    room: Room | None = None,
    address: str = "",
    unit: Unit | None = None,
    operator: str = "",
    operator_phone: str = "",
) -> Place:
    """Correct a key place's record. Its inspections stay; a new type moves the next inspection
    to the new period counted from the last one (a place never inspected stays due at once)."""
    _require_editor(by)
    _place_errors(name=name, operator_phone=operator_phone)
    kind = _code(PlaceType, "place_type", place_type)
    before = {f: getattr(place, f) for f in PLACE_FIELDS}
    with transaction.atomic():
        place.name = name.strip()
        place.place_type = kind
        place.unit = unit
        place.address = address.strip()
        place.operator = operator.strip()
        place.operator_phone = operator_phone.strip()
        _located(place, building, room)
        changed = _changed(place, before, PLACE_FIELDS)
        if not changed:
            return place
        if "place_type" in changed and place.last_inspected is not None:
            place.inspection_due = _next_due(place.last_inspected, kind, place.hazard_level)
        place.save()
        if "building" in changed or "room" in changed:
            # its open rectifications move with it, so the new grid's worker chases them
            for rectification in place.rectifications.filter(done__isnull=True):
                rectification.copy_scope(place)
                rectification.save()
        audit(
            actor=by,
            action=Action.UPDATE,
            obj=place,
            summary=_("修改重点场所 %(name)s") % {"name": place.name},
            detail={"changed": changed},
        )
    return place


def place_inspect(
    *,
    by: Any,
    place: Place,
    date: dt.date,
    findings: str = "",
    hazard_level: str = NO_HAZARD,
    rectify: str = "",
    deadline: dt.date | None = None,
) -> Inspection:
    """Record a hazard inspection; ``rectify`` (what must be put right) opens a rectification due
    by ``deadline``. A hazard found needs one: an inspection that finds a hazard and asks nothing
    to be put right is refused."""
    _require_editor(by)
    today = timezone.localdate()
    level = _code(HazardLevel, "hazard_level", hazard_level)
    rectify = rectify.strip()
    errors: dict[str, str] = {}
    if date > today:
        errors["date"] = _("检查日期不能晚于今天")
    if level.code != NO_HAZARD and not rectify:
        errors["rectify"] = _("发现隐患时请填写整改要求")
    if rectify and deadline is None:
        errors["deadline"] = _("请填写整改期限")
    if rectify and deadline is not None and not (date <= deadline <= date + dt.timedelta(days=MAX_DEADLINE_DAYS)):
        errors["deadline"] = _("整改期限应在检查日期之后 %(n)d 天以内") % {"n": MAX_DEADLINE_DAYS}
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        inspection = Inspection.objects.create(
            place=place, date=date, inspector=recorded_user(by), findings=findings.strip(), hazard_level=level
        )
        if place.last_inspected is None or date >= place.last_inspected:
            # A late entry of an older visit adds to the history but does not move the due date.
            place.last_inspected = date
            place.hazard_level = level
            place.inspection_due = _next_due(date, place.place_type, level)
            place.save(update_fields=["last_inspected", "hazard_level", "inspection_due"])
        rectification = None
        if rectify:
            assert deadline is not None
            rectification = Rectification(place=place, inspection=inspection, required=rectify, deadline=deadline)
            rectification.copy_scope(place)
            rectification.save()
        audit(
            actor=by,
            action=Action.CREATE,
            obj=inspection,
            summary=_("检查重点场所 %(name)s：%(level)s") % {"name": place.name, "level": level.name},
            detail={"rectification": rectification.pk if rectification else None},
        )
    return inspection


def rectification_complete(*, by: Any, rectification: Rectification, date: dt.date, note: str = "") -> Rectification:
    """The place has put it right (整改完成), checked on ``date``."""
    _require_editor(by)
    if rectification.done is not None:
        raise ValidationError({"date": _("该整改已完成")})
    if date > timezone.localdate():
        raise ValidationError({"date": _("完成日期不能晚于今天")})
    if date < rectification.inspection.date:
        raise ValidationError({"date": _("完成日期不能早于检查日期")})
    with transaction.atomic():
        rectification.done = date
        rectification.done_note = note.strip()[:500]
        rectification.save(update_fields=["done", "done_note"])
        audit(
            actor=by,
            action=Action.UPDATE,
            obj=rectification,
            summary=_("%(name)s 整改完成") % {"name": rectification.place.name},
        )
    return rectification


def rectification_escalate(*, by: Any, rectification: Rectification, now: dt.datetime | None = None) -> Case:
    """Hand a rectification not done by its deadline over as a grid-event case (安全隐患)."""
    if not policy.can_take_cases(by):
        raise PermissionDenied
    now = now or timezone.now()
    if rectification.done is not None:
        raise ValidationError(_("该整改已完成"))
    if rectification.case_id is not None:
        raise ValidationError(_("该整改已转为案件"))
    if rectification.deadline >= timezone.localdate(now):
        raise ValidationError(_("整改尚未逾期"))
    place = rectification.place
    category = Category.objects.filter(code=CASE_CATEGORY).first()
    if category is None:
        raise ValidationError(_("案件类别“安全隐患”不存在"))
    area = Area.objects.get(pk=rectification.grid_id or rectification.community_id)
    text = _("%(name)s（%(type)s）逾期未整改：%(required)s（整改期限 %(deadline)s）") % {
        "name": place.name,
        "type": place.place_type.name,
        "required": rectification.required,
        "deadline": rectification.deadline.isoformat(),
    }
    building = place.building
    with transaction.atomic():
        locked = Rectification.objects.select_for_update().get(pk=rectification.pk)
        if locked.case_id is not None:
            raise ValidationError(_("该整改已转为案件"))
        case = case_actions.case_receive(
            by=by,
            category=category,
            text=text,
            channel=Case.Channel.FIELD,
            contact_name=place.operator,
            contact_phone=place.operator_phone,
            area=area,
            lon=building.lon if building.lat is not None else None,
            lat=building.lat if building.lon is not None else None,
            address=place.full_address,
            now=now,
        )
        rectification.case = case
        rectification.save(update_fields=["case"])
        audit(
            actor=by,
            action=Action.UPDATE,
            obj=rectification,
            summary=_("%(name)s 逾期未整改，转为案件 %(number)s") % {"name": place.name, "number": case.number},
            detail={"case": case.pk},
        )
    return case


def places_import(*, by: Any, data: bytes, file_name: str) -> ImportResult:
    """Register the new places of a filled-in key-places register (``place_import``): bad rows
    are reported with their reasons, places already registered are left as they are. One
    transaction with one ``import`` entry in the audit log besides each place's own; if it cannot
    be written, nothing is registered. Raises ``ImportFileError`` for a file that cannot be read."""
    _require_editor(by)
    result = ImportResult(file_name=file_name)
    rows = place_import.read_rows(data=data, file_name=file_name, by=by, result=result)
    with transaction.atomic():
        for row in rows:
            try:
                place_register(
                    by=by,
                    name=row.name,
                    place_type=row.place_type,
                    building=row.building,
                    address=row.address,
                    unit=row.unit,
                    operator=row.operator,
                    operator_phone=row.operator_phone,
                )
            except ValidationError as exc:
                result.problems.append(Problem(row.number, "", REJECTED, " ".join(exc.messages)))
                result.rejected += 1
            else:
                result.created += 1
        result.problems.sort(key=lambda problem: problem.row)
        audit(
            actor=by,
            action=Action.IMPORT,
            object_type="places.place",
            summary=_("导入重点场所 %(file)s：新登记 %(created)d 处，已登记 %(unchanged)d 处，拒绝 %(rejected)d 行")
            % {"file": file_name, **result.counts()},
            detail={"file": file_name, **result.counts()},
        )
    return result
