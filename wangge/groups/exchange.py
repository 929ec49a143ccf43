"""A special-group or key-youth register as XLSX: the template to fill in, the export for
reporting upward (the same columns), and reading a filled-in file back for the import.

Columns carry the field names of the 综治 registers as GB/T 31000-2015 platforms print them
(公民身份号码, 列管日期, 关注程度, 释放日期, 目前危险性评估等级 …), each register only the fields it
records (``codes.REGISTER_DETAILS``), and coded values beside their names; a second sheet lists
the code tables (the register's standard code where one is set, the attention levels, the 0–5
risk levels of the health system). The export masks ID numbers and phones as the residents
export does and is audited with its purpose by ``queries.listings_export`` before the workbook is
built. The import's writes are ``actions.listings_import``; this module only reads and checks rows.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import unicodedata
from dataclasses import dataclass
from typing import Any

from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _

from wangge.core import idnumbers
from wangge.core.spreadsheet import register_workbook
from wangge.groups import codes
from wangge.groups.models import Listing, Register
from wangge.registry.importing import ImportResult, Problem
from wangge.registry.importing.columns import header_key, map_header, phone
from wangge.registry.importing.limits import Limits
from wangge.registry.importing.population import parse_date
from wangge.registry.importing.reading import read_table
from wangge.registry.importing.residents import REJECTED
from wangge.registry.models import Resident
from wangge.registry.queries import residents_visible_to

# One request writes the whole file in one transaction (a listing and its audit entry per row):
# a register is hundreds of people, a whole district's a few thousand.
MAX_ROWS = 5_000
DATE_KEYS = frozenset({"start", "release_date", "period_start", "period_end", "next_follow_up", "last_follow_up"})


@dataclass(frozen=True)
class Field:
    key: str
    label: Promise
    aliases: tuple[str, ...] = ()
    text: bool = False  # typed as text in the workbook (ID numbers, dates, phones)
    imported: bool = True  # False: written by the export, ignored by the import


PERSON = (
    Field("name", gettext_lazy("姓名"), ("姓名", "名字", "name")),
    Field(
        "id_number",
        gettext_lazy("公民身份号码"),
        ("公民身份号码", "证件号码", "身份证号", "身份证号码", "身份证", "idnumber"),
        text=True,
    ),
    Field("register_code", gettext_lazy("列管类别代码"), ("列管类别代码", "人员类别代码", "名册代码")),
    Field("register", gettext_lazy("列管类别"), ("列管类别", "人员类别", "名册"), imported=False),
    Field("start", gettext_lazy("列管日期"), ("列管日期", "列管时间", "纳入管理日期", "start"), text=True),
    Field("attention_code", gettext_lazy("关注程度代码"), ("关注程度代码",)),
    Field("attention", gettext_lazy("关注程度"), ("关注程度", "关注等级", "attention")),
    Field("follow_up_days", gettext_lazy("随访周期（天）"), ("随访周期", "随访周期天", "帮教周期")),
)
DETAILS = {
    field.key: field
    for field in (
        Field("release_date", gettext_lazy("释放日期"), ("释放日期", "刑满释放日期", "出狱日期"), text=True),
        Field(
            "period_start",
            gettext_lazy("期限开始日期"),
            ("期限开始日期", "安置帮教期开始日期", "帮教开始日期", "矫正开始日期", "矫正期开始日期"),
            text=True,
        ),
        Field(
            "period_end",
            gettext_lazy("期限结束日期"),
            ("期限结束日期", "安置帮教期结束日期", "帮教结束日期", "矫正结束日期", "矫正期结束日期"),
            text=True,
        ),
        Field("office", gettext_lazy("负责司法所"), ("负责司法所", "司法所", "负责机关", "矫正单位", "帮教单位")),
        Field(
            "risk_level",
            gettext_lazy("目前危险性评估等级"),
            ("目前危险性评估等级", "危险性评估等级", "危险等级", "风险等级"),
        ),
        Field("guardian_name", gettext_lazy("监护人姓名"), ("监护人姓名", "监护人")),
        Field(
            "guardian_phone",
            gettext_lazy("监护人联系方式"),
            ("监护人联系方式", "监护人电话", "监护人联系电话"),
            text=True,
        ),
    )
}
# The period's name on the registers that have one by law.
PERIOD_LABELS = {
    "released": (gettext_lazy("安置帮教期开始日期"), gettext_lazy("安置帮教期结束日期")),
    "youth_offender": (gettext_lazy("安置帮教期开始日期"), gettext_lazy("安置帮教期结束日期")),
    "correction": (gettext_lazy("矫正开始日期"), gettext_lazy("矫正结束日期")),
}
TAIL = (
    Field("next_follow_up", gettext_lazy("下次随访日期"), imported=False, text=True),
    Field("last_follow_up", gettext_lazy("最近随访日期"), imported=False, text=True),
    Field("responsible", gettext_lazy("责任人"), imported=False),
    Field("street", gettext_lazy("街道"), imported=False),
    Field("community", gettext_lazy("社区"), imported=False),
    Field("grid", gettext_lazy("网格"), imported=False),
)


def fields(register: Register) -> list[Field]:
    """The register's columns, in order."""
    keys = codes.REGISTER_DETAILS.get(register.code, codes.DEFAULT_DETAILS)
    details = [DETAILS[key] for key in keys]
    labels = PERIOD_LABELS.get(register.code)
    if labels:
        renamed = {"period_start": labels[0], "period_end": labels[1]}
        details = [dataclasses.replace(f, label=renamed[f.key]) if f.key in renamed else f for f in details]
    return [*PERSON, *details, *TAIL]


def _code_rows(register: Register) -> list[list[Any]]:
    english = (get_language() or "").startswith("en")
    rows: list[list[Any]] = [[_("列管类别"), register.standard_code or register.code, register.label()]]
    rows += [[_("关注程度"), value, str(label)] for value, label in Listing.Attention.choices]
    if "risk_level" in codes.REGISTER_DETAILS.get(register.code, codes.DEFAULT_DETAILS):
        rows += [[_("目前危险性评估等级"), code, en if english else zh] for code, zh, en in codes.RISK_LEVELS]
    return rows


def workbook(register: Register, rows: list[list[Any]]) -> bytes:
    columns = fields(register)
    return register_workbook(
        title=register.label(),
        header=[str(f.label) for f in columns],
        rows=rows,
        codes_title=_("代码表"),
        codes_header=[_("字段"), _("代码"), _("名称")],
        codes=_code_rows(register),
        text_columns=[index for index, f in enumerate(columns) if f.text],
    )


def template(register: Register) -> bytes:
    """The empty register with its code tables, for a district to fill in."""
    return workbook(register, [])


def _value(listing: Listing, key: str) -> Any:
    if key == "name":
        return listing.resident.name
    if key == "id_number":
        return idnumbers.mask(listing.resident.id_number)
    if key == "register_code":
        return listing.register.standard_code or listing.register.code
    if key == "register":
        return listing.register.label()
    if key == "attention_code":
        return listing.attention
    if key == "attention":
        return listing.get_attention_display()
    if key == "guardian_phone":
        return idnumbers.mask_phone(listing.guardian_phone) if listing.guardian_phone else ""
    if key == "responsible":
        return str(listing.responsible) if listing.responsible else ""
    if key in ("street", "community", "grid"):
        area = getattr(listing, key)
        return (area.short_name or area.name) if area else ""
    value = getattr(listing, key)
    if isinstance(value, dt.date):
        return value.isoformat()
    return "" if value is None else value


def export_rows(register: Register, listings: list[Listing]) -> list[list[Any]]:
    columns = fields(register)
    return [[_value(listing, f.key) for f in columns] for listing in listings]


def filename(register: Register, kind: str) -> str:
    return f"register-{register.code}-{kind}-{timezone.localdate():%Y%m%d}.xlsx"


# Reading a filled-in register back


@dataclass
class Row:
    number: int
    resident: Resident
    start: dt.date
    attention: str
    follow_up_days: int | None
    details: dict[str, Any]


def _header_index(register: Register) -> dict[str, str]:
    index: dict[str, str] = {}
    for f in [*fields(register), *DETAILS.values()]:
        for word in (*f.aliases, f.key, str(f.label)):
            index.setdefault(header_key(word), f.key)
    return index


def _is_header(index: dict[str, str]) -> Any:
    def check(row: list[str]) -> bool:
        found = {index.get(header_key(text)) for text in row}
        return "name" in found and "id_number" in found

    return check


def _attention(text: str) -> str | None:
    words = {header_key(v): v for v in Listing.Attention.values}
    for value, label in Listing.Attention.choices:
        words[header_key(str(label))] = value
    return words.get(header_key(text))


def _risk(text: str) -> int | None:
    text = unicodedata.normalize("NFKC", text).strip().removesuffix("级").strip()
    return int(text) if text.isdigit() and len(text) == 1 else None


class _Bad(Exception):
    def __init__(self, key: str, reason: str) -> None:
        super().__init__(reason)
        self.key = key
        self.reason = reason


class _Reader:
    """One file's rows, checked; every bad row becomes a ``Problem`` with its reason."""

    def __init__(self, *, register: Register, by: Any, result: ImportResult) -> None:
        self.register = register
        self.by = by
        self.result = result
        self.keys = {f.key for f in fields(register) if f.imported}
        self.labels = {f.key: str(f.label) for f in fields(register)}
        self.seen: dict[str, int] = {}

    def reject(self, number: int, bad: _Bad) -> None:
        column = self.labels.get(bad.key, "")
        self.result.problems.append(Problem(row=number, column=column, status=REJECTED, reason=bad.reason))
        self.result.rejected += 1

    def rows(self, table_rows: Any, columns: dict[str, int]) -> list[Row]:
        raw: list[tuple[int, dict[str, str]]] = []
        for number, cells in table_rows:
            self.result.rows += 1
            if self.result.rows > MAX_ROWS:
                raise dataclasses.replace(Limits.from_settings(), rows=MAX_ROWS).too_many_rows()
            raw.append((number, {key: cells[i].strip() if i < len(cells) else "" for key, i in columns.items()}))
        numbers = {self._id(cells.get("id_number", "")) for _n, cells in raw}
        residents = {r.id_number: r for r in residents_visible_to(self.by).filter(id_number__in=numbers - {""})}
        found = []
        for number, cells in raw:
            try:
                found.append(self.row(number, cells, residents))
            except _Bad as bad:
                self.reject(number, bad)
        return found

    @staticmethod
    def _id(text: str) -> str:
        return unicodedata.normalize("NFKC", text).strip().upper()

    def row(self, number: int, cells: dict[str, str], residents: dict[str, Resident]) -> Row:
        id_number = self._id(cells.get("id_number", ""))
        if not id_number:
            raise _Bad("id_number", _("请填写公民身份号码"))
        if "*" in id_number:
            raise _Bad("id_number", _("公民身份号码已脱敏（来自导出文件），请填写完整号码"))
        resident = residents.get(id_number)
        if resident is None or resident.status != Resident.Status.LIVING:
            raise _Bad("id_number", _("在您的辖区内找不到该证件号码的在住居民"))
        name = cells.get("name", "")
        if name and header_key(name) != header_key(resident.name):
            raise _Bad("name", _("姓名与该证件号码登记的居民不符"))
        if id_number in self.seen:
            raise _Bad("id_number", _("与第 %(row)d 行是同一人") % {"row": self.seen[id_number]})
        self.seen[id_number] = number
        code = cells.get("register_code", "")
        register = self.register
        if code and header_key(code) not in {header_key(register.code), header_key(register.standard_code or "")}:
            raise _Bad("register_code", _("列管类别代码与本名册不符"))
        start = parse_date(cells.get("start", ""))
        if start is None:
            raise _Bad("start", _("请填写列管日期（如 2024-03-01）"))
        attention_text = cells.get("attention_code") or cells.get("attention") or Listing.Attention.NORMAL
        attention = _attention(attention_text)
        if attention is None:
            raise _Bad("attention", _("未知的关注程度：%(value)s") % {"value": attention_text})
        days_text = cells.get("follow_up_days", "")
        days = int(days_text) if days_text.isdigit() else None
        if days_text and days is None:
            raise _Bad("follow_up_days", _("随访周期应为天数"))
        return Row(number, resident, start, attention, days, self.details(cells))

    def details(self, cells: dict[str, str]) -> dict[str, Any]:
        details: dict[str, Any] = {}
        for key in sorted(self.keys & set(DETAILS)):
            text = cells.get(key, "")
            if not text:
                continue
            if key in DATE_KEYS:
                value: Any = parse_date(text)
                if value is None:
                    raise _Bad(key, _("日期格式不正确：%(value)s") % {"value": text})
            elif key == "risk_level":
                value = _risk(text)
                if value is None:
                    raise _Bad(key, _("危险性评估等级应为 0–5 级"))
            elif key == "guardian_phone":
                value = phone(text) if "*" not in text else None
                if value is None:
                    raise _Bad(key, _("电话号码格式不正确"))
            else:
                value = text[:100] if key == "office" else text[:60]
            details[key] = value
        return details


def read_rows(*, data: bytes, file_name: str, register: Register, by: Any, result: ImportResult) -> list[Row]:
    """The good rows of a filled-in register; the bad ones go into ``result`` with their reasons.
    Raises ``ImportFileError`` when the file as a whole cannot be read."""
    index = _header_index(register)
    table = read_table(data, filename=file_name, is_header=_is_header(index))
    result.encoding = table.encoding
    columns = map_header(table.header, index)
    return _Reader(register=register, by=by, result=result).rows(table.rows, columns)
