"""Every write to rooms (房屋), rentals (出租房屋) and rental inspections: atomic, audited.

A room is the place a household lives in (``Household.dwelling``); a rental is one lease of a
room; an inspection moves the rental's next due date by its hazard level's period.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from wangge.accounts import policy
from wangge.areas.models import Building
from wangge.core.audit import Action, audit, recorded_user
from wangge.registry import actions, rental_import, room_import
from wangge.registry.importing import ImportResult, Problem
from wangge.registry.importing.residents import REJECTED
from wangge.registry.models import (
    FLOATING,
    NATIONAL_ID,
    NO_HAZARD,
    RENTED,
    VACANT,
    HazardLevel,
    Household,
    Rental,
    RentalInspection,
    Resident,
    Room,
    RoomUse,
    floor_of,
)

ROOM_FIELDS = frozenset({"use", "area", "floor", "owner", "owner_name"})


def _room_use(code: str) -> RoomUse:
    try:
        return RoomUse.objects.get(code=code)
    except RoomUse.DoesNotExist:
        raise ValidationError({"use": _("未知的房屋用途：%(code)s") % {"code": code}}) from None


def _hazard_level(code: str) -> HazardLevel:
    try:
        return HazardLevel.objects.get(code=code)
    except HazardLevel.DoesNotExist:
        raise ValidationError({"hazard_level": _("未知的隐患等级：%(code)s") % {"code": code}}) from None


def _check_area(area: Decimal | None) -> None:
    if area is not None and not (0 < area < 100_000):
        raise ValidationError({"area": _("建筑面积应大于 0 平方米")})


def room_get_or_create(*, by: Any, building: Building, entrance: str = "", number: str) -> tuple[Room, bool]:
    """The room at this address, made (and audited) when missing: what a new household moves into."""
    number = number.strip()
    if not number:
        raise ValidationError({"number": _("请填写房号")})
    with transaction.atomic():
        room = Room.objects.filter(building=building, entrance=entrance, number=number).first()
        if room is not None:
            return room, False
        room = Room(building=building, entrance=entrance, number=number, floor=floor_of(number))
        room.copy_scope(building)
        room.save()
        audit(actor=by, action=Action.CREATE, obj=room, summary=_("新建房屋 %(a)s") % {"a": room.address})
    return room, True


def room_create(
    *,
    by: Any,
    building: Building,
    entrance: str = "",
    number: str,
    floor: int | None = None,
    area: Decimal | None = None,
    use: str = VACANT,
    owner: Resident | None = None,
    owner_name: str = "",
) -> Room:
    """Register a room nobody has been registered in yet (a shop, an empty flat)."""
    number = number.strip()
    if not number:
        raise ValidationError({"number": _("请填写房号")})
    _check_area(area)
    room_use = _room_use(use)
    with transaction.atomic():
        if Room.objects.filter(building=building, entrance=entrance, number=number).exists():
            raise ValidationError({"number": _("该房号已登记")})
        room = Room(
            building=building,
            entrance=entrance,
            number=number,
            floor=floor if floor is not None else floor_of(number),
            area=area,
            use=room_use,
            owner=owner,
            owner_name=owner_name.strip(),
        )
        room.copy_scope(building)
        room.save()
        audit(actor=by, action=Action.CREATE, obj=room, summary=_("新建房屋 %(a)s") % {"a": room.address})
    return room


def running_lease(room: Room, *, today: dt.date) -> Rental | None:
    """The lease of the room that is registered and not over by ``today`` (one starting later
    included), as ``room_queries.current_rentals`` counts them; ``None`` when there is none."""
    running = Rental.objects.filter(Q(ended__isnull=True) | Q(ended__gt=today), room=room, end__gte=today)
    return running.order_by("start", "id").first()


def _check_use_against_lease(room: Room, use: RoomUse) -> None:
    """While a lease of the room runs its use is 出租: marking it vacant or owner-occupied would
    contradict the rentals register (the lease stays in the grid worker's list, the room shows as
    empty). The way out is to record the move-out (``rental_end``), which makes it vacant."""
    if use.code == RENTED or use.code == room.use_id:
        return
    lease = running_lease(room, today=timezone.localdate())
    if lease is not None:
        raise ValidationError(
            {
                "use": _(
                    "该房屋有在租的租约（%(start)s 至 %(end)s），用途只能是“出租”；如租户已搬走，请先在租约页面登记退租"
                )
                % {"start": lease.start.isoformat(), "end": lease.end.isoformat()}
            }
        )


def room_update(*, by: Any, room: Room, **changes: Any) -> Room:
    """Change a room's use, area, floor or owner; other fields follow from its address. A room
    with a running lease keeps the use 出租 (``_check_use_against_lease``)."""
    unknown = set(changes) - ROOM_FIELDS
    if unknown:
        raise ValidationError({field: _("该字段不能直接修改") for field in unknown})
    if "use" in changes:
        changes["use"] = _room_use(changes["use"])
    if "area" in changes:
        _check_area(changes["area"])
    if "owner_name" in changes:
        changes["owner_name"] = changes["owner_name"].strip()
    before = {name: str(getattr(room, f"{name}_id" if name in ("use", "owner") else name)) for name in changes}
    with transaction.atomic():
        if "use" in changes:
            # Locked so that a lease registered meanwhile (which locks the room too) is seen.
            Room.objects.select_for_update().filter(pk=room.pk).first()
            _check_use_against_lease(room, changes["use"])
        for name, value in changes.items():
            setattr(room, name, value)
        room.save(update_fields=list(changes))
        audit(
            actor=by,
            action=Action.UPDATE,
            obj=room,
            summary=_("修改房屋 %(a)s") % {"a": room.address},
            detail={"before": before},
        )
    return room


def household_settle(*, by: Any, household: Household) -> Room:
    """Give a household its room (made from its address when missing); part of its creation."""
    room, _created = room_get_or_create(
        by=by, building=household.building, entrance=household.entrance, number=household.room
    )
    household.dwelling = room
    household.save(update_fields=["dwelling"])
    return room


# --- rentals --------------------------------------------------------------------------------


def _due(start: dt.date, level: HazardLevel) -> dt.date:
    return start + dt.timedelta(days=level.inspect_every_days)


def _active(room: Room, *, start: dt.date, end: dt.date) -> Q:
    """Leases of the room whose period meets [start, end] and which were not ended before it."""
    return Q(room=room, start__lte=end, end__gte=start) & (Q(ended__isnull=True) | Q(ended__gt=start))


def rental_register(
    *,
    by: Any,
    room: Room,
    start: dt.date,
    end: dt.date,
    landlord: Resident | None = None,
    landlord_name: str = "",
    landlord_phone: str = "",
    tenants: Iterable[Resident] = (),
    registration_number: str = "",
    rent: Decimal | None = None,
    hazard_level: str = NO_HAZARD,
) -> Rental:
    """Register a lease of a room. A lease not over by today (one starting later included) makes
    the room's use 出租, as ``room_update`` then keeps it while the lease runs; registering a lease
    that is already over (an old one entered late) leaves the use as it is."""
    errors: dict[str, str] = {}
    if end < start:
        errors["end"] = _("到期日期不能早于起租日期")
    if rent is not None and rent < 0:
        errors["rent"] = _("租金不能为负数")
    if landlord is None and not landlord_name.strip():
        errors["landlord"] = _("请选择或填写出租人")
    if errors:
        raise ValidationError(errors)
    level = _hazard_level(hazard_level)
    tenants = list(tenants)
    with transaction.atomic():
        # The room is locked: two leases registered at once cannot both pass the overlap check,
        # nor can ``room_update`` mark the room vacant between this check and the write.
        Room.objects.select_for_update().filter(pk=room.pk).first()
        if Rental.objects.filter(_active(room, start=start, end=end)).exists():
            raise ValidationError({"start": _("该房屋在这段时间已有登记的租约")})
        rental = Rental(
            room=room,
            landlord=landlord,
            landlord_name=landlord_name.strip() or (landlord.name if landlord else ""),
            landlord_phone=landlord_phone.strip(),
            registration_number=registration_number.strip(),
            rent=rent,
            start=start,
            end=end,
            hazard_level=level,
            inspection_due=_due(start, level),
            created_by=recorded_user(by),
        )
        rental.copy_scope(room)
        rental.save()
        if tenants:
            rental.tenants.set(tenants)
        if room.use_id != RENTED and end >= timezone.localdate():
            room.use_id = RENTED
            room.save(update_fields=["use"])
        audit(
            actor=by,
            action=Action.CREATE,
            obj=rental,
            summary=_("登记出租房屋 %(a)s（%(start)s 至 %(end)s）")
            % {"a": room.address, "start": start.isoformat(), "end": end.isoformat()},
            detail={"tenants": [t.pk for t in tenants], "landlord": landlord.pk if landlord else None},
        )
    return rental


def rental_tenants_set(*, by: Any, rental: Rental, tenants: Iterable[Resident]) -> Rental:
    """Make ``tenants`` the lease's whole list (the import's union of what is linked and what its
    file names). A page or client that sees only some tenants changes them with
    ``rental_tenants_change`` instead, which leaves the others alone."""
    tenants = list(tenants)
    with transaction.atomic():
        before = sorted(rental.tenants.values_list("pk", flat=True))
        rental.tenants.set(tenants)
        audit(
            actor=by,
            action=Action.UPDATE,
            obj=rental,
            summary=_("修改 %(a)s 的承租人") % {"a": rental.room.address},
            detail={"before": before, "after": sorted(t.pk for t in tenants)},
        )
    return rental


def _not_living(resident: Resident) -> str | None:
    """Why a resident cannot become a tenant, or ``None`` for one living here."""
    if resident.status == Resident.Status.MOVED_OUT:
        return _("%(name)s 已迁出，不能登记为承租人") % {"name": resident.name}
    if resident.status == Resident.Status.DECEASED:
        return _("%(name)s 已故，不能登记为承租人") % {"name": resident.name}
    return None


def _tenant_names(residents: Iterable[Resident]) -> str:
    return _("、").join(r.name for r in residents)


def rental_tenants_change(
    *, by: Any, rental: Rental, add: Iterable[Resident] = (), remove: Iterable[Resident] = ()
) -> Rental:
    """A tenant moves in (``add``) or out (``remove``); every other tenant stays, those the user
    cannot see included (a whole new list from a page showing the tenants in scope would drop
    them). Refused, with nothing written: adding someone who is a tenant already or who has moved
    out or died, removing someone who is not a tenant, any change once the move-out (退租) of the
    lease is recorded. The rental is locked, so two workers changing it at once both count; the
    audit entry names the tenants before and after, in the same transaction."""
    adding = list({r.pk: r for r in add}.values())
    removing = list({r.pk: r for r in remove}.values())
    if not adding and not removing:
        raise ValidationError({"tenants": _("请选择要添加或移除的承租人")})
    if {r.pk for r in adding} & {r.pk for r in removing}:
        raise ValidationError({"tenants": _("同一人不能同时添加和移除")})
    with transaction.atomic():
        locked = Rental.objects.select_for_update().get(pk=rental.pk)
        if locked.ended is not None:
            raise ValidationError({"tenants": _("该租约已退租，承租人不能再修改")})
        before = set(locked.tenants.values_list("pk", flat=True))
        errors = [_("%(name)s 已是该租约的承租人") % {"name": r.name} for r in adding if r.pk in before]
        errors += [reason for r in adding if (reason := _not_living(r))]
        errors += [_("%(name)s 不是该租约的承租人") % {"name": r.name} for r in removing if r.pk not in before]
        if errors:
            raise ValidationError({"tenants": errors})
        rental.tenants.add(*adding)
        rental.tenants.remove(*removing)
        after = (before | {r.pk for r in adding}) - {r.pk for r in removing}
        address = rental.room.address
        if adding and not removing:
            summary = _("%(a)s 添加承租人 %(names)s") % {"a": address, "names": _tenant_names(adding)}
        elif removing and not adding:
            summary = _("%(a)s 移除承租人 %(names)s") % {"a": address, "names": _tenant_names(removing)}
        else:
            summary = _("修改 %(a)s 的承租人") % {"a": address}
        audit(
            actor=by,
            action=Action.UPDATE,
            obj=rental,
            summary=summary,
            detail={
                "before": sorted(before),
                "after": sorted(after),
                "added": sorted(r.pk for r in adding),
                "removed": sorted(r.pk for r in removing),
            },
        )
    return rental


def _household_of(*, by: Any, room: Room) -> Household:
    """The household living in ``room`` (the first registered, when several share it); one made
    at the room's address by ``household_create`` when nobody is registered there yet."""
    household = Household.objects.filter(dwelling=room).order_by("pk").first()
    if household is None:
        household = (
            Household.objects.filter(building_id=room.building_id, entrance=room.entrance, room=room.number)
            .order_by("pk")
            .first()
        )
    if household is None:
        household = actions.household_create(by=by, building=room.building, entrance=room.entrance, room=room.number)
    return household


def rental_tenant_register(
    *,
    by: Any,
    rental: Rental,
    name: str,
    id_number: str,
    document_type: str = NATIONAL_ID,
    phone: str = "",
    sex: str = "",
    birth_date: dt.date | None = None,
    population_type: str = FLOATING,
    floating: dict[str, Any] | None = None,
    foreign: dict[str, Any] | None = None,
) -> Resident:
    """A tenant not yet in the registry, met at the door: registered as a resident of the room's
    household (made at the room's address when it has none) by ``resident_register``, given
    their 流动 or 境外 details by ``resident_population_set`` and added to the lease by
    ``rental_tenants_change``, each audited as it always is, all in one transaction: a refusal
    or an audit entry that cannot be written leaves no resident, no household and no link.
    Refused once the lease's move-out (退租) is recorded, before anything is written."""
    with transaction.atomic():
        locked = Rental.objects.select_for_update().get(pk=rental.pk)
        if locked.ended is not None:
            raise ValidationError({"tenants": _("该租约已退租，承租人不能再修改")})
        household = _household_of(by=by, room=rental.room)
        resident = actions.resident_register(
            by=by,
            household=household,
            name=name,
            id_number=id_number,
            phone=phone,
            document_type=document_type,
            population_type=population_type,
            sex=sex,
            birth_date=birth_date,
        )
        if floating is not None or foreign is not None:
            actions.resident_population_set(
                by=by, resident=resident, population_type=population_type, floating=floating, foreign=foreign
            )
        rental_tenants_change(by=by, rental=rental, add=[resident])
    return resident


def rental_end(*, by: Any, rental: Rental, date: dt.date) -> Rental:
    """The tenants leave (退租): the lease ends on ``date`` and the room is vacant unless let again."""
    if rental.ended is not None:
        raise ValidationError({"date": _("该租约已退租")})
    if date < rental.start:
        raise ValidationError({"date": _("退租日期不能早于起租日期")})
    if date > timezone.localdate():
        raise ValidationError({"date": _("退租日期不能晚于今天")})
    with transaction.atomic():
        rental.ended = date
        rental.save(update_fields=["ended"])
        room = rental.room
        still_let = Rental.objects.filter(room=room, ended__isnull=True, end__gte=date).exclude(pk=rental.pk).exists()
        if not still_let and room.use_id == RENTED:
            room.use_id = VACANT
            room.save(update_fields=["use"])
        audit(
            actor=by,
            action=Action.UPDATE,
            obj=rental,
            summary=_("%(a)s 于 %(date)s 退租") % {"a": room.address, "date": date.isoformat()},
        )
    return rental


def rental_inspect(
    *, by: Any, rental: Rental, date: dt.date, findings: str = "", hazard_level: str = NO_HAZARD
) -> RentalInspection:
    """Record an inspection; the next one falls due after the period of the level it found."""
    if date > timezone.localdate():
        raise ValidationError({"date": _("检查日期不能晚于今天")})
    if date < rental.start - dt.timedelta(days=366):
        raise ValidationError({"date": _("检查日期早于起租日期一年以上")})
    level = _hazard_level(hazard_level)
    with transaction.atomic():
        inspection = RentalInspection.objects.create(
            rental=rental, date=date, inspector=recorded_user(by), findings=findings.strip(), hazard_level=level
        )
        if rental.last_inspected is None or date >= rental.last_inspected:
            # A late entry of an older visit adds to the history but does not move the due date.
            rental.last_inspected = date
            rental.hazard_level = level
            rental.inspection_due = _due(date, level)
            rental.save(update_fields=["last_inspected", "hazard_level", "inspection_due"])
        audit(
            actor=by,
            action=Action.CREATE,
            obj=inspection,
            summary=_("检查出租房屋 %(a)s：%(level)s") % {"a": rental.room.address, "level": level.name},
        )
    return inspection


def rooms_follow_households(*, community_ids: list[int]) -> None:
    """After a grid division: a room is in the grid of a household living in it (else its
    building's), and a rental in its room's. A step of ``households_regrid``, in its transaction."""
    household_grid = Household.objects.filter(dwelling=OuterRef("pk")).order_by("pk").values("grid_id")[:1]
    building_grid = Building.objects.filter(pk=OuterRef("building_id")).values("grid_id")[:1]
    Room.objects.filter(community_id__in=community_ids).update(
        grid_id=Coalesce(Subquery(household_grid), Subquery(building_grid))
    )
    room_grid = Room.objects.filter(pk=OuterRef("room_id")).values("grid_id")[:1]
    Rental.objects.filter(community_id__in=community_ids).update(grid_id=Subquery(room_grid))


# A field of ``rental_register``'s or ``rental_inspect``'s errors → the rentals register's column.
IMPORT_COLUMNS = {
    "start": "start",
    "end": "end",
    "rent": "rent",
    "landlord": "landlord",
    "hazard_level": "hazard",
    "number": "room",
    "date": "last_inspected",
}


def _import(
    *,
    by: Any,
    result: ImportResult,
    rows: list[Any],
    write: Callable[[Any], str],
    column: Callable[[str], str],
    object_type: str,
    summary: str,
    started: float,
) -> ImportResult:
    """Write ``rows`` (``write(row)`` says whether it ``created`` or ``updated``) in one
    transaction with one ``import`` entry in the audit log besides each row's own; a row refused
    by the action's checks leaves nothing behind and is reported, its column given by
    ``column(error field)``. If the audit entry cannot be written, nothing is written."""
    with transaction.atomic():
        for row in rows:
            try:
                with transaction.atomic():  # a refused row leaves nothing behind
                    done = write(row)
            except ValidationError as exc:
                for field, messages in exc.message_dict.items():
                    result.problems.append(Problem(row.number, column(field), REJECTED, " ".join(messages)))
                result.rejected += 1
            else:
                setattr(result, done, getattr(result, done) + 1)
        result.problems.sort(key=lambda problem: problem.row)
        result.seconds = round(time.monotonic() - started, 2)
        counts = {"created": result.created, "updated": result.updated, "unchanged": result.unchanged}
        audit(
            actor=by,
            action=Action.IMPORT,
            object_type=object_type,
            summary=summary % {"file": result.file_name, "rejected": result.rejected, **counts},
            detail={"file": result.file_name, "encoding": result.encoding, **result.counts()},
        )
    return result


def rentals_import(*, by: Any, data: bytes, file_name: str) -> ImportResult:
    """Register the new leases of a filled-in rentals register (``rental_import``): bad rows are
    reported with their reasons, leases already registered left as they are but for the tenants
    the file names and they lack, who are linked (``rental_tenants_set``, counted as updated).
    Tenants are residents the importer may see, found by document number; a number that links
    no one is a warning of its row, which still imports. A room not yet registered is made; a
    last inspection date is recorded as an inspection, which sets the next one due. One
    transaction with one ``import`` entry in the audit log besides each rental's own; if it
    cannot be written, nothing is registered. A row refused by the checks of ``rental_register``
    (a lease overlapping one already registered) leaves nothing behind. Raises
    ``PermissionDenied`` for a user who may not import rentals and ``ImportFileError`` for a
    file that cannot be read at all."""
    if by is not None and not policy.can_import_rentals(by):
        raise PermissionDenied
    started = time.monotonic()
    result = ImportResult(file_name=file_name)
    rows = rental_import.read_rows(data=data, file_name=file_name, by=by, result=result)

    def register(row: rental_import.RentalRow) -> str:
        if row.rental_id is not None:
            rental = Rental.objects.select_related("room__building").get(pk=row.rental_id)
            rental_tenants_set(by=by, rental=rental, tenants=[*rental.tenants.all(), *row.tenants])
            return "updated"
        room = row.room
        if room is None:
            room, _made = room_get_or_create(
                by=by, building=row.building, entrance=row.entrance, number=row.room_number
            )
        rental = rental_register(
            by=by,
            room=room,
            start=row.start,
            end=row.end,
            landlord_name=row.landlord_name,
            landlord_phone=row.landlord_phone,
            tenants=row.tenants,
            registration_number=row.registration_number,
            rent=row.rent,
            hazard_level=row.hazard_level,
        )
        if row.last_inspected is not None:
            rental_inspect(
                by=by,
                rental=rental,
                date=row.last_inspected,
                findings=_("导入时登记的最近检查"),
                hazard_level=row.hazard_level,
            )
        return "created"

    def write(row: rental_import.RentalRow) -> str:
        done = register(row)
        rental_import.warn(result, row.number, row.warnings)  # once the row is written
        return done

    return _import(
        by=by,
        result=result,
        rows=rows,
        write=write,
        column=lambda field: rental_import.label(IMPORT_COLUMNS.get(field, "room")),
        object_type="registry.rental",
        summary=_(
            "导入出租房屋 %(file)s：新登记 %(created)d 处，补登承租人 %(updated)d 处，已登记 %(unchanged)d 处，"
            "拒绝 %(rejected)d 行"
        ),
        started=started,
    )


# A field of ``room_create``'s or ``room_update``'s errors → the rooms register's column.
ROOM_IMPORT_COLUMNS = {"use": "use", "area": "area", "floor": "floor", "owner_name": "owner", "number": "room"}


def rooms_import(*, by: Any, data: bytes, file_name: str) -> ImportResult:
    """Register the rooms of a filled-in rooms register (``room_import``): a room not registered
    yet is made with the row's use, area, floor and owner; a registered one takes those that
    differ (``room_update``); rows as registered already change nothing, bad rows are reported
    with their reasons. One transaction with one ``import`` entry in the audit log besides each
    room's own; if it cannot be written, nothing is registered. Raises ``PermissionDenied`` for a
    user who may not import rooms and ``ImportFileError`` for a file that cannot be read at all."""
    if by is not None and not policy.can_import_rooms(by):
        raise PermissionDenied
    started = time.monotonic()
    result = ImportResult(file_name=file_name)
    rows = room_import.read_rows(data=data, file_name=file_name, by=by, result=result)

    def write(row: room_import.RoomRow) -> str:
        if row.room is None:
            room_create(by=by, building=row.building, entrance=row.entrance, number=row.room_number, **row.changes)
            return "created"
        room_update(by=by, room=row.room, **row.changes)
        return "updated"

    return _import(
        by=by,
        result=result,
        rows=rows,
        write=write,
        column=lambda field: room_import.label(ROOM_IMPORT_COLUMNS.get(field, "room")),
        object_type="registry.room",
        summary=_(
            "导入房屋 %(file)s：新登记 %(created)d 间，修改 %(updated)d 间，未变 %(unchanged)d 间，拒绝 %(rejected)d 行"
        ),
        started=started,
    )
