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
import unicodedata
from dataclasses import dataclass, replace
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from wangge.areas.models import Building
from wangge.areas.queries import buildings_visible_to
from wangge.core.spreadsheet import FORMULA_STARTS
from wangge.registry.importing import ImportResult, Problem
from wangge.registry.importing.columns import header_key, map_header, phone
from wangge.registry.importing.limits import Limits
from wangge.registry.importing.population import parse_date
from wangge.registry.importing.reading import HEADER_SEARCH_ROWS, read_table
from wangge.registry.importing.residents import REJECTED, building_name
from wangge.registry.models import NO_HAZARD, HazardLevel, Rental, Room
from wangge.registry.room_queries import rooms_visible_to

# One request writes the whole file in one transaction (a rental and its audit entry per row):
# a community's rentals are hundreds, a street's a few thousand; a bigger file is split.
MAX_ROWS = 5_000
# Column key → the headers that name it (the template's own first); other columns are ignored.
COLUMNS = {
    "community": (gettext_lazy("社区"), "所属社区", "社区名称"),
    "building": (gettext_lazy("楼栋"), "楼号", "楼栋号"),
    "entrance": (gettext_lazy("单元"), "单元号"),
    "room": (gettext_lazy("房号"), "房间号", "门牌号", "室"),
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


def _index() -> dict[str, str]:
    """Folded header → column key, in every language the export may have been written in."""
    index: dict[str, str] = {}
    for code, _name in settings.LANGUAGES:
        with translation.override(code):
            for key, words in COLUMNS.items():
                for word in words:
                    index.setdefault(header_key(str(word)), key)
    return index


ENTRANCE_MAX = Room._meta.get_field("entrance").max_length or 10
NUMBER_MAX = Room._meta.get_field("number").max_length or 20
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


class _Bad(Exception):
    def __init__(self, key: str, reason: str) -> None:
        super().__init__(reason)
        self.key = key
        self.reason = reason


def _is_header(index: dict[str, str]) -> Any:
    def check(row: list[str]) -> bool:
        found = {index.get(header_key(text)) for text in row}
        return {"building", "room", "start"} <= found

    return check


def _fold(text: str) -> str:
    return header_key(building_name(text))


def _text(text: str) -> str:
    """Normalised, without the ``'`` the export puts before text Excel would read as a formula."""
    text = unicodedata.normalize("NFKC", text).strip()
    return text[1:] if text[:1] == "'" and text[1:2] in FORMULA_STARTS else text


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


class _Reader:
    def __init__(self, *, by: Any, result: ImportResult, names: set[str]) -> None:
        self.result = result
        self.today = timezone.localdate()
        self.levels: dict[str, str] = {}
        for level in HazardLevel.objects.order_by("order", "id"):
            words = (level.standard_code, level.code, level.name, level.name_en, *level.aliases.split(","))
            for word in words:
                if word and word.strip():
                    self.levels.setdefault(header_key(word), level.code)
        # Only the buildings the file names: the visible ones, and how many exist beyond them.
        self.buildings: dict[str, list[Building]] = {}
        self.elsewhere: set[str] = set()
        if names:
            buildings = Building.objects.all() if by is None else buildings_visible_to(by)  # None: an operator
            visible = buildings.filter(name__in=names).select_related("community")
            for building in visible:
                self.buildings.setdefault(_fold(building.name), []).append(building)
            seen = {b.pk for found in self.buildings.values() for b in found}
            for pk, name in Building.objects.filter(name__in=names).values_list("pk", "name"):
                if pk not in seen:
                    self.elsewhere.add(_fold(name))
        self.by = by
        self.rooms: dict[tuple[int, str, str], Room | None] = {}
        self.existing: set[tuple[int, dt.date, dt.date]] = set()
        self.seen: dict[tuple[int, str, str, dt.date], int] = {}

    def load_rooms(self, buildings: set[int]) -> None:
        """The rooms of the rows' buildings, as the importer may see them (``None``: one they may not)."""
        ids = sorted(buildings)
        for start in range(0, len(ids), 900):
            chunk = ids[start : start + 900]
            rooms = Room.objects.all() if self.by is None else rooms_visible_to(self.by)
            visible = set(rooms.filter(building_id__in=chunk).values_list("pk", flat=True))
            for room in Room.objects.filter(building_id__in=chunk).select_related("building"):
                key = (room.building_id, header_key(room.entrance), header_key(room.number))
                self.rooms[key] = room if room.pk in visible else None
            running = Rental.objects.filter(room__building_id__in=chunk, ended__isnull=True)
            self.existing |= set(running.values_list("room_id", "start", "end"))

    def building(self, cells: dict[str, str]) -> Building:
        text = cells.get("building", "")
        if not text:
            raise _Bad("building", _("请填写楼栋"))
        key = _fold(text)
        found = self.buildings.get(key, [])
        community = header_key(cells.get("community", ""))
        if community and len(found) > 1:
            found = [
                b
                for b in found
                if community in {header_key(b.community.name), header_key(b.community.short_name or "")}
            ]
        if not found:
            if key in self.elsewhere:
                raise _Bad("building", _("该楼栋不在您的管辖范围内"))
            raise _Bad("building", _("在您的辖区内找不到该楼栋：%(name)s") % {"name": text})
        if len(found) > 1:
            raise _Bad("community", _("有多个同名楼栋，请填写社区"))
        return found[0]

    def row(self, number: int, cells: dict[str, str], building: Building) -> RentalRow | None:
        entrance = _text(cells.get("entrance", "")).removesuffix("单元").strip()
        if len(entrance) > ENTRANCE_MAX:
            raise _Bad("entrance", _("单元超过 %(n)d 个字") % {"n": ENTRANCE_MAX})
        room_number = _text(cells.get("room", "")).removesuffix("室").strip()
        if not room_number:
            raise _Bad("room", _("请填写房号"))
        if len(room_number) > NUMBER_MAX:
            raise _Bad("room", _("房号超过 %(n)d 个字") % {"n": NUMBER_MAX})
        room_key = (building.pk, header_key(entrance), header_key(room_number))
        room = self.rooms.get(room_key)
        if room is None and room_key in self.rooms:
            raise _Bad("room", _("该房屋不在您的管辖范围内"))
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

    def reject(self, number: int, key: str, reason: str) -> None:
        self.result.problems.append(Problem(number, label(key), REJECTED, reason))
        self.result.rejected += 1

    def rows(self, raw: list[tuple[int, dict[str, str]]]) -> list[RentalRow]:
        buildings: dict[int, list[tuple[int, dict[str, str], Building]]] = {}
        for number, cells in raw:
            try:
                building = self.building(cells)
            except _Bad as bad:
                self.reject(number, bad.key, bad.reason)
                continue
            buildings.setdefault(building.pk, []).append((number, cells, building))
        self.load_rooms(set(buildings))
        found = []
        for number, cells, building in sorted((r for rows in buildings.values() for r in rows), key=lambda r: r[0]):
            try:
                row = self.row(number, cells, building)
            except _Bad as bad:
                self.reject(number, bad.key, bad.reason)
                continue
            if row is None:
                self.result.unchanged += 1
            else:
                found.append(row)
        return found


def read_rows(*, data: bytes, file_name: str, by: Any, result: ImportResult) -> list[RentalRow]:
    """The new leases of a filled-in rentals register; bad rows go into ``result`` with their
    reasons, leases already registered count as unchanged. Raises ``ImportFileError`` for a file
    that cannot be read at all."""
    index = _index()
    table = read_table(
        data,
        filename=file_name,
        is_header=_is_header(index),
        header_hint=_("找不到表头：表格前 %(n)d 行中须有一行包含“楼栋”“房号”和“起租日期”列")
        % {"n": HEADER_SEARCH_ROWS},
    )
    result.encoding = table.encoding
    columns = map_header(table.header, index)
    raw: list[tuple[int, dict[str, str]]] = []
    for number, cells in table.rows:
        result.rows += 1
        if result.rows > MAX_ROWS:
            raise replace(Limits.from_settings(), rows=MAX_ROWS).too_many_rows()
        raw.append((number, {key: cells[i].strip() if i < len(cells) else "" for key, i in columns.items()}))
    names = {_text(cells.get("building", "")) for _number, cells in raw} - {""}
    names |= {building_name(name) for name in names}
    return _Reader(by=by, result=result, names=names).rows(raw)
