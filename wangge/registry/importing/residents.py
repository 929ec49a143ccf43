"""Importing residents: every row validated in Python, then written in bulk, chunk by chunk.

The file is streamed in chunks of ``WANGGE_IMPORT_CHUNK_ROWS`` rows (default 500); each chunk
is validated first (outside any transaction, search keys included: their pinyin was a third of
a chunk's time under SQLite's write lock), then preloads what already exists (buildings,
households, residents by ID number) with a few queries, creates and updates rows with
``wangge.core.bulk`` (named rows, one prepared statement each) and writes the search keys with
``search.write_search_keys``, as every other writer of them does.

Each chunk is its own short transaction, together with the import's record
(``ResidentImport``: the chunks done, the counts, the buildings made); residents, households and
care tags it creates carry the record, so the import can be undone as a whole
(``registry.imports``). Other writers (location fixes, page saves) take turns between chunks
instead of waiting for the whole file, which on SQLite made them fail with "database is
locked". A chunk that fails is rolled back alone: the chunks before it stay, the import is
recorded as not finished, with the rows it stopped at. Running the same file again matches
every row by ID number and adds nothing; it also finishes an import that stopped.

Blank cells never erase what the registry already holds, and care categories are only ever
added: a spreadsheet that leaves a column empty is not a statement that the fact is gone.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import re
import time
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from operator import itemgetter
from typing import Any, NamedTuple

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from wangge.areas.models import Area, Building
from wangge.core import bulk, idnumbers
from wangge.core.audit import Action, audit, recorded_user
from wangge.core.chinese import to_simplified
from wangge.core.scope import assigned_areas
from wangge.registry import search
from wangge.registry.importing import columns as cols
from wangge.registry.importing import population as pop
from wangge.registry.importing.reading import ImportFileError, read_table
from wangge.registry.models import (
    RESIDENCE,
    CareCategory,
    CareTag,
    Household,
    LifeEvent,
    Resident,
    ResidentImport,
    Room,
    floor_of,
)

logger = logging.getLogger(__name__)

BATCH = 5_000
IN_CHUNK = 900  # ids per ``IN (...)``: under SQLite's historical limit of 999 parameters

REJECTED = "rejected"
WARNING = "warning"
SKIPPED = "skipped"

NAME_MAX = Resident._meta.get_field("name").max_length or 60
BUILDING_MAX = Building._meta.get_field("name").max_length or 60
ENTRANCE_MAX = Household._meta.get_field("entrance").max_length or 10
ROOM_MAX = Household._meta.get_field("room").max_length or 20
_CJK_NAME = re.compile(r"[\u3400-\u9fff\uf900-\ufaff\U00020000-\U0003ffff·•\s]+")
_SPACE = re.compile(r"\s")
_SCIENTIFIC = re.compile(r"\d(\.\d+)?[eE]\+?\d+")


@dataclass(frozen=True)
class Problem:
    row: int
    column: str
    status: str
    reason: str

    @property
    def status_label(self) -> str:
        return {REJECTED: _("拒绝"), WARNING: _("警告"), SKIPPED: _("跳过")}[self.status]


@dataclass
class ImportResult:
    file_name: str
    encoding: str = ""
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    warned: int = 0
    examples: int = 0  # the template's example rows, skipped
    buildings_created: int = 0
    households_created: int = 0
    search_keys: int = 0
    seconds: float = 0.0
    problems: list[Problem] = field(default_factory=list)
    run_id: int | None = None
    chunks: int = 0
    # Set when a chunk failed: its number, its first and last row, and the error.
    failure: dict[str, Any] | None = None

    @property
    def summary(self) -> str:
        text = _("导入 %(created)d 人，更新 %(updated)d 人，未变 %(unchanged)d 人，拒绝 %(rejected)d 行") % {
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "rejected": self.rejected,
        }
        if self.examples:
            text += _("，跳过示例行 %(n)d 行") % {"n": self.examples}
        if self.failure:
            text += _("；第 %(chunk)d 批（第 %(first)d–%(last)d 行）写入失败，导入未完成") % self.failure
        return text

    @property
    def skipped(self) -> list[Problem]:
        return [problem for problem in self.problems if problem.status == SKIPPED]

    @property
    def example_rows(self) -> str:
        return "、".join(str(problem.row) for problem in self.skipped)

    @property
    def rejections(self) -> list[Problem]:
        return [problem for problem in self.problems if problem.status == REJECTED]

    @property
    def warnings(self) -> list[Problem]:
        return [problem for problem in self.problems if problem.status == WARNING]

    def counts(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "rejected": self.rejected,
            "warned": self.warned,
            "examples": self.examples,
            "buildings_created": self.buildings_created,
            "households_created": self.households_created,
            "chunks": self.chunks,
            "failure": self.failure,
        }

    def restore(self, counts: dict[str, Any]) -> None:
        """Back to ``counts`` (from ``counts()``): a chunk that was rolled back counts for nothing."""
        for name in ("created", "updated", "unchanged", "buildings_created", "households_created"):
            setattr(self, name, counts[name])


@dataclass(slots=True)
class Row:
    number: int
    name: str
    id_number: str
    sex: str
    birth_date: dt.date
    phone: str | None  # None: blank, keep what the registry has
    community: Area
    building: str
    building_key: str  # folded for matching: 12號樓 and 12号楼 are one building
    entrance: str
    room: str
    relationship: str | None  # None: blank or unknown, keep what the registry has
    categories: list[int]
    person: pop.Person | None = None  # document and population type (importing.population)
    # The search keys for this name, number and phone (blank: ""), made while validating,
    # outside the write transaction (search.resident_keys).
    keys: tuple[str, ...] = ()


def chunk_rows() -> int:
    return int(settings.WANGGE_IMPORT_CHUNK_ROWS)


def start_import(*, file_name: str, digest: str = "", by: Any = None) -> ResidentImport:
    """The record of an import about to run (queued for the worker, or run inline)."""
    return ResidentImport.objects.create(file_name=file_name[:255], digest=digest, created_by=recorded_user(by))


Progress = Callable[[ImportResult, int], None]


def import_residents(
    *,
    data: bytes,
    file_name: str,
    by: Any = None,
    run: ResidentImport | None = None,
    progress: Progress | None = None,
) -> ImportResult:
    """Import a spreadsheet of residents as ``by`` (``None``: an operator, unrestricted).

    Raises ``ImportFileError`` when the file as a whole cannot be read (before anything is
    written or recorded); bad rows are reported in the result and never stop good ones. ``run``
    is the import's record when the caller made one (the worker's task); ``progress`` is called
    after every chunk with the result so far and the estimated number of rows.
    """
    started = time.monotonic()
    table = read_table(data, filename=file_name, is_header=cols.is_header)
    if run is None:
        run = start_import(file_name=file_name, digest=hashlib.sha256(data).hexdigest(), by=by)
    ResidentImport.objects.filter(pk=run.pk).update(status=ResidentImport.Status.RUNNING, error="")
    result = ImportResult(file_name=file_name, encoding=table.encoding, run_id=run.pk)
    validator = _Validator(header=table.header, by=by, result=result)
    writer = _Writer(
        by=by,
        result=result,
        allowed=validator.allowed,
        file_name=file_name,
        id_label=validator.label("id_number"),
        run=run,
    )
    size = chunk_rows()
    with bulk.large_cache():
        rows = validator.rows(table.rows)
        # Validation runs while the chunk is gathered, outside any transaction.
        while True:
            gathered = time.monotonic()
            try:
                chunk = list(islice(rows, size))
            except ImportFileError as exc:  # found only this far into the file
                result.failure = {
                    "chunk": result.chunks + 1,
                    "first": result.rows,
                    "last": result.rows,
                    "error": str(exc)[:500],
                }
                break
            if not chunk:
                break
            before = result.counts()
            asked = time.monotonic()
            try:
                with transaction.atomic():
                    locked = time.monotonic()
                    writer.write(chunk)
                    result.chunks += 1
                    ResidentImport.objects.filter(pk=run.pk).update(
                        chunks_done=result.chunks, counts=result.counts(), buildings=writer.created_buildings
                    )
                    written = time.monotonic()
            except Exception as exc:  # the chunk is rolled back; the ones before it stay
                result.restore(before)
                writer.forget_chunk()
                result.failure = {
                    "chunk": result.chunks + 1,
                    "first": chunk[0].number,
                    "last": chunk[-1].number,
                    "error": f"{type(exc).__name__}: {exc}"[:500],
                }
                break
            committed = time.monotonic()
            # How long other writers had to wait for this chunk (bench/import_concurrency.py).
            logger.debug(
                "chunk %d: %d rows, gathered %.3f s, lock wait %.3f s, held %.3f s (commit %.3f s) at %.3f",
                result.chunks,
                len(chunk),
                asked - gathered,
                locked - asked,
                committed - locked,
                committed - written,
                time.time(),
            )
            if progress is not None:
                progress(result, table.size_hint)
    result.problems.sort(key=lambda problem: problem.row)
    result.seconds = round(time.monotonic() - started, 2)
    with transaction.atomic():
        ResidentImport.objects.filter(pk=run.pk).update(
            status=ResidentImport.Status.FAILED if result.failure else ResidentImport.Status.DONE,
            counts=result.counts(),
            error=result.failure["error"] if result.failure else "",
            finished_at=timezone.now(),
        )
        audit(
            actor=by,
            action=Action.IMPORT,
            obj=run,
            summary=_("导入居民表 %(file)s：%(summary)s") % {"file": file_name, "summary": result.summary},
            detail={"file": file_name, "encoding": result.encoding, "import": run.pk, **result.counts()},
        )
    return result


def allowed_communities(user: Any) -> set[int] | None:
    """Communities the user may import into; ``None`` for an operator without a user."""
    if user is None:
        return None
    areas = assigned_areas(user)
    query = Area.objects.filter(level=Area.Level.COMMUNITY)
    ids: set[int] = set()
    if areas.get("community"):
        ids |= set(query.filter(pk__in=areas["community"]).values_list("pk", flat=True))
    if areas.get("street"):
        ids |= set(query.filter(street_id__in=areas["street"]).values_list("pk", flat=True))
    if areas.get("district"):
        ids |= set(query.filter(district_id__in=areas["district"]).values_list("pk", flat=True))
    return ids


def _fold(text: str) -> str:
    """Full-width to ASCII, no spaces, simplified characters, lower case: for matching only."""
    return to_simplified(re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))).lower()


def _short_community(text: str) -> str:
    for suffix, replacement in (("居民委员会", ""), ("居委会", ""), ("村民委员会", "村"), ("村委会", "村")):
        if text.endswith(suffix) and len(text) > len(suffix):
            return text[: -len(suffix)] + replacement
    return text


class _Communities:
    AMBIGUOUS = object()

    def __init__(self) -> None:
        self.by_key: dict[str, Any] = {}
        self.cache: dict[str, Any] = {}
        for area in Area.objects.filter(level=Area.Level.COMMUNITY).only(
            "id", "name", "short_name", "code", "street_id", "district_id"
        ):
            keys = {_fold(area.name), _short_community(_fold(area.name))}
            if area.short_name:
                keys |= {_fold(area.short_name), _short_community(_fold(area.short_name))}
            if area.code:
                keys.add(area.code.strip())
            for key in keys:
                known = self.by_key.get(key)
                self.by_key[key] = area if known is None or known.pk == area.pk else self.AMBIGUOUS

    def find(self, text: str) -> Any:
        if text not in self.cache:
            folded = _fold(text)
            self.cache[text] = self.by_key.get(folded) or self.by_key.get(_short_community(folded))
        return self.cache[text]


class _Categories:
    def __init__(self) -> None:
        self.by_key: dict[str, int] = {}
        for category in CareCategory.objects.all():
            names = [category.name, category.code, category.name_en, *re.split(r"[,，、;；]", category.aliases)]
            for name in names:
                if name.strip():
                    self.by_key.setdefault(_fold(name), category.pk)

    def find(self, text: str) -> int | None:
        return self.by_key.get(_fold(text))


def building_name(text: str) -> str:
    """``12`` and ``１２`` → ``12号楼``; anything else as written."""
    text = unicodedata.normalize("NFKC", text).strip()
    return f"{text}号楼" if text.isdigit() else text


def _entrance(text: str) -> str:
    if not text.isascii():
        text = to_simplified(unicodedata.normalize("NFKC", text).strip())
    return text[: -len("单元")].strip() if text.endswith("单元") else text


def _room(text: str) -> str:
    if not text.isascii():
        text = to_simplified(unicodedata.normalize("NFKC", text).strip())
    return text[:-1].strip() if text.endswith("室") and len(text) > 1 else text


def _name(text: str) -> str:
    text = text.strip()
    # Tables pad two-character names with a full-width space to line them up: 张　伟.
    if _SPACE.search(text) and _CJK_NAME.fullmatch(text):
        text = re.sub(r"\s+", "", text)
    return text


def _building(text: str) -> tuple[str, str]:
    name = building_name(text)
    return name, _fold(name)


def _phone(text: str) -> str | None:
    if len(text) == 11 and text.isdigit() and text[0] == "1":
        return text
    return cols.phone(text)


COLUMN_KEYS = tuple(column.key for column in cols.COLUMNS)
FOLDERS: dict[str, Any] = {
    "building": _building,
    "entrance": _entrance,
    "room": _room,
    "relationship": cols.relationship,
}


class _Validator:
    def __init__(self, *, header: list[str], by: Any, result: ImportResult) -> None:
        self.index = cols.map_header(header)
        self.labels = {key: header[i] or str(cols.COLUMN_BY_KEY[key].label) for key, i in self.index.items()}
        self.result = result
        self.allowed = allowed_communities(by)
        self.communities = _Communities()
        self.categories = _Categories()
        self.population = pop.Reader(present=self.index)
        self.folders = {**FOLDERS, "category": self.categories.find}
        self.seen: dict[str, int] = {}
        # Address parts and words repeat thousands of times in a district's table: fold each once.
        self.cached: dict[tuple[str, str], Any] = {}
        self.order = tuple(self.index.get(column.key) for column in cols.COLUMNS)
        self.default_community: Area | None = None
        if self.allowed is not None and len(self.allowed) == 1:
            self.default_community = Area.objects.get(pk=next(iter(self.allowed)))

    def label(self, key: str) -> str:
        return self.labels.get(key) or str(cols.COLUMN_BY_KEY[key].label)

    def rows(self, rows: Iterable[tuple[int, list[str]]]) -> Iterator[Row]:
        for number, cells in rows:
            self.result.rows += 1
            row = self.row(number, cells)
            if row is not None:
                yield row

    def fold(self, kind: str, text: str) -> Any:
        key = (kind, text)
        try:
            return self.cached[key]
        except KeyError:
            value = self.cached[key] = self.folders[kind](text)
            return value

    def row(self, number: int, cells: list[str]) -> Row | None:
        width = len(cells)
        values = dict(
            zip(
                COLUMN_KEYS,
                [cells[i].strip() if i is not None and i < width else "" for i in self.order],
                strict=True,
            )
        )
        cell = values.__getitem__

        if values["example"] or (values["name"] == cols.EXAMPLE_NAME and values["id_number"] == cols.EXAMPLE_ID_NUMBER):
            self.result.examples += 1
            self.result.problems.append(Problem(number, self.label("example"), SKIPPED, _("模板中的示例行，未导入")))
            return None

        rejections: list[Problem] = []
        warnings: list[Problem] = []

        def reject(key: str, reason: str) -> None:
            rejections.append(Problem(number, self.label(key), REJECTED, reason))

        def warn(key: str, reason: str) -> None:
            warnings.append(Problem(number, self.label(key), WARNING, reason))

        name = _name(cell("name"))
        if not name:
            reject("name", _("缺少姓名"))
        elif len(name) > NAME_MAX:
            reject("name", _("姓名超过 %(n)d 个字") % {"n": NAME_MAX})

        person = self.population.read(cell, reject, warn)
        parsed: idnumbers.IDNumber | pop.Number | None = None
        raw_id = cell("id_number")
        if not raw_id:
            reject("id_number", _("缺少公民身份号码"))
        elif _SCIENTIFIC.fullmatch(raw_id):
            reject("id_number", _("身份号码被 Excel 存成了数字（科学计数法），请将该列设为文本格式后重新填写"))
        elif person is not None and not person.national_id:
            parsed = self.population.number(person, raw_id, reject)
        else:
            try:
                parsed = idnumbers.parse(raw_id)
            except idnumbers.InvalidIDNumber as exc:
                reject("id_number", _("身份号码有误：%(reason)s") % {"reason": exc})
        if parsed is not None:
            first = self.seen.setdefault(parsed.number, number)
            if first != number:
                reject("id_number", _("身份号码与第 %(row)d 行重复") % {"row": first})
            for message in parsed.warnings:
                warn("id_number", message)
            if parsed.upgraded_from:
                warn("id_number", _("15位旧号码已按国家标准升级为18位"))

        phone = _phone(cell("phone"))  # not cached: nearly every number is different
        if phone is None:
            reject("phone", _("联系电话格式不正确：应为11位手机号，或带区号的固定电话（如 0412-1234567）"))

        community = None
        community_text = cell("community")
        if community_text:
            community = self.communities.find(community_text)
            if community is None:
                reject("community", _("未知的社区：%(name)s") % {"name": community_text})
            elif community is _Communities.AMBIGUOUS:
                community = None
                reject("community", _("社区名称“%(name)s”不唯一，请填写12位区划代码") % {"name": community_text})
            elif self.allowed is not None and community.pk not in self.allowed:
                community = None
                reject("community", _("不在您的管辖范围内"))
        elif self.default_community is not None:
            community = self.default_community
        else:
            reject("community", _("缺少社区"))

        building, building_key = self.fold("building", cell("building"))
        if not building:
            reject("building", _("缺少楼栋"))
        elif len(building) > BUILDING_MAX:
            reject("building", _("楼栋名称过长"))
        entrance = self.fold("entrance", cell("entrance"))
        if len(entrance) > ENTRANCE_MAX:
            reject("entrance", _("单元过长"))
        room = self.fold("room", cell("room"))
        if not room:
            reject("room", _("缺少房号"))
        elif len(room) > ROOM_MAX:
            reject("room", _("房号过长"))

        relationship = None
        relationship_text = cell("relationship")
        if relationship_text:
            relationship = self.fold("relationship", relationship_text)
            if relationship is None:
                warn(
                    "relationship",
                    _("无法识别的与户主关系“%(text)s”：新登记的居民记为“其他”，已登记的保持不变")
                    % {"text": relationship_text},
                )

        category_ids: list[int] = []
        categories_text = cell("categories")
        for text in cols.categories(categories_text) if categories_text else ():
            category = self.fold("category", text)
            if category is None:
                warn("categories", _("未知的人员类别“%(name)s”，已跳过") % {"name": text})
            elif category not in category_ids:
                category_ids.append(category)

        if rejections:
            self.result.rejected += 1
            self.result.problems.extend(rejections)
            return None
        if warnings:
            self.result.warned += 1
            self.result.problems.extend(warnings)
        assert parsed is not None and community is not None and phone is not None
        return Row(
            number=number,
            name=name,
            id_number=parsed.number,
            sex=parsed.sex,
            birth_date=parsed.birth_date,
            phone=phone or None,
            community=community,
            building=building,
            building_key=building_key,
            entrance=entrance,
            room=room,
            relationship=relationship,
            categories=category_ids,
            person=person,
            keys=search.resident_keys(name, parsed.number, phone),
        )


def _keys(row: Row, values: dict[str, Any]) -> tuple[str, ...] | None:
    """The row's ready search keys, unless the resident keeps a phone the file left blank."""
    return row.keys if values["phone"] == (row.phone or "") else None


def _chunks(items: list[Any], size: int = IN_CHUNK) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class Scope(NamedTuple):
    """Where a building's households and residents belong."""

    building_id: int
    grid_id: int | None
    community_id: int
    street_id: int
    district_id: int

    def areas(self) -> dict[str, int | None]:
        return {
            "grid_id": self.grid_id,
            "community_id": self.community_id,
            "street_id": self.street_id,
            "district_id": self.district_id,
        }


# What an import may change on a resident, compared with the file's values to tell "updated"
# from "unchanged"; the subset that changes a resident's search keys; everything loaded.
CHANGEABLE = (
    "name",
    "phone",
    "household_id",
    "relationship",
    "sex",
    "birth_date",
    "grid_id",
    "community_id",
    "street_id",
    "district_id",
    *pop.CHANGEABLE,
)
KEYED = ("name", "phone", "grid_id", "community_id", "street_id", "district_id")
RESIDENT_FIELDS = ("id", "id_number", *CHANGEABLE)
_changeable = itemgetter(*CHANGEABLE)
_keyed = itemgetter(*KEYED)

# Everything is remembered as tuples and dicts, not model instances, to keep half a million
# of them cheap.


class _Writer:
    def __init__(
        self,
        *,
        by: Any,
        result: ImportResult,
        allowed: set[int] | None,
        file_name: str,
        id_label: str,
        run: ResidentImport,
    ) -> None:
        self.by = recorded_user(by)
        self.run_id = run.pk
        self.created_buildings: list[int] = list(run.buildings)
        self.committed_buildings = len(self.created_buildings)
        self.result = result
        self.allowed = allowed
        self.file_name = file_name
        self.id_label = id_label
        # Keyed by (community id, folded name): 12號樓 in a traditional file is 12号楼.
        self.buildings: dict[tuple[int, str], Scope] = {}
        self.loaded_communities: set[int] = set()
        self.households: dict[tuple[int, str, str], list[int | None]] = {}  # → [id, head_id]
        self.rooms: dict[tuple[int, str, str], int] = {}  # (building, entrance, number) → room id
        self.loaded_buildings: set[int] = set()
        self.today = timezone.localdate()
        self.now = timezone.now()

    def write(self, rows: list[Row]) -> None:
        self._ensure_buildings(rows)
        self._ensure_households(rows)
        self._write_residents(rows)
        self.committed_buildings = len(self.created_buildings)

    def forget_chunk(self) -> None:
        """A chunk was rolled back: drop what it made from the record (the import stops there)."""
        del self.created_buildings[self.committed_buildings :]

    # --- buildings and households ----------------------------------------------------------

    def _ensure_buildings(self, rows: list[Row]) -> None:
        communities = {row.community.pk for row in rows}
        unloaded = [pk for pk in communities if pk not in self.loaded_communities]
        for ids in _chunks(unloaded):
            for pk, grid, community, street, district, name in Building.objects.filter(
                community_id__in=ids
            ).values_list("id", "grid_id", "community_id", "street_id", "district_id", "name"):
                self.buildings.setdefault((community, _fold(name)), Scope(pk, grid, community, street, district))
        self.loaded_communities.update(unloaded)
        missing: dict[tuple[int, str], Building] = {}
        for row in rows:
            key = (row.community.pk, row.building_key)
            if key in self.buildings:
                continue
            building = missing.get(key)
            if building is None:
                area = row.community
                building = missing[key] = Building(
                    name=row.building,
                    community_id=area.pk,
                    street_id=area.street_id,  # type: ignore[misc]  # a community always has both
                    district_id=area.district_id,  # type: ignore[misc]
                    grid=None,
                    needs_location=True,
                )
            if row.entrance.isdigit():
                building.entrances = max(building.entrances, min(int(row.entrance), 99))
        if missing:
            # Few enough (hundreds per district) for the ORM, which returns their ids.
            Building.objects.bulk_create(missing.values(), batch_size=BATCH)
            for key, building in missing.items():
                assert building.pk is not None
                scope = Scope(building.pk, None, building.community_id, building.street_id, building.district_id)
                self.buildings[key] = scope
                self.loaded_buildings.add(building.pk)  # new: it has no households to load
                self.created_buildings.append(building.pk)
            self.result.buildings_created += len(missing)

    def _building(self, row: Row) -> Scope:
        return self.buildings[(row.community.pk, row.building_key)]

    def _load_households(self, building_ids: Iterable[int]) -> None:
        for ids in _chunks(list(building_ids)):
            for pk, building, entrance, room, head in Household.objects.filter(building_id__in=ids).values_list(
                "id", "building_id", "entrance", "room", "head_id"
            ):
                self.households.setdefault((building, entrance, room), [pk, head])

    def _load_rooms(self, building_ids: Iterable[int]) -> None:
        for ids in _chunks(list(building_ids)):
            for pk, building, entrance, number in Room.objects.filter(building_id__in=ids).values_list(
                "id", "building_id", "entrance", "number"
            ):
                self.rooms.setdefault((building, entrance, number), pk)

    def _ensure_rooms(self, addresses: dict[tuple[int, str, str], Scope]) -> None:
        """Rooms for the addresses of new households (一标三实: the household lives in a room),
        made in use as homes; a room already registered there (a vacant flat) is used as it is."""
        missing = {key: scope for key, scope in addresses.items() if key not in self.rooms}
        if not missing:
            return
        bulk.insert(
            Room,
            [
                {
                    "building_id": b,
                    "entrance": entrance,
                    "number": number,
                    "floor": floor_of(number),
                    "use_id": RESIDENCE,
                    "created_at": self.now,
                    "import_run_id": self.run_id,
                    **scope.areas(),
                }
                for (b, entrance, number), scope in missing.items()
            ],
        )
        self._load_rooms({building for building, _entrance, _number in missing})

    def _ensure_households(self, rows: list[Row]) -> None:
        building_ids = {self._building(row).building_id for row in rows}
        unloaded = [pk for pk in building_ids if pk not in self.loaded_buildings]
        self._load_households(unloaded)
        self._load_rooms(unloaded)
        self.loaded_buildings.update(unloaded)
        missing: dict[tuple[int, str, str], Scope] = {}
        for row in rows:
            scope = self._building(row)
            key = (scope.building_id, row.entrance, row.room)
            if key not in self.households:
                missing[key] = scope
        if missing:
            self._ensure_rooms(missing)
            bulk.insert(
                Household,
                [
                    {
                        "building_id": b,
                        "entrance": entrance,
                        "room": room,
                        "dwelling_id": self.rooms[(b, entrance, room)],
                        "created_at": self.now,
                        "import_run_id": self.run_id,
                        **scope.areas(),
                    }
                    for (b, entrance, room), scope in missing.items()
                ],
            )
            self._load_households({building for building, _entrance, _room in missing})
            self.result.households_created += len(missing)

    def _household(self, row: Row) -> tuple[list[int | None], Scope]:
        scope = self._building(row)
        return self.households[(scope.building_id, row.entrance, row.room)], scope

    # --- residents --------------------------------------------------------------------------

    def _write_residents(self, rows: list[Row]) -> None:
        existing: dict[str, dict[str, Any]] = {}
        for numbers in _chunks([row.id_number for row in rows]):
            for values in Resident.objects.filter(id_number__in=numbers).values(*RESIDENT_FIELDS):
                existing[values["id_number"]] = values
        tags: set[tuple[int, int]] = set()
        tagged = [existing[row.id_number]["id"] for row in rows if row.categories and row.id_number in existing]
        for ids in _chunks(tagged):
            tags.update(CareTag.objects.filter(resident_id__in=ids).values_list("resident_id", "category_id"))

        created: list[tuple[Row, dict[str, Any]]] = []
        changed: list[dict[str, Any]] = []  # the CHANGEABLE values and the id
        reindex: list[search.Subject] = []
        moves: list[tuple[int, int | None, int | None]] = []
        new_tags: list[tuple[int, int]] = []
        heads: list[tuple[list[int | None], Row]] = []
        details: list[tuple[int, pop.Person | None]] = []
        unchanged: list[int] = []  # so far: their floating or foreign details may yet change
        for row in rows:
            household, scope = self._household(row)
            old = existing.get(row.id_number)
            if old is not None and self.allowed is not None and old["community_id"] not in self.allowed:
                self.result.rejected += 1
                self.result.problems.append(
                    Problem(
                        row.number,
                        self.id_label,
                        REJECTED,
                        _("该居民已登记在您的管辖范围以外，请联系街道或区级管理员办理迁入"),
                    )
                )
                continue
            values = {
                "name": row.name,
                "phone": row.phone if row.phone is not None else (old["phone"] if old else ""),
                "household_id": household[0],
                "relationship": row.relationship or (old["relationship"] if old else Resident.Relationship.OTHER),
                "sex": row.sex,
                "birth_date": row.birth_date,
                **scope.areas(),
                **pop.values(row.person, old),
            }
            if values["relationship"] == Resident.Relationship.HEAD:
                heads.append((household, row))
            if old is None:
                created.append((row, values))
                continue
            pk = old["id"]
            details.append((pk, row.person))
            missing_tags = [(pk, category) for category in row.categories if (pk, category) not in tags]
            new_tags.extend(missing_tags)
            if _changeable(values) != _changeable(old):
                changed.append({**values, "id": pk})
                if _keyed(values) != _keyed(old):
                    reindex.append(search.Subject.of_row(pk, values, id_number=row.id_number, keys=_keys(row, values)))
                if values["household_id"] != old["household_id"]:
                    moves.append((pk, values["household_id"], old["household_id"]))
                self.result.updated += 1
            elif missing_tags:
                self.result.updated += 1
            else:
                self.result.unchanged += 1
                unchanged.append(pk)

        new_ids = self._insert_residents(created)
        for row, values in created:
            pk = new_ids[row.id_number]
            details.append((pk, row.person))
            new_tags.extend((pk, category) for category in row.categories)
            reindex.append(search.Subject.of_row(pk, values, id_number=row.id_number, keys=_keys(row, values)))
        self._update_residents(changed)
        self._add_tags(new_tags)
        self._set_heads(heads, new_ids, existing)
        self._record_moves(moves)
        touched = pop.write_details(details)
        if touched:
            moved = sum(1 for pk in unchanged if pk in touched)
            self.result.unchanged -= moved
            self.result.updated += moved
        self.result.search_keys += search.write_search_keys(reindex, replace=bool(changed))

    def _insert_residents(self, created: list[tuple[Row, dict[str, Any]]]) -> dict[str, int]:
        if not created:
            return {}
        bulk.insert(
            Resident,
            [
                {
                    "id_number": row.id_number,
                    **values,
                    "status": Resident.Status.LIVING,
                    "ethnicity": "",
                    "created_at": self.now,
                    "updated_at": self.now,
                    "import_run_id": self.run_id,
                }
                for row, values in created
            ],
        )
        ids: dict[str, int] = {}
        for numbers in _chunks([row.id_number for row, _values in created]):
            ids.update(Resident.objects.filter(id_number__in=numbers).values_list("id_number", "id"))
        self.result.created += len(created)
        return ids

    def _update_residents(self, changed: list[dict[str, Any]]) -> None:
        bulk.update(Resident, [{**values, "updated_at": self.now} for values in changed], key="id")

    def _add_tags(self, pairs: list[tuple[int, int]]) -> None:
        note = (_("导入：%(file)s") % {"file": self.file_name})[:200]
        by = self.by.pk if self.by is not None else None
        bulk.insert(
            CareTag,
            [
                {
                    "resident_id": pk,
                    "category_id": category,
                    "recorded_by_id": by,
                    "recorded_at": self.now,
                    "note": note,
                    "import_run_id": self.run_id,
                }
                for pk, category in pairs
            ],
        )

    def _set_heads(
        self, heads: list[tuple[list[int | None], Row]], created: dict[str, int], existing: dict[str, dict[str, Any]]
    ) -> None:
        updates: list[dict[str, Any]] = []
        for household, row in heads:
            pk = created.get(row.id_number) or existing[row.id_number]["id"]
            if household[1] != pk:
                household[1] = pk
                updates.append({"id": household[0], "head_id": pk})
        bulk.update(Household, updates, key="id")

    def _record_moves(self, moves: list[tuple[int, int | None, int | None]]) -> None:
        LifeEvent.objects.bulk_create(
            [
                LifeEvent(
                    resident_id=pk,
                    kind=LifeEvent.Kind.MOVE_IN,
                    date=self.today,
                    household_id=household,
                    detail={"from_household": previous, "source": "import", "file": self.file_name},
                    recorded_by=self.by,
                )
                for pk, household, previous in moves
            ],
            batch_size=BATCH,
        )
