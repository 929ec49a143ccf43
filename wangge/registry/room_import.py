"""Reading a filled-in rooms register (实有房屋: the template or an export of ``room_export``) back
for ``room_actions.rooms_import``, and the address part every register of rooms shares with the
rentals register (``rental_import``): a row names its room by building (by name, among the
importer's buildings, narrowed by the community when two share a name), entrance and room number.

A room not registered yet is made at import; a registered one takes the row's use, area, floor
and owner where they differ (a blank cell changes nothing). Street and grid are written by the
export and ignored here. The use is read from the shipped code table by code, standard code,
name (Chinese or English) or alias. The owner is a name: a room whose owner is a registered
resident keeps that link while the row names the same person; another name replaces it.

Scope: a building or room outside the importer's areas is refused with that reason (a grid
worker imports into their grid only). Building names are not personal data; an owner outside the
importer's areas is neither shown by the export nor read here.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, replace
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from wangge.areas.models import Building
from wangge.areas.queries import buildings_visible_to
from wangge.core.spreadsheet import FORMULA_STARTS
from wangge.registry.importing import ImportResult, Problem
from wangge.registry.importing.columns import header_key, map_header
from wangge.registry.importing.limits import Limits
from wangge.registry.importing.reading import HEADER_SEARCH_ROWS, read_table
from wangge.registry.importing.residents import REJECTED, building_name
from wangge.registry.models import Room, RoomUse
from wangge.registry.room_queries import rooms_visible_to, with_owner_shown

# One request writes the whole file in one transaction (a room and its audit entry per row):
# a community's rooms are a few thousand; a bigger file is split.
MAX_ROWS = 5_000
# The columns that name a room, in every register of rooms (the template's own header first).
ADDRESS_COLUMNS = {
    "community": (gettext_lazy("社区"), "所属社区", "社区名称"),
    "building": (gettext_lazy("楼栋"), "楼号", "楼栋号"),
    "entrance": (gettext_lazy("单元"), "单元号"),
    "room": (gettext_lazy("房号"), "房间号", "门牌号", "室"),
}
# Column key → the headers that name it; other columns are ignored.
COLUMNS = {
    **ADDRESS_COLUMNS,
    "floor": (gettext_lazy("楼层"), "所在楼层", "层"),
    "use_code": (gettext_lazy("房屋用途代码"), "用途代码"),
    "use": (gettext_lazy("房屋用途"), "用途", "房屋状态"),
    "area": (gettext_lazy("建筑面积（平方米）"), "面积", "房屋面积", "建筑面积㎡"),
    "owner": (gettext_lazy("产权人"), "产权人姓名", "业主", "房主"),
}

ENTRANCE_MAX = Room._meta.get_field("entrance").max_length or 10
NUMBER_MAX = Room._meta.get_field("number").max_length or 20
OWNER_MAX = Room._meta.get_field("owner_name").max_length or 60
FLOORS = (-10, 200)


def column_index(columns: dict[str, tuple[Any, ...]]) -> dict[str, str]:
    """Folded header → column key, in every language the export may have been written in."""
    index: dict[str, str] = {}
    for code, _name in settings.LANGUAGES:
        with translation.override(code):
            for key, words in columns.items():
                for word in words:
                    index.setdefault(header_key(str(word)), key)
    return index


def code_index(model: Any) -> dict[str, str]:
    """Folded word → code of a shipped code table: by standard code, code, name, English or alias."""
    index: dict[str, str] = {}
    for row in model.objects.order_by("order", "id"):
        for word in (row.standard_code, row.code, row.name, row.name_en, *row.aliases.split(",")):
            if word and word.strip():
                index.setdefault(header_key(word), row.code)
    return index


def label(key: str) -> str:
    """The column's name as the template prints it, in the active language."""
    return str(COLUMNS[key][0])


class Bad(Exception):
    """A row refused: the column it is about and the reason."""

    def __init__(self, key: str, reason: str) -> None:
        super().__init__(reason)
        self.key = key
        self.reason = reason


def fold(text: str) -> str:
    return header_key(building_name(text))


def clean(text: str) -> str:
    """Normalised, without the ``'`` the export puts before text Excel would read as a formula."""
    text = unicodedata.normalize("NFKC", text).strip()
    return text[1:] if text[:1] == "'" and text[1:2] in FORMULA_STARTS else text


def read_cells(
    *,
    data: bytes,
    file_name: str,
    index: dict[str, str],
    required: set[str],
    any_of: set[str],
    hint: str,
    result: ImportResult,
) -> list[tuple[int, dict[str, str]]]:
    """The file's rows as (row number, column key → cell); at most ``MAX_ROWS``. Raises
    ``ImportFileError`` for a file that cannot be read or has no header naming ``required`` and
    one of ``any_of``."""

    def is_header(row: list[str]) -> bool:
        found = {index.get(header_key(text)) for text in row}
        return required <= found and bool(any_of & found)

    table = read_table(
        data,
        filename=file_name,
        is_header=is_header,
        header_hint=hint,
    )
    result.encoding = table.encoding
    columns = map_header(table.header, index)
    raw: list[tuple[int, dict[str, str]]] = []
    for number, cells in table.rows:
        result.rows += 1
        if result.rows > MAX_ROWS:
            raise replace(Limits.from_settings(), rows=MAX_ROWS).too_many_rows()
        raw.append((number, {key: cells[i].strip() if i < len(cells) else "" for key, i in columns.items()}))
    return raw


class AddressReader:
    """Finds each row's building and room in the importer's areas; a subclass reads the rest of
    the row (``row``, returning ``None`` for a row that changes nothing)."""

    def __init__(self, *, by: Any, result: ImportResult, raw: list[tuple[int, dict[str, str]]], label: Any) -> None:
        self.by = by
        self.result = result
        self.raw = raw
        self.label = label
        names = {clean(cells.get("building", "")) for _number, cells in raw} - {""}
        names |= {building_name(name) for name in names}
        # Only the buildings the file names: the visible ones, and how many exist beyond them.
        self.buildings: dict[str, list[Building]] = {}
        self.elsewhere: set[str] = set()
        if names:
            buildings = Building.objects.all() if by is None else buildings_visible_to(by)  # None: an operator
            visible = buildings.filter(name__in=names).select_related("community")
            for building in visible:
                self.buildings.setdefault(fold(building.name), []).append(building)
            seen = {b.pk for found in self.buildings.values() for b in found}
            for pk, name in Building.objects.filter(name__in=names).values_list("pk", "name"):
                if pk not in seen:
                    self.elsewhere.add(fold(name))
        self.rooms: dict[tuple[int, str, str], Room | None] = {}

    def loaded(self, chunk: list[int]) -> None:
        """A hook: the rooms of these buildings were just read."""

    def load_rooms(self, buildings: set[int]) -> None:
        """The rooms of the rows' buildings, as the importer may see them (``None``: one they may not)."""
        ids = sorted(buildings)
        for start in range(0, len(ids), 900):
            chunk = ids[start : start + 900]
            rooms = Room.objects.all() if self.by is None else rooms_visible_to(self.by)
            visible = set(rooms.filter(building_id__in=chunk).values_list("pk", flat=True))
            everything = with_owner_shown(self.by, Room.objects.filter(building_id__in=chunk))
            for room in everything.select_related("building"):
                key = (room.building_id, header_key(room.entrance), header_key(room.number))
                self.rooms[key] = room if room.pk in visible else None
            self.loaded(chunk)

    def building(self, cells: dict[str, str]) -> Building:
        text = cells.get("building", "")
        if not text:
            raise Bad("building", _("请填写楼栋"))
        key = fold(text)
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
                raise Bad("building", _("该楼栋不在您的管辖范围内"))
            raise Bad("building", _("在您的辖区内找不到该楼栋：%(name)s") % {"name": text})
        if len(found) > 1:
            raise Bad("community", _("有多个同名楼栋，请填写社区"))
        return found[0]

    def address(self, cells: dict[str, str], building: Building) -> tuple[str, str, Room | None]:
        """(entrance, room number, the registered room or ``None``); a room out of scope is refused."""
        entrance = clean(cells.get("entrance", "")).removesuffix("单元").strip()
        if len(entrance) > ENTRANCE_MAX:
            raise Bad("entrance", _("单元超过 %(n)d 个字") % {"n": ENTRANCE_MAX})
        number = clean(cells.get("room", "")).removesuffix("室").strip()
        if not number:
            raise Bad("room", _("请填写房号"))
        if len(number) > NUMBER_MAX:
            raise Bad("room", _("房号超过 %(n)d 个字") % {"n": NUMBER_MAX})
        key = (building.pk, header_key(entrance), header_key(number))
        room = self.rooms.get(key)
        if room is None and key in self.rooms:
            raise Bad("room", _("该房屋不在您的管辖范围内"))
        return entrance, number, room

    def row(self, number: int, cells: dict[str, str], building: Building) -> Any:
        raise NotImplementedError

    def reject(self, number: int, key: str, reason: str) -> None:
        self.result.problems.append(Problem(number, self.label(key), REJECTED, reason))
        self.result.rejected += 1

    def rows(self) -> list[Any]:
        """The rows that change something, in file order; the others counted or reported."""
        buildings: dict[int, list[tuple[int, dict[str, str], Building]]] = {}
        for number, cells in self.raw:
            try:
                building = self.building(cells)
            except Bad as bad:
                self.reject(number, bad.key, bad.reason)
                continue
            buildings.setdefault(building.pk, []).append((number, cells, building))
        self.load_rooms(set(buildings))
        found = []
        for number, cells, building in sorted((r for rows in buildings.values() for r in rows), key=lambda r: r[0]):
            try:
                row = self.row(number, cells, building)
            except Bad as bad:
                self.reject(number, bad.key, bad.reason)
                continue
            if row is None:
                self.result.unchanged += 1
            else:
                found.append(row)
        return found


# --- the rooms register ------------------------------------------------------------------------


@dataclass
class RoomRow:
    number: int
    building: Building
    entrance: str
    room_number: str
    room: Room | None  # None: not registered yet, made at import
    changes: dict[str, Any]  # for a new room, what is given; else what differs (``room_update``'s fields)


def _area(text: str) -> Decimal | None:
    text = clean(text).lower()
    for unit in ("平方米", "平米", "㎡", "m2", "m²"):
        text = text.removesuffix(unit)
    text = text.replace(",", "").strip()
    if not text:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise Bad("area", _("建筑面积应为数字（平方米）：%(value)s") % {"value": text}) from None
    if not value.is_finite() or not (0 < value < 100_000):
        raise Bad("area", _("建筑面积应大于 0、小于 10 万平方米：%(value)s") % {"value": text})
    return value.quantize(Decimal("0.01"))


def _floor(text: str) -> int | None:
    text = clean(text).removesuffix("层").strip()
    if not text:
        return None
    try:
        value = int(text)
    except ValueError:
        value = None
    if value is None or not (FLOORS[0] <= value <= FLOORS[1]):
        raise Bad("floor", _("楼层应为 %(low)d 到 %(high)d 之间的整数：%(value)s") % {
            "low": FLOORS[0], "high": FLOORS[1], "value": text
        })  # fmt: skip
    return value


class _RoomReader(AddressReader):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.uses = code_index(RoomUse)
        self.seen: dict[tuple[int, str, str], int] = {}

    def use(self, cells: dict[str, str]) -> str | None:
        text = clean(cells.get("use_code") or cells.get("use", ""))
        if not text:
            return None
        use = self.uses.get(header_key(text))
        if use is None and cells.get("use"):
            use = self.uses.get(header_key(clean(cells["use"])))
        if use is None:
            raise Bad("use", _("未知的房屋用途：%(value)s") % {"value": text})
        return use

    def row(self, number: int, cells: dict[str, str], building: Building) -> RoomRow | None:
        entrance, room_number, room = self.address(cells, building)
        key = (building.pk, header_key(entrance), header_key(room_number))
        if key in self.seen:
            raise Bad("room", _("与第 %(row)d 行是同一房屋") % {"row": self.seen[key]})
        self.seen[key] = number
        given: dict[str, Any] = {}
        use = self.use(cells)
        if use is not None:
            given["use"] = use
        area = _area(cells.get("area", ""))
        if area is not None:
            given["area"] = area
        floor = _floor(cells.get("floor", ""))
        if floor is not None:
            given["floor"] = floor
        owner = clean(cells.get("owner", ""))
        if len(owner) > OWNER_MAX:
            raise Bad("owner", _("产权人超过 %(n)d 个字") % {"n": OWNER_MAX})
        if owner:
            given["owner_name"] = owner
        if room is None:
            return RoomRow(number, building, entrance, room_number, None, given)
        changes: dict[str, Any] = {}
        for name, value in given.items():
            if name == "owner_name":
                if value != (room.owner_shown or ""):  # type: ignore[attr-defined]
                    changes.update(owner=None, owner_name=value)
            elif value != getattr(room, "use_id" if name == "use" else name):
                changes[name] = value
        if not changes:
            return None  # as registered already
        return RoomRow(number, building, entrance, room_number, room, changes)


def read_rows(*, data: bytes, file_name: str, by: Any, result: ImportResult) -> list[RoomRow]:
    """The rooms of a filled-in rooms register that are new or changed; bad rows go into
    ``result`` with their reasons, rooms as registered already count as unchanged. Raises
    ``ImportFileError`` for a file that cannot be read at all."""
    raw = read_cells(
        data=data,
        file_name=file_name,
        index=column_index(COLUMNS),
        required={"building", "room"},
        any_of={"use_code", "use", "area", "owner"},
        hint=_("找不到表头：表格前 %(n)d 行中须有一行包含“楼栋”“房号”和“房屋用途”列") % {"n": HEADER_SEARCH_ROWS},
        result=result,
    )
    return _RoomReader(by=by, result=result, raw=raw, label=label).rows()
