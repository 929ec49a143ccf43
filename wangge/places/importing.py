"""Importing units (实有单位) from the register's XLSX template, its export or a district's own table.

Every row is validated first (a per-row report of what was rejected or warned about, as for the
residents import), then everything is written in bulk in one transaction together with the
import's audit entry: a failing audit writes nothing. Rows are matched to the register by unified
social credit code, or, for a unit without one, by community, building and name, so importing
the same file again changes nothing. Blank cells keep what the register holds, and so does a
masked phone (``138****5678``, as the export writes it): re-importing an export loses no number.
A building the community does not have yet is created, to be located later, as the residents
import does.
"""

from __future__ import annotations

import re
import time
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from wangge.accounts import policy
from wangge.areas.models import Building
from wangge.core import bulk
from wangge.core.audit import Action, audit, recorded_user
from wangge.places import creditcode
from wangge.places.models import Unit, UnitImport, UnitKind
from wangge.registry.importing import columns as cols
from wangge.registry.importing.reading import read_table
from wangge.registry.importing.residents import (
    REJECTED,
    WARNING,
    Problem,
    _Communities,
    _fold,
    allowed_communities,
    building_name,
)

SHOWN_PROBLEMS = 50  # rejected rows and warnings kept on the run record
IN_CHUNK = 900  # ids per ``IN (...)``: under SQLite's historical limit of 999 parameters
NAME_MAX = Unit._meta.get_field("name").max_length or 100
LEGAL_REP_MAX = Unit._meta.get_field("legal_rep").max_length or 60
PARTY_NAME_MAX = Unit._meta.get_field("party_org_name").max_length or 100
ADDRESS_MAX = Unit._meta.get_field("address").max_length or 200
BUILDING_MAX = Building._meta.get_field("name").max_length or 60

# Column key → header words (folded as the residents import folds headers). The export's own
# headers come first; street and grid are read from the building, so they are not columns here.
COLUMNS: dict[str, tuple[str, ...]] = {
    "name": ("单位名称", "名称", "企业名称", "组织名称", "unitname", "name"),
    "credit_code": ("统一社会信用代码", "社会信用代码", "信用代码", "creditcode"),
    "kind_code": ("单位类别代码", "单位类型代码", "kindcode"),
    "kind": ("单位类别", "单位类型", "类别", "kind"),
    "legal_rep": ("法定代表人（负责人）", "法定代表人", "负责人", "法人", "法人代表", "legalrep"),
    "phone": ("联系电话", "电话", "负责人电话", "法定代表人电话", "phone"),
    "staff_count": ("从业人员数", "从业人数", "员工人数", "职工人数", "staffcount"),
    "party_code": ("党组织情况代码", "党组织代码", "partyorgcode"),
    "party_org": ("党组织", "党组织情况", "partyorg"),
    "party_name": ("党组织名称", "partyorgname"),
    "party_members": ("党员人数", "partymembers"),
    "community": ("社区", "社区名称", "社区代码", "所属社区", "居委会", "community"),
    "building": ("楼栋", "楼号", "楼栋号", "building"),
    "address": ("地址", "详细地址", "单位地址", "经营地址", "address"),
}
_HEADER_INDEX = {cols.header_key(word): key for key, words in COLUMNS.items() for word in words}
_MASKED = re.compile(r"[*＊•●]")


def map_header(header: list[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for index, text in enumerate(header):
        key = _HEADER_INDEX.get(cols.header_key(text))
        if key and key not in found:
            found[key] = index
    return found


def is_header(row: list[str]) -> bool:
    found = map_header(row)
    return "name" in found and ("credit_code" in found or "legal_rep" in found)


def _no_header() -> str:
    return _("找不到表头：表格前 20 行中须有一行包含“单位名称”和“统一社会信用代码”（或“法定代表人”）两列")


@dataclass
class UnitImportResult:
    file_name: str
    encoding: str = ""
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    warned: int = 0
    buildings_created: int = 0
    seconds: float = 0.0
    problems: list[Problem] = field(default_factory=list)
    run_id: int | None = None  # the run record (``UnitImport``) that can undo it

    @property
    def summary(self) -> str:
        return _("导入单位 %(created)d 个，更新 %(updated)d 个，未变 %(unchanged)d 个，拒绝 %(rejected)d 行") % {
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "rejected": self.rejected,
        }

    @property
    def rejections(self) -> list[Problem]:
        return [problem for problem in self.problems if problem.status == REJECTED]

    @property
    def warnings(self) -> list[Problem]:
        return [problem for problem in self.problems if problem.status == WARNING]

    def counts(self) -> dict[str, int]:
        names = ("rows", "created", "updated", "unchanged", "rejected", "warned", "buildings_created")
        return {name: getattr(self, name) for name in names}


@dataclass(slots=True)
class Row:
    number: int
    name: str
    name_key: str
    credit_code: str
    kind: str | None  # None: blank, keep what the register has (a new unit needs one)
    legal_rep: str
    phone: str | None  # None: blank or masked, keep what the register has
    staff_count: int | None
    party_org: str | None
    party_org_name: str
    party_members: int | None
    community: Any
    building: str
    building_key: str
    address: str


def _lookup_kinds() -> dict[str, str]:
    """Unit kinds by standard code, code, name, English name and aliases → code."""
    found: dict[str, str] = {}
    for kind in UnitKind.objects.order_by("order", "id"):
        words = (kind.standard_code, kind.code, kind.name, kind.name_en, *re.split(r"[,，、]", kind.aliases))
        for word in words:
            if word and word.strip():
                found.setdefault(cols.header_key(word), kind.code)
    return found


_PARTY = {
    cols.header_key(word): value
    for value, label in Unit.PartyOrg.choices
    for word in (value, str(label), *(["无", "未建立", "没有"] if value == Unit.PartyOrg.NONE else []))
}


def _count(text: str) -> int | None:
    """``12``, ``１２``, ``12人`` → 12; ``None`` when not a whole number of at most 7 digits."""
    text = unicodedata.normalize("NFKC", text).strip().removesuffix("人").strip()
    if text.endswith(".0"):  # a number cell that a spreadsheet wrote as a float
        text = text[:-2]
    return int(text) if text.isdigit() and len(text) <= 7 else None


class _Validator:
    def __init__(self, *, header: list[str], allowed: set[int] | None, result: UnitImportResult) -> None:
        self.index = map_header(header)
        self.labels = {key: header[i] for key, i in self.index.items()}
        self.allowed = allowed
        self.result = result
        self.communities = _Communities()
        self.kinds = _lookup_kinds()
        self.seen_codes: dict[str, int] = {}
        self.seen_names: dict[tuple[int, str, str], int] = {}
        self.buildings: dict[str, tuple[str, str]] = {}

    def label(self, key: str) -> str:
        return self.labels.get(key) or COLUMNS[key][0]

    def rows(self, rows: Iterable[tuple[int, list[str]]]) -> Iterator[Row]:
        for number, cells in rows:
            self.result.rows += 1
            row = self.row(number, cells)
            if row is not None:
                yield row

    def row(self, number: int, cells: list[str]) -> Row | None:
        width = len(cells)

        def cell(key: str) -> str:
            i = self.index.get(key)
            return cells[i].strip() if i is not None and i < width else ""

        problems: list[Problem] = []

        def reject(key: str, reason: str) -> None:
            problems.append(Problem(number, self.label(key), REJECTED, reason))

        def warn(key: str, reason: str) -> None:
            problems.append(Problem(number, self.label(key), WARNING, reason))

        name = re.sub(r"\s+", " ", cell("name")).strip()  # as written: （分店） stays full-width
        if not name:
            reject("name", _("缺少单位名称"))
        elif len(name) > NAME_MAX:
            reject("name", _("单位名称超过 %(n)d 个字") % {"n": NAME_MAX})

        code = creditcode.normalise(unicodedata.normalize("NFKC", cell("credit_code")))
        if code and not creditcode.is_valid(code):
            # A typo is far likelier than one of the few early pilot codes, which the unit's own
            # form registers (marked unchecked) when asked to.
            reject("credit_code", _("统一社会信用代码无效（应为 18 位，且校验码正确）"))
        if code:
            first = self.seen_codes.setdefault(code, number)
            if first != number:
                reject("credit_code", _("统一社会信用代码与第 %(row)d 行重复") % {"row": first})

        kind: str | None = None
        kind_text = cell("kind_code") or cell("kind")
        if kind_text:
            kind = self.kinds.get(cols.header_key(kind_text))
            if kind is None and cell("kind_code") and cell("kind"):
                kind = self.kinds.get(cols.header_key(cell("kind")))
            if kind is None:
                reject("kind", _("未知的单位类别：%(name)s") % {"name": kind_text})

        legal_rep = cell("legal_rep")
        if len(legal_rep) > LEGAL_REP_MAX:
            reject("legal_rep", _("法定代表人（负责人）超过 %(n)d 个字") % {"n": LEGAL_REP_MAX})

        phone_text = cell("phone")
        phone: str | None = None
        if phone_text and not _MASKED.search(phone_text):
            phone = cols.phone(phone_text)
            if phone is None:
                reject("phone", _("联系电话格式不正确：应为11位手机号，或带区号的固定电话（如 0412-1234567）"))

        staff_count = party_members = None
        for key in ("staff_count", "party_members"):
            text = cell(key)
            if text:
                value = _count(text)
                if value is None:
                    reject(key, _("应为整数：%(text)s") % {"text": text})
                elif key == "staff_count":
                    staff_count = value
                else:
                    party_members = value

        party_org: str | None = None
        party_text = cell("party_code") or cell("party_org")
        if party_text:
            party_org = _PARTY.get(cols.header_key(party_text))
            if party_org is None and cell("party_org"):
                party_org = _PARTY.get(cols.header_key(cell("party_org")))
            if party_org is None:
                warn("party_org", _("无法识别的党组织情况“%(text)s”，已跳过（保持原有登记）") % {"text": party_text})
        party_org_name = cell("party_name")
        if len(party_org_name) > PARTY_NAME_MAX:
            reject("party_name", _("党组织名称超过 %(n)d 个字") % {"n": PARTY_NAME_MAX})

        community = None
        community_text = cell("community")
        if not community_text:
            reject("community", _("缺少社区"))
        else:
            community = self.communities.find(community_text)
            if community is None:
                reject("community", _("未知的社区：%(name)s") % {"name": community_text})
            elif community is _Communities.AMBIGUOUS:
                community = None
                reject("community", _("社区名称“%(name)s”不唯一，请填写12位区划代码") % {"name": community_text})
            elif self.allowed is not None and community.pk not in self.allowed:
                community = None
                reject("community", _("不在您的管辖范围内"))

        building_text = cell("building")
        if building_text not in self.buildings:
            folded = building_name(building_text)
            self.buildings[building_text] = (folded, _fold(folded))
        building, building_key = self.buildings[building_text]
        if not building:
            reject("building", _("缺少楼栋"))
        elif len(building) > BUILDING_MAX:
            reject("building", _("楼栋名称过长"))

        address = cell("address")
        if len(address) > ADDRESS_MAX:
            reject("address", _("地址超过 %(n)d 个字") % {"n": ADDRESS_MAX})

        name_key = _fold(name)
        if not code and community is not None and building:
            place = (community.pk, building_key, name_key)
            first = self.seen_names.setdefault(place, number)
            if first != number:
                reject(
                    "name",
                    _("同一楼栋的同名单位与第 %(row)d 行重复（无统一社会信用代码时按名称识别）") % {"row": first},
                )

        if any(problem.status == REJECTED for problem in problems):
            self.result.rejected += 1
            self.result.problems.extend(problems)
            return None
        if problems:
            self.result.warned += 1
            self.result.problems.extend(problems)
        return Row(
            number=number,
            name=name,
            name_key=name_key,
            credit_code=code,
            kind=kind,
            legal_rep=legal_rep,
            phone=phone,
            staff_count=staff_count,
            party_org=party_org,
            party_org_name=party_org_name,
            party_members=party_members,
            community=community,
            building=building,
            building_key=building_key,
            address=address,
        )


# What an import may change on a unit: compared with the register to tell "updated" from "unchanged".
CHANGEABLE = (
    "name",
    "kind_id",
    "credit_code_checked",
    "legal_rep",
    "legal_rep_phone",
    "staff_count",
    "party_org",
    "party_org_name",
    "party_members",
    "address",
    "building_id",
    "room_id",
    "grid_id",
    "community_id",
    "street_id",
    "district_id",
)
LOADED = ("id", "credit_code", *CHANGEABLE)
SCOPE = ("grid_id", "community_id", "street_id", "district_id")


def _chunks(items: list[Any], size: int = IN_CHUNK) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class _Writer:
    def __init__(
        self, *, by: Any, allowed: set[int] | None, result: UnitImportResult, file_name: str, run: UnitImport
    ) -> None:
        self.by = recorded_user(by)
        self.allowed = allowed
        self.result = result
        self.file_name = file_name
        self.run = run
        self.now = timezone.now()

    def write(self, rows: list[Row]) -> None:
        buildings = self._buildings(rows)
        by_code, by_name = self._existing(rows, buildings)
        created: list[dict[str, Any]] = []
        changed: list[dict[str, Any]] = []
        for row in rows:
            building = buildings[(row.community.pk, row.building_key)]
            old = by_code.get(row.credit_code) if row.credit_code else None
            if old is None:
                old = by_name.get((building["building_id"], row.name_key))
            if old is not None and self.allowed is not None and old["community_id"] not in self.allowed:
                self.result.rejected += 1
                self.result.problems.append(
                    Problem(row.number, COLUMNS["name"][0], REJECTED, _("该单位已登记在您的管辖范围以外"))
                )
                continue
            if old is None and (row.kind is None or not row.legal_rep):
                self.result.rejected += 1
                for key, missing in (("kind", row.kind is None), ("legal_rep", not row.legal_rep)):
                    if missing:
                        reason = _("新登记的单位须填写%(column)s") % {"column": COLUMNS[key][0]}
                        self.result.problems.append(Problem(row.number, COLUMNS[key][0], REJECTED, reason))
                continue
            values = self._values(row, old, building)
            if old is None:
                created.append(values)
            elif tuple(values[name] for name in CHANGEABLE) != tuple(old[name] for name in CHANGEABLE):
                changed.append({**values, "id": old["id"]})
            else:
                self.result.unchanged += 1
        bulk.insert(Unit, created)
        bulk.update(Unit, changed, key="id")
        self.result.created += len(created)
        self.result.updated += len(changed)

    def _values(self, row: Row, old: dict[str, Any] | None, building: dict[str, Any]) -> dict[str, Any]:
        def keep(value: Any, name: str, default: Any) -> Any:
            if value is not None:
                return value
            return old[name] if old is not None else default

        same_building = old is not None and old["building_id"] == building["building_id"]
        values = {
            "name": row.name,
            "kind_id": keep(row.kind, "kind_id", None),
            "credit_code": row.credit_code or (old["credit_code"] if old else ""),
            "credit_code_checked": True if row.credit_code else keep(None, "credit_code_checked", True),
            "legal_rep": row.legal_rep or (old["legal_rep"] if old else ""),
            "legal_rep_phone": keep(row.phone, "legal_rep_phone", ""),
            "staff_count": keep(row.staff_count, "staff_count", None),
            "party_org": keep(row.party_org, "party_org", Unit.PartyOrg.NONE),
            "party_org_name": row.party_org_name or (old["party_org_name"] if old else ""),
            "party_members": keep(row.party_members, "party_members", None),
            "address": self._address(row, old),
            "building_id": building["building_id"],
            # A unit in a room keeps it while it stays in that building.
            "room_id": old["room_id"] if same_building and old is not None else None,
            **{name: building[name] for name in SCOPE},
        }
        if old is None:
            values["created_by_id"] = self.by.pk if self.by is not None else None
            values["created_at"] = self.now
            values["import_run_id"] = self.run.pk
        elif same_building and old["room_id"] is not None:
            for name in SCOPE:  # a room's scope is the room's own (copied from its building)
                values[name] = old[name]
        return values

    @staticmethod
    def _address(row: Row, old: dict[str, Any] | None) -> str:
        """The address as written, except the one the export prints for a unit without its own
        (the building's name, or its room's address, which starts with it): that is blank."""
        kept = old["address"] if old else ""
        if not row.address:
            return kept
        if not kept and (
            row.address == row.building or (old and old["room_id"] and row.address.startswith(row.building))
        ):
            return ""
        return row.address

    def _buildings(self, rows: list[Row]) -> dict[tuple[int, str], dict[str, Any]]:
        """The rows' buildings, with their area columns; missing ones created, to be located."""
        communities = list({row.community.pk for row in rows})
        found: dict[tuple[int, str], dict[str, Any]] = {}
        for ids in _chunks(communities):
            for pk, name, grid, community, street, district in Building.objects.filter(
                community_id__in=ids
            ).values_list("id", "name", "grid_id", "community_id", "street_id", "district_id"):
                found.setdefault(
                    (community, _fold(name)),
                    {
                        "building_id": pk,
                        "grid_id": grid,
                        "community_id": community,
                        "street_id": street,
                        "district_id": district,
                    },
                )
        missing: dict[tuple[int, str], Building] = {}
        for row in rows:
            key = (row.community.pk, row.building_key)
            if key not in found and key not in missing:
                area = row.community
                missing[key] = Building(
                    name=row.building,
                    community_id=area.pk,
                    street_id=area.street_id,
                    district_id=area.district_id,
                    needs_location=True,
                )
        if missing:
            Building.objects.bulk_create(missing.values(), batch_size=2000)
            for key, building in missing.items():
                found[key] = {
                    "building_id": building.pk,
                    "grid_id": None,
                    "community_id": building.community_id,
                    "street_id": building.street_id,
                    "district_id": building.district_id,
                }
            self.result.buildings_created += len(missing)
            self.run.buildings = [building.pk for building in missing.values()]
        return found

    def _existing(
        self, rows: list[Row], buildings: dict[tuple[int, str], dict[str, Any]]
    ) -> tuple[dict[str, dict[str, Any]], dict[tuple[int, str], dict[str, Any]]]:
        """Units already registered under the rows' credit codes, and those in the rows' buildings
        (matched by name when a row has no code)."""
        by_code: dict[str, dict[str, Any]] = {}
        for codes in _chunks([row.credit_code for row in rows if row.credit_code]):
            for values in Unit.objects.filter(credit_code__in=codes).values(*LOADED):
                by_code[values["credit_code"]] = values
        by_name: dict[tuple[int, str], dict[str, Any]] = {}
        uncoded = {
            buildings[(row.community.pk, row.building_key)]["building_id"] for row in rows if not row.credit_code
        }
        for ids in _chunks(list(uncoded)):
            for values in Unit.objects.filter(building_id__in=ids).values(*LOADED):
                by_name.setdefault((values["building_id"], _fold(values["name"])), values)
        return by_code, by_name


def import_units(*, data: bytes, file_name: str, by: Any = None) -> UnitImportResult:
    """Import a table of units as ``by`` (``None``: an operator, unrestricted).

    Raises ``PermissionDenied`` for a user who may not import and ``ImportFileError``
    when the file as a whole cannot be read (nothing is written then); bad rows are reported in
    the result and never stop good ones.
    """
    if by is not None and not policy.can_import(by):
        raise PermissionDenied(_("您没有导入单位的权限。"))
    started = time.monotonic()
    table = read_table(data, filename=file_name, is_header=is_header, header_hint=_no_header())
    result = UnitImportResult(file_name=file_name, encoding=table.encoding)
    allowed = allowed_communities(by)
    validator = _Validator(header=table.header, allowed=allowed, result=result)
    rows = list(validator.rows(table.rows))  # the whole file is read before anything is written
    with transaction.atomic():
        run = UnitImport.objects.create(file_name=file_name[:255], created_by=recorded_user(by))
        _Writer(by=by, allowed=allowed, result=result, file_name=file_name, run=run).write(rows)
        result.problems.sort(key=lambda problem: problem.row)
        result.run_id = run.pk
        run.counts = {
            **result.counts(),
            "rejections": [[p.row, p.column, p.reason] for p in result.rejections[:SHOWN_PROBLEMS]],
            "warnings": [[p.row, p.column, p.reason] for p in result.warnings[:SHOWN_PROBLEMS]],
        }
        run.save(update_fields=["counts", "buildings"])
        audit(
            actor=by,
            action=Action.IMPORT,
            object_type="places.unit",
            summary=_("导入实有单位表 %(file)s：%(summary)s") % {"file": file_name, "summary": result.summary},
            detail={"file": file_name, "encoding": result.encoding, **result.counts()},
        )
    result.seconds = round(time.monotonic() - started, 2)
    return result
