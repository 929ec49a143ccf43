"""The rentals register (出租房屋) and the rooms register (实有房屋) as XLSX for reporting upward,
and their empty templates (filled in, they are imported back: ``rental_import``, ``room_import``).

The running leases in the user's areas, one row each: the room's standard address parts, the
landlord (phone masked as in the residents export), how many tenants are registered, the names
and document numbers (masked as in the residents export) of those the user may see, the lease
registration number, rent and term, the hazard level as code and name, and the inspections. A
second sheet lists the hazard level codes. The export is audited with its row count before the
workbook is built. Imported back, the masked numbers match the tenants already linked, so the
export changes nothing (``rental_import``).

The rooms register: every room in the user's areas by its standard address (street, community,
grid, building, entrance, room number), with its floor, use as code and name, floor area and
owner (a registered owner's name only when that resident is in the user's areas). A second sheet
lists the room use codes.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import islice
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.utils import timezone
from django.utils.translation import gettext as _

from wangge.accounts import policy
from wangge.areas.models import Area
from wangge.core import idnumbers, streaming
from wangge.core.scope import area_filter
from wangge.core.spreadsheet import audited_export, register_workbook_stream
from wangge.registry.models import HazardLevel, Rental, RoomUse
from wangge.registry.room_queries import current_rentals, rooms_visible_to, with_owner_shown


def _address_header() -> list[str]:
    """A room's standard address, the first columns of both registers."""
    return [_("街道"), _("社区"), _("网格"), _("楼栋"), _("单元"), _("房号")]


def header() -> list[str]:
    return [
        *_address_header(),
        _("出租人"),
        _("出租人电话"),
        _("承租人数"),
        _("承租人姓名"),
        _("承租人证件号码"),
        _("租赁登记备案号"),
        _("月租金（元）"),
        _("起租日期"),
        _("到期日期"),
        _("隐患等级代码"),
        _("隐患等级"),
        _("最近检查日期"),
        _("下次检查日期"),
    ]


def _register(*, title: str, header: list[str], code_field: str, table: Any, text_columns: list[int]) -> Any:
    """The register's workbook of ``rows``, with ``table``'s codes as the second sheet."""

    def workbook(rows: Iterable[list[Any]]) -> Iterator[bytes]:
        return register_workbook_stream(
            title=title,
            header=header,
            rows=rows,
            codes_title=_("代码表"),
            codes_header=[_("字段"), _("代码"), _("名称")],
            codes=[[code_field, c.standard_code or c.code, c.name] for c in table.objects.order_by("order", "id")],
            text_columns=text_columns,
        )

    return workbook


def _workbook(rows: Iterable[list[Any]]) -> Iterator[bytes]:
    return _register(
        title=_("出租房屋"),
        header=header(),
        code_field=_("隐患等级"),
        table=HazardLevel,
        # entrance, room, phone, tenants' names and numbers, registration number, dates
        text_columns=[4, 5, 7, 9, 10, 11, 13, 14, 17, 18],
    )(rows)


def rentals_template() -> bytes:
    return b"".join(_workbook([]))


def rentals_export(*, by: Any) -> tuple[int, Iterator[bytes]]:
    """Audit the export, then return (row count, XLSX chunks, rows read as they are written).
    Raises ``PermissionDenied``."""
    if not policy.can_export(by):
        raise PermissionDenied(_("您没有导出出租房屋信息的权限。"))
    today = timezone.localdate()
    rentals = current_rentals(by, today=today).order_by(
        "street_id", "community_id", "grid_id", "room__building_id", "room__entrance", "room__number", "id"
    )
    count = audited_export(
        by=by, queryset=rentals, object_type="registry.rental", summary=_("导出出租房屋 %(count)d 处")
    )
    return count, _workbook(_rows(rentals, by=by))


# Plain values named from dicts, and tenants counted per chunk: a ``Count("tenants")`` over the
# whole export grouped and sorted a district's 19,000 leases (twice, with the audit's count)
# before the first byte, 1.4 s at 520,000 residents.
COLUMNS = (
    "id", "street_id", "community_id", "grid_id", "room__building__name", "room__entrance", "room__number",
    "landlord_name", "landlord_phone", "registration_number", "rent", "start", "end", "hazard_level_id",
    "last_inspected", "inspection_due",
)  # fmt: skip
CHUNK = 2000


def _rows(rentals: Any, *, by: Any) -> Iterator[list[Any]]:
    areas = dict(Area.objects.values_list("id", "name"))
    hazards = {h.code: (h.standard_code or h.code, h.name) for h in HazardLevel.objects.all()}
    tenancies = Rental.tenants.through.objects  # type: ignore[attr-defined]
    values = streaming.rows(rentals.values_list(*COLUMNS), chunk_size=CHUNK)
    while True:
        chunk = list(islice(values, CHUNK))
        if not chunk:
            return
        of_chunk = tenancies.filter(rental_id__in=[row[0] for row in chunk])
        tenants = dict(of_chunk.values_list("rental_id").annotate(n=Count("id")).order_by())
        # Named only when the user may see them (on the tenants' own area columns, as the
        # rental's page lists them); the count above is of all.
        shown: dict[int, list[tuple[str, str]]] = {}
        for rental, name, number in (
            of_chunk.filter(area_filter(by, prefix="resident__"))
            .order_by("rental_id", "id")
            .values_list("rental_id", "resident__name", "resident__id_number")
        ):
            shown.setdefault(rental, []).append((name, idnumbers.mask(number)))
        for row in chunk:
            (
                pk, street, community, grid, building, entrance, number, landlord, phone, registration, rent,
                start, end, hazard, last_inspected, due,
            ) = row  # fmt: skip
            code, hazard_name = hazards.get(hazard, (hazard, hazard))
            yield [
                areas.get(street, ""),
                areas.get(community, ""),
                areas.get(grid, "") if grid else "",
                building,
                entrance,
                number,
                landlord,
                idnumbers.mask_phone(phone) if phone else "",
                tenants.get(pk, 0),
                "、".join(name for name, _number in shown.get(pk, ())),
                "、".join(number for _name, number in shown.get(pk, ())),
                registration,
                float(rent) if rent is not None else "",
                start.isoformat(),
                end.isoformat(),
                code,
                hazard_name,
                last_inspected.isoformat() if last_inspected else "",
                due.isoformat(),
            ]


def filename(kind: str, register: str = "rentals") -> str:
    return f"{register}-{kind}-{timezone.localdate():%Y%m%d}.xlsx"


# --- the rooms register ------------------------------------------------------------------------


def rooms_header() -> list[str]:
    return [
        *_address_header(),
        _("楼层"),
        _("房屋用途代码"),
        _("房屋用途"),
        _("建筑面积（平方米）"),
        _("产权人"),
    ]


def _rooms_workbook(rows: Iterable[list[Any]]) -> Iterator[bytes]:
    return _register(
        title=_("实有房屋"),
        header=rooms_header(),
        code_field=_("房屋用途"),
        table=RoomUse,
        text_columns=[4, 5],  # entrance, room
    )(rows)


def rooms_template() -> bytes:
    return b"".join(_rooms_workbook([]))


def rooms_export(*, by: Any, building: Any = None) -> tuple[int, Iterator[bytes]]:
    """Audit the export of the rooms in the user's areas (of one ``building`` when given), then
    return (row count, XLSX chunks, rows read as they are written). Raises ``PermissionDenied``."""
    if not policy.can_export(by):
        raise PermissionDenied(_("您没有导出房屋信息的权限。"))
    rooms = rooms_visible_to(by)
    if building is not None:
        rooms = rooms.filter(building=building)
    count = audited_export(by=by, queryset=rooms, object_type="registry.room", summary=_("导出房屋 %(count)d 间"))
    # Plain values in the order of the unique index (building, entrance, number): no sort, and no
    # area rows (with their outlines) joined to each room; names come from dicts. Reading rooms as
    # objects sorted by area cost ~0.9 s (SQLite) / ~0.6 s (PostgreSQL) before the first byte for
    # a district's 256,000 rooms.
    values = (
        with_owner_shown(by, rooms)  # type: ignore[misc]  # values_list names the annotation
        .order_by("building_id", "entrance", "number")
        .values_list(
            "street_id", "community_id", "grid_id", "building__name", "entrance", "number", "floor", "use_id",
            "area", "owner_shown",
        )
    )  # fmt: skip
    areas = dict(Area.objects.values_list("id", "name"))
    uses = {u.code: (u.standard_code or u.code, u.name) for u in RoomUse.objects.all()}
    rows = (
        [
            areas.get(street, ""),
            areas.get(community, ""),
            areas.get(grid, "") if grid else "",
            building,
            entrance,
            number,
            floor if floor is not None else "",
            *uses.get(use, (use, use)),
            float(area) if area is not None else "",
            owner,
        ]
        for street, community, grid, building, entrance, number, floor, use, area, owner in streaming.rows(
            values, chunk_size=2000
        )
    )
    return count, _rooms_workbook(rows)
