"""Reading a filled-in key-places register (the template or an export of ``places/exchange``)
back for ``actions.places_import``: each row checked, the bad ones reported with their reasons.

A place is found by its building (by name, in the importer's areas, narrowed by the community
when two share a name) and its own name: one already there is left as it is, so a file imported
twice registers nothing new. The type is read by code, name or alias; a unit is linked by its
unified social credit code when the importer can see it.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

from django.utils.translation import gettext as _

from wangge.areas.models import Building
from wangge.areas.queries import buildings_visible_to
from wangge.places.models import PlaceType, Unit
from wangge.places.queries import places_visible_to, units_visible_to
from wangge.registry.importing import ImportResult, Problem
from wangge.registry.importing.columns import header_key, map_header, phone
from wangge.registry.importing.limits import Limits
from wangge.registry.importing.population import code_lookup
from wangge.registry.importing.reading import HEADER_SEARCH_ROWS, read_table
from wangge.registry.importing.residents import REJECTED, building_name

MAX_ROWS = 5_000
# Column key → the headers that name it (the template's first); columns not here are ignored.
COLUMNS = {
    "name": ("场所名称", "名称", "场所"),
    "type_code": ("场所类型代码",),
    "type": ("场所类型", "类型", "场所类别"),
    "credit_code": ("统一社会信用代码", "所属单位统一社会信用代码", "信用代码"),
    "operator": ("经营者", "负责人", "经营者姓名"),
    "operator_phone": ("经营者电话", "联系电话", "电话"),
    "community": ("社区", "所属社区"),
    "building": ("楼栋", "楼号"),
    "address": ("地址", "详细地址"),
}
_INDEX = {header_key(word): key for key, words in COLUMNS.items() for word in words}


@dataclass
class PlaceRow:
    number: int
    name: str
    place_type: str
    building: Building
    address: str
    unit: Unit | None
    operator: str
    operator_phone: str


class _Bad(Exception):
    def __init__(self, column: str, reason: str) -> None:
        super().__init__(reason)
        self.column = column
        self.reason = reason


def _is_header(row: list[str]) -> bool:
    found = {_INDEX.get(header_key(text)) for text in row}
    return {"name", "building"} <= found and bool(found & {"type", "type_code"})


def _fold(text: str) -> str:
    return header_key(building_name(text))


class _Reader:
    def __init__(self, *, by: Any, result: ImportResult) -> None:
        self.result = result
        self.types = code_lookup(PlaceType.objects.all())
        self.buildings: dict[str, list[Building]] = {}
        for building in buildings_visible_to(by).select_related("community"):
            self.buildings.setdefault(_fold(building.name), []).append(building)
        self.units = {u.credit_code: u for u in units_visible_to(by).exclude(credit_code="")}
        self.existing = {(p.building_id, header_key(p.name)) for p in places_visible_to(by).only("building", "name")}
        self.seen: dict[tuple[int, str], int] = {}

    def building(self, cells: dict[str, str]) -> Building:
        found = self.buildings.get(_fold(cells.get("building", "")), [])
        community = header_key(cells.get("community", ""))
        if community and len(found) > 1:
            found = [
                b
                for b in found
                if community in {header_key(b.community.name), header_key(b.community.short_name or "")}
            ]
        if not found:
            raise _Bad(COLUMNS["building"][0], _("在您的辖区内找不到该楼栋"))
        if len(found) > 1:
            raise _Bad(COLUMNS["community"][0], _("有多个同名楼栋，请填写社区"))
        return found[0]

    def row(self, number: int, cells: dict[str, str]) -> PlaceRow | None:
        name = cells.get("name", "").strip()
        if not name:
            raise _Bad(COLUMNS["name"][0], _("请填写场所名称"))
        building = self.building(cells)
        key = (building.pk, header_key(name))
        if key in self.seen:
            raise _Bad(COLUMNS["name"][0], _("与第 %(row)d 行是同一场所") % {"row": self.seen[key]})
        self.seen[key] = number
        if key in self.existing:
            return None  # registered already: left as it is
        text = cells.get("type_code") or cells.get("type", "")
        kind = self.types.get(header_key(text))
        if kind is None:
            raise _Bad(COLUMNS["type"][0], _("未知的场所类型：%(value)s") % {"value": text})
        credit = unicodedata.normalize("NFKC", cells.get("credit_code", "")).replace(" ", "").upper()
        unit = self.units.get(credit) if credit else None
        if credit and unit is None:
            raise _Bad(COLUMNS["credit_code"][0], _("在您的辖区内找不到该统一社会信用代码的单位"))
        raw_phone = cells.get("operator_phone", "")
        operator_phone = phone(raw_phone) if "*" not in raw_phone else None
        if operator_phone is None:
            raise _Bad(COLUMNS["operator_phone"][0], _("电话号码格式不正确"))
        return PlaceRow(
            number=number,
            name=name[:100],
            place_type=kind.code,
            building=building,
            address=cells.get("address", "")[:200],
            unit=unit,
            operator=cells.get("operator", "")[:60],
            operator_phone=operator_phone,
        )

    def rows(self, table_rows: Iterable[tuple[int, list[str]]], columns: dict[str, int]) -> list[PlaceRow]:
        found = []
        for number, cells in table_rows:
            self.result.rows += 1
            if self.result.rows > MAX_ROWS:
                raise replace(Limits.from_settings(), rows=MAX_ROWS).too_many_rows()
            values = {key: cells[i].strip() if i < len(cells) else "" for key, i in columns.items()}
            try:
                row = self.row(number, values)
            except _Bad as bad:
                self.result.problems.append(Problem(number, bad.column, REJECTED, bad.reason))
                self.result.rejected += 1
                continue
            if row is None:
                self.result.unchanged += 1
            else:
                found.append(row)
        return found


def read_rows(*, data: bytes, file_name: str, by: Any, result: ImportResult) -> list[PlaceRow]:
    """The new places of a filled-in register; bad rows go into ``result`` with their reasons,
    places already registered count as unchanged. Raises ``ImportFileError`` for a file that
    cannot be read at all."""
    table = read_table(
        data,
        filename=file_name,
        is_header=_is_header,
        header_hint=_("找不到表头：表格前 %(n)d 行中须有一行包含“场所名称”“场所类型”和“楼栋”列")
        % {"n": HEADER_SEARCH_ROWS},
    )
    result.encoding = table.encoding
    columns = map_header(table.header, _INDEX)
    return _Reader(by=by, result=result).rows(table.rows, columns)
