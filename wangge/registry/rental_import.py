"""Reading a filled-in rentals register (出租房屋: the template or an export of ``room_export``) back
for ``room_actions.rentals_import``: each row checked, the bad ones reported with their reasons.

The template's columns are the export's. A row names its room by building (by name, among the
importer's buildings, narrowed by the community when two share a name), entrance and room
number; a room not registered yet is made at import. Street, grid, the tenant count and the next
inspection date are written by the export and ignored here: tenants are linked residents, added
on the rental's page, and the next date follows from the last inspection and the hazard level.
A lease already registered for the room with the same start and end is left as it is, so a file
imported twice (or an export imported back) registers nothing new.

Scope: a building or room outside the importer's areas is refused with that reason (a grid
worker imports into their grid only). Building names are not personal data; nothing about the
rentals or people outside the importer's areas is read.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from wangge.areas.models import Building
from wangge.registry.importing import ImportResult
from wangge.registry.importing.columns import header_key, phone
from wangge.registry.importing.population import parse_date
from wangge.registry.importing.reading import HEADER_SEARCH_ROWS
from wangge.registry.models import NO_HAZARD, HazardLevel, Rental, Room
from wangge.registry.room_import import ADDRESS_COLUMNS, AddressReader, code_index, column_index, read_cells
from wangge.registry.room_import import Bad as _Bad
from wangge.registry.room_import import clean as _text

# Column key → the headers that name it (the template's own first); other columns are ignored.
COLUMNS = {
    **ADDRESS_COLUMNS,
    "landlord": (gettext_lazy("出租人"), "出租人姓名", "房东", "房主"),
    "landlord_phone": (gettext_lazy("出租人电话"), "出租人联系电话", "房东电话", "联系电话"),
    "registration_number": (gettext_lazy("租赁登记备案号"), "备案号", "租赁备案号", "登记备案号"),
    "rent": (gettext_lazy("月租金（元）"), "月租金", "租金"),
    "start": (gettext_lazy("起租日期"), "租赁开始日期", "起租时间"),
    "end": (gettext_lazy("到期日期"), "租赁结束日期", "到期时间", "止租日期"),
    "hazard_code": (gettext_lazy("隐患等级代码"),),
    "hazard": (gettext_lazy("隐患等级"),),
    "last_inspected": (gettext_lazy("最近检查日期"), "检查日期"),
}

LANDLORD_MAX = Rental._meta.get_field("landlord_name").max_length or 60
REGISTRATION_MAX = Rental._meta.get_field("registration_number").max_length or 40


def label(key: str) -> str:
    """The column's name as the template prints it, in the active language."""
    return str(COLUMNS[key][0])


@dataclass
class RentalRow:
    number: int
    building: Building
    entrance: str
    room_number: str
    room: Room | None  # None: not registered yet, made at import
    landlord_name: str
    landlord_phone: str
    registration_number: str
    rent: Decimal | None
    start: dt.date
    end: dt.date
    hazard_level: str
    last_inspected: dt.date | None


def _rent(text: str) -> Decimal | None:
    text = _text(text).removesuffix("元").replace(",", "").strip()
    if not text:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise _Bad("rent", _("月租金应为金额（元）：%(value)s") % {"value": text}) from None
    if not value.is_finite() or value < 0 or value >= Decimal("100000000"):
        raise _Bad("rent", _("月租金应为 0 到 1 亿元之间的金额：%(value)s") % {"value": text})
    return value.quantize(Decimal("0.01"))


def _date(cells: dict[str, str], key: str, *, required: bool) -> dt.date | None:
    text = cells.get(key, "")
    if not text:
        if required:
            raise _Bad(key, _("请填写%(column)s（如 2024-03-01）") % {"column": label(key)})
        return None
    value = parse_date(text)
    if value is None:
        raise _Bad(key, _("日期格式不正确：%(value)s") % {"value": text})
    return value


class _Reader(AddressReader):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.today = timezone.localdate()
        self.levels = code_index(HazardLevel)
        self.existing: set[tuple[int, dt.date, dt.date]] = set()
        self.seen: dict[tuple[int, str, str, dt.date], int] = {}

    def loaded(self, chunk: list[int]) -> None:
        running = Rental.objects.filter(room__building_id__in=chunk, ended__isnull=True)
        self.existing |= set(running.values_list("room_id", "start", "end"))

    def row(self, number: int, cells: dict[str, str], building: Building) -> RentalRow | None:
        entrance, room_number, room = self.address(cells, building)
        room_key = (building.pk, header_key(entrance), header_key(room_number))
        start = _date(cells, "start", required=True)
        end = _date(cells, "end", required=True)
        assert start is not None and end is not None
        lease = (*room_key, start)
        if lease in self.seen:
            raise _Bad("start", _("与第 %(row)d 行是同一租约") % {"row": self.seen[lease]})
        self.seen[lease] = number
        if room is not None and (room.pk, start, end) in self.existing:
            return None  # registered already: left as it is
        if end < start:
            raise _Bad("end", _("到期日期不能早于起租日期"))
        landlord = _text(cells.get("landlord", ""))
        if not landlord:
            raise _Bad("landlord", _("请填写出租人"))
        if len(landlord) > LANDLORD_MAX:
            raise _Bad("landlord", _("出租人超过 %(n)d 个字") % {"n": LANDLORD_MAX})
        raw_phone = cells.get("landlord_phone", "")
        if "*" in raw_phone or "＊" in raw_phone:
            raise _Bad("landlord_phone", _("出租人电话已隐藏中间位（来自导出文件），请填写完整号码或留空"))
        landlord_phone = phone(raw_phone)
        if landlord_phone is None:
            raise _Bad("landlord_phone", _("电话号码格式不正确"))
        registration = _text(cells.get("registration_number", ""))
        if len(registration) > REGISTRATION_MAX:
            raise _Bad("registration_number", _("租赁登记备案号超过 %(n)d 个字") % {"n": REGISTRATION_MAX})
        hazard_text = cells.get("hazard_code") or cells.get("hazard", "")
        hazard = self.levels.get(header_key(hazard_text)) if hazard_text else NO_HAZARD
        if hazard is None and cells.get("hazard"):
            hazard = self.levels.get(header_key(cells["hazard"]))
        if hazard is None:
            raise _Bad("hazard", _("未知的隐患等级：%(value)s") % {"value": hazard_text})
        last = _date(cells, "last_inspected", required=False)
        if last is not None and last > self.today:
            raise _Bad("last_inspected", _("检查日期不能晚于今天"))
        return RentalRow(
            number=number,
            building=building,
            entrance=entrance,
            room_number=room_number,
            room=room,
            landlord_name=landlord,
            landlord_phone=landlord_phone,
            registration_number=registration,
            rent=_rent(cells.get("rent", "")),
            start=start,
            end=end,
            hazard_level=hazard,
            last_inspected=last,
        )


def read_rows(*, data: bytes, file_name: str, by: Any, result: ImportResult) -> list[RentalRow]:
    """The new leases of a filled-in rentals register; bad rows go into ``result`` with their
    reasons, leases already registered count as unchanged. Raises ``ImportFileError`` for a file
    that cannot be read at all."""
    raw = read_cells(
        data=data,
        file_name=file_name,
        index=column_index(COLUMNS),
        required={"building", "room", "start"},
        any_of={"start"},
        hint=_("找不到表头：表格前 %(n)d 行中须有一行包含“楼栋”“房号”和“起租日期”列") % {"n": HEADER_SEARCH_ROWS},
        result=result,
    )
    return _Reader(by=by, result=result, raw=raw, label=label).rows()
