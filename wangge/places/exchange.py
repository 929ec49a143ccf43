"""The units and key-places registers as XLSX for reporting upward, and their empty templates.

Columns carry the field names of the 实有单位 and 重点场所 registers as grid platforms print
them, and code values (a kind's standard code where one is set, else its own code) beside their
names; a second sheet lists the code tables. Phones are masked as in the residents export; the export
is audited with its row count before the workbook is built, and nothing is exported when the
entry cannot be written.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from django.core.exceptions import PermissionDenied
from django.utils import timezone
from django.utils.translation import gettext as _

from wangge.accounts import policy
from wangge.areas.models import Area
from wangge.core import idnumbers, streaming
from wangge.core.spreadsheet import audited_export, register_workbook_stream
from wangge.places.models import PlaceType, Unit, UnitKind
from wangge.places.queries import places_visible_to, units_visible_to
from wangge.registry.models import HazardLevel


def header() -> list[str]:
    return [
        _("单位名称"),
        _("统一社会信用代码"),
        _("单位类别代码"),
        _("单位类别"),
        _("法定代表人（负责人）"),
        _("联系电话"),
        _("从业人员数"),
        _("党组织情况代码"),
        _("党组织"),
        _("党组织名称"),
        _("党员人数"),
        _("街道"),
        _("社区"),
        _("网格"),
        _("楼栋"),
        _("地址"),
    ]


def _workbook(rows: Iterable[list[Any]]) -> Iterator[bytes]:
    codes: list[list[Any]] = [
        [_("单位类别"), kind.standard_code or kind.code, kind.name] for kind in UnitKind.objects.order_by("order", "id")
    ]
    codes += [[_("党组织"), value, str(label)] for value, label in Unit.PartyOrg.choices]
    return register_workbook_stream(
        title=_("实有单位"),
        header=header(),
        rows=rows,
        codes_title=_("代码表"),
        codes_header=[_("字段"), _("代码"), _("名称")],
        codes=codes,
        text_columns=[1, 5],  # the credit code and the phone
    )


def units_template() -> bytes:
    """The empty register with its code tables, for a district to fill in."""
    return b"".join(_workbook([]))


def units_export(*, by: Any) -> tuple[int, Iterator[bytes]]:
    """Audit the export, then return (row count, XLSX chunks, rows read as they are written).
    Raises ``PermissionDenied``."""
    if not policy.can_export(by):
        raise PermissionDenied(_("您没有导出单位信息的权限。"))
    units = units_visible_to(by).order_by("street_id", "community_id", "grid_id", "name", "id")
    count = audited_export(by=by, queryset=units, object_type="places.unit", summary=_("导出实有单位 %(count)d 个"))
    return count, _workbook(_unit_rows(units))


# Plain values, named from dicts read once, not model instances: a district's 6,240 units as
# objects with six related rows each and a translated choice per row took ~0.5 ms a row.
#: where a unit or place is: the last columns of both exports (``_where``)
LOCATION_COLUMNS = (
    "street_id", "community_id", "grid_id", "building__name", "address", "room__building__name", "room__entrance",
    "room__number",
)  # fmt: skip
UNIT_COLUMNS = (
    "name", "credit_code", "kind_id", "legal_rep", "legal_rep_phone", "staff_count", "party_org",
    "party_org_name", "party_members", *LOCATION_COLUMNS,
)  # fmt: skip


def _unit_rows(units: Any) -> Iterator[list[Any]]:
    kinds = {k.code: (k.standard_code or k.code, k.name) for k in UnitKind.objects.all()}
    parties = {value: str(label) for value, label in Unit.PartyOrg.choices}
    areas = dict(Area.objects.values_list("id", "name"))
    for values in streaming.rows(units.values_list(*UNIT_COLUMNS)):
        name, credit_code, kind, legal_rep, phone, staff, party, party_name, members = values[:9]
        code, kind_name = kinds.get(kind, (kind, kind))
        yield [
            name,
            credit_code,
            code,
            kind_name,
            legal_rep,
            idnumbers.mask_phone(phone) if phone else "",
            staff,
            party,
            parties.get(party, party),
            party_name,
            members,
            *_where(areas, values[9:]),
        ]


def _where(areas: dict[int, str], location: tuple[Any, ...]) -> list[str]:
    """The street, community, grid, building and address columns from ``LOCATION_COLUMNS``'s values
    (``Located.full_address``: its own address, else its room's, else the building's name)."""
    street, community, grid, building, address, room_building, entrance, number = location
    if not address and room_building is not None:
        address = f"{room_building}{f'{entrance}单元' if entrance else ''}{number}"  # Room.address
    return [
        areas.get(street, ""),
        areas.get(community, ""),
        areas.get(grid, "") if grid else "",
        building,
        address or building,
    ]


def filename(kind: str, register: str = "units") -> str:
    return f"{register}-{kind}-{timezone.localdate():%Y%m%d}.xlsx"


def places_header() -> list[str]:
    return [
        _("场所名称"),
        _("场所类型代码"),
        _("场所类型"),
        _("所属单位"),
        _("统一社会信用代码"),
        _("经营者"),
        _("经营者电话"),
        _("隐患等级代码"),
        _("隐患等级"),
        _("最近检查日期"),
        _("下次检查日期"),
        _("街道"),
        _("社区"),
        _("网格"),
        _("楼栋"),
        _("地址"),
    ]


def _places_workbook(rows: Iterable[list[Any]]) -> Iterator[bytes]:
    codes: list[list[Any]] = [
        [_("场所类型"), t.standard_code or t.code, t.name] for t in PlaceType.objects.order_by("order", "id")
    ]
    codes += [[_("隐患等级"), h.standard_code or h.code, h.name] for h in HazardLevel.objects.order_by("order", "id")]
    return register_workbook_stream(
        title=_("重点场所"),
        header=places_header(),
        rows=rows,
        codes_title=_("代码表"),
        codes_header=[_("字段"), _("代码"), _("名称")],
        codes=codes,
        text_columns=[4, 6, 9, 10],  # the credit code, the phone, the dates
    )


def places_template() -> bytes:
    return b"".join(_places_workbook([]))


def places_export(*, by: Any) -> tuple[int, Iterator[bytes]]:
    """Audit the export, then return (row count, XLSX chunks, rows read as they are written).
    Raises ``PermissionDenied``."""
    if not policy.can_export(by):
        raise PermissionDenied(_("您没有导出场所信息的权限。"))
    places = places_visible_to(by).order_by("street_id", "community_id", "grid_id", "name", "id")
    count = audited_export(by=by, queryset=places, object_type="places.place", summary=_("导出重点场所 %(count)d 个"))
    return count, _places_workbook(_place_rows(places))


# As for units: 2,000 places as objects with seven related rows each took ~0.4 s before the first byte.
PLACE_COLUMNS = (
    "name", "place_type_id", "unit__name", "unit__credit_code", "operator", "operator_phone", "hazard_level_id",
    "last_inspected", "inspection_due", *LOCATION_COLUMNS,
)  # fmt: skip


def _place_rows(places: Any) -> Iterator[list[Any]]:
    types = {t.code: (t.standard_code or t.code, t.name) for t in PlaceType.objects.all()}
    hazards = {h.code: (h.standard_code or h.code, h.name) for h in HazardLevel.objects.all()}
    areas = dict(Area.objects.values_list("id", "name"))
    for values in streaming.rows(places.values_list(*PLACE_COLUMNS)):
        name, place_type, unit, credit_code, operator, phone, hazard, last_inspected, due = values[:9]
        type_code, type_name = types.get(place_type, (place_type, place_type))
        hazard_code, hazard_name = hazards.get(hazard, (hazard, hazard))
        yield [
            name,
            type_code,
            type_name,
            unit or "",
            credit_code or "",
            operator,
            idnumbers.mask_phone(phone) if phone else "",
            hazard_code,
            hazard_name,
            last_inspected.isoformat() if last_inspected else "",
            due.isoformat(),
            *_where(areas, values[9:]),
        ]
