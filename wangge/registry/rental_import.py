"""Reading a filled-in rentals register (出租房屋: the template or an export of ``room_export``) back
for ``room_actions.rentals_import``: each row checked, the bad ones reported with their reasons.

The template's columns are the export's. A row names its room by building (by name, among the
importer's buildings, narrowed by the community when two share a name), entrance and room
number; a room not registered yet is made at import. Street, grid, the tenant count, the
tenants' names and the next inspection date are written by the export and ignored here (the
next date follows from the last inspection and the hazard level).
A lease already registered for the room with the same start and end is left as it is, so a file
imported twice (or an export imported back) registers nothing new.

Tenants are linked residents, named by their document numbers (承租人证件号码: the national ID
or any other document a resident is registered with, several separated by 、 , ; or spaces),
matched among the residents the importer may see. A number not found there (not registered, or
registered outside the importer's areas: the two read alike, so the import tells nobody who
lives where they may not see), a resident registered as moved out or deceased, and a masked
number (from an export) not matching a tenant already linked are warnings of the row: the lease
imports, the tenant is not linked, and the report says which and why. On a lease already
registered, the tenants named and not yet linked are added and none is removed (a file that
leaves someone out is not a statement that they left), so the same file twice adds nothing.

Scope: a building or room outside the importer's areas is refused with that reason (a grid
worker imports into their grid only). Building names are not personal data; nothing about the
rentals or people outside the importer's areas is read.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from wangge.areas.models import Building
from wangge.core import documents, idnumbers
from wangge.core.scope import area_filter
from wangge.registry.importing import ImportResult, Problem
from wangge.registry.importing.columns import header_key, phone
from wangge.registry.importing.population import parse_date
from wangge.registry.importing.reading import HEADER_SEARCH_ROWS
from wangge.registry.importing.residents import WARNING
from wangge.registry.models import NO_HAZARD, HazardLevel, Rental, Resident, Room
from wangge.registry.queries import residents_visible_to
from wangge.registry.room_import import ADDRESS_COLUMNS, AddressReader, code_index, column_index, read_cells
from wangge.registry.room_import import Bad as _Bad
from wangge.registry.room_import import clean as _text

# Column key → the headers that name it (the template's own first); other columns are ignored.
COLUMNS = {
    **ADDRESS_COLUMNS,
    "landlord": (gettext_lazy("出租人"), "出租人姓名", "房东", "房主"),
    "landlord_phone": (gettext_lazy("出租人电话"), "出租人联系电话", "房东电话", "联系电话"),
    "tenant_names": (gettext_lazy("承租人姓名"), "承租人", "租户姓名", "租客姓名"),
    "tenant_numbers": (
        gettext_lazy("承租人证件号码"),
        "承租人公民身份号码",
        "承租人身份证号码",
        "承租人身份证号",
        "承租人证件号",
        "租户身份证号码",
        "租户身份证号",
        "租客身份证号",
    ),
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
# Between the numbers of one cell: 、 , ; (full-width ones are folded by NFKC first) and spaces.
TENANT_SEPARATORS = re.compile(r"[、,;/\s]+")
IN_CHUNK = 900  # numbers per ``IN (...)``: under SQLite's historical limit of 999 parameters
# An ID number Excel turned into a number (2.10304E+17), as the residents import recognises it.
SCIENTIFIC = re.compile(r"\d(\.\d+)?[eE]\+?\d+")


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
    tenants: list[Resident] = field(default_factory=list)  # to link: all, or those not linked yet
    rental_id: int | None = None  # a lease registered already, which only gains ``tenants``
    warnings: list[str] = field(default_factory=list)  # about the tenant column, reported once written


def tenant_numbers(text: str) -> list[str]:
    """The document numbers of a tenants cell, as the registry stores them (``documents.normalise``),
    each once; a masked number (``210304********123X``) is kept masked."""
    numbers = [documents.normalise(part) for part in TENANT_SEPARATORS.split(_text(text))]
    return list(dict.fromkeys(number for number in numbers if number))


def _candidates(number: str) -> tuple[str, ...]:
    """The stored forms a number may have: as typed, and a national ID's 18 digits (a 15-digit
    old number, a lower-case x)."""
    try:
        national = idnumbers.parse(number).number
    except idnumbers.InvalidIDNumber:
        return (number,)
    return (number, national) if national != number else (number,)


def warn(result: ImportResult, number: int, warnings: list[str]) -> None:
    """Report a row's warnings about its tenants, once the row is written or left as registered
    (a row refused by the writing action has only its refusal)."""
    for reason in warnings:
        result.problems.append(Problem(number, label("tenant_numbers"), WARNING, reason))
    if warnings:
        result.warned += 1


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
        # (room, start, end) → the lease registered already; its tenants the importer may see
        # (their numbers → resident).
        self.existing: dict[tuple[int, dt.date, dt.date], int] = {}
        self.linked: dict[int, dict[str, int]] = {}
        self.seen: dict[tuple[int, str, str, dt.date], int] = {}
        self.residents = self._residents_named()

    def _residents_named(self) -> dict[str, Resident]:
        """The residents the file names as tenants, among those the importer may see, by number."""
        wanted = sorted(
            {
                candidate
                for _number, cells in self.raw
                for number in tenant_numbers(cells.get("tenant_numbers", ""))
                if "*" not in number
                for candidate in _candidates(number)
            }
        )
        residents = Resident.objects.all() if self.by is None else residents_visible_to(self.by)  # None: an operator
        found: dict[str, Resident] = {}
        for start in range(0, len(wanted), IN_CHUNK):
            for resident in residents.filter(id_number__in=wanted[start : start + IN_CHUNK]).only(
                "id", "id_number", "name", "status"
            ):
                found[resident.id_number] = resident
        return found

    def loaded(self, chunk: list[int]) -> None:
        running = Rental.objects.filter(room__building_id__in=chunk, ended__isnull=True)
        leases = {
            (room, start, end): pk for pk, room, start, end in running.values_list("pk", "room_id", "start", "end")
        }
        self.existing.update(leases)
        tenancies = Rental.tenants.through.objects.filter(rental_id__in=list(leases.values()))  # type: ignore[attr-defined]
        if self.by is not None:
            tenancies = tenancies.filter(area_filter(self.by, prefix="resident__"))
        for rental, resident, number in tenancies.values_list("rental_id", "resident_id", "resident__id_number"):
            self.linked.setdefault(rental, {})[number] = resident

    def tenants(self, cells: dict[str, str], linked: dict[str, int]) -> tuple[list[Resident], list[str]]:
        """The residents a row names as tenants and not ``linked`` yet, and a warning for each
        number that links no one."""
        numbers = tenant_numbers(cells.get("tenant_numbers", ""))
        if not numbers:
            if _text(cells.get("tenant_names", "")):
                return [], [
                    _("承租人按证件号码关联：请在“%(column)s”列填写承租人的证件号码")
                    % {"column": label("tenant_numbers")}
                ]
            return [], []
        masks = {idnumbers.mask(number) for number in linked}
        found: list[Resident] = []
        warnings: list[str] = []
        for number in numbers:
            if "*" in number:
                if number not in masks:
                    warnings.append(
                        _("承租人证件号码 %(number)s 已隐藏中间位（来自导出文件），无法关联，请填写完整号码")
                        % {"number": number}
                    )
                continue
            if SCIENTIFIC.fullmatch(number):
                warnings.append(_("身份号码被 Excel 存成了数字（科学计数法），请将该列设为文本格式后重新填写"))
                continue
            candidates = _candidates(number)
            if any(candidate in linked for candidate in candidates):
                continue
            resident = next((self.residents[c] for c in candidates if c in self.residents), None)
            if resident is None:
                warnings.append(
                    _("在您的辖区内找不到证件号码为 %(number)s 的居民（未登记或不在您的管辖范围内），未关联为承租人")
                    % {"number": idnumbers.mask(number)}
                )
            elif resident.status != Resident.Status.LIVING:
                warnings.append(
                    _("证件号码为 %(number)s 的居民登记为“%(status)s”，未关联为承租人")
                    % {"number": idnumbers.mask(number), "status": resident.get_status_display()}
                )
            elif resident not in found:
                found.append(resident)
        return found, warnings

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
        registered = self.existing.get((room.pk, start, end)) if room is not None else None
        if registered is not None:
            # Registered already: left as it is but for the tenants it names and lacks.
            tenants, warnings = self.tenants(cells, self.linked.get(registered, {}))
            if not tenants:
                warn(self.result, number, warnings)
                return None
            return RentalRow(
                number, building, entrance, room_number, room, "", "", "", None, start, end, NO_HAZARD, None,
                tenants=tenants, rental_id=registered, warnings=warnings,
            )  # fmt: skip
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
        tenants, warnings = self.tenants(cells, {})
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
            tenants=tenants,
            warnings=warnings,
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
