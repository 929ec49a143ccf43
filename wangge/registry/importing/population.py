"""The 实有人口 columns of an import: document type and number, population type, 人户分离, and
the floating and foreign details.

The importer calls ``Reader.read`` for each row and, for a document other than the national ID,
``Reader.number``; blank cells keep what the registry holds, as for every other column.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _

from wangge.core import bulk, documents
from wangge.core.chinese import to_simplified
from wangge.registry.importing.columns import POPULATION_KEYS
from wangge.registry.models import (
    NATIONAL_ID,
    REGISTERED,
    DocumentType,
    FloatingDetail,
    ForeignDetail,
    PopulationType,
    Resident,
)

# The resident columns this module sets, compared by the importer to tell "updated" from "unchanged".
CHANGEABLE = ("document_type_id", "population_type_id", "separation")
FLOATING = ("permit_number", "origin", "arrival_date", "reason", "expected_stay")
FOREIGN = ("nationality", "visa_type", "visa_expiry")
DATES = frozenset({"arrival_date", "visa_expiry"})
_MAX = {
    "permit_number": 40,
    "origin": 100,
    "reason": 60,
    "expected_stay": 60,
    "nationality": 60,
    "visa_type": 60,
}
_DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y%m%d", "%Y年%m月%d日", "%Y-%m-%d %H:%M:%S")
_SEX = {"男": "M", "男性": "M", "m": "M", "male": "M", "女": "F", "女性": "F", "f": "F", "female": "F"}
_SEPARATION = {
    "": "",
    "无": "",
    "否": "",
    "户在人不在": Resident.Separation.AWAY,
    "人在户不在": Resident.Separation.HERE,
    "away": Resident.Separation.AWAY,
    "here": Resident.Separation.HERE,
}

Complaint = Callable[[str, str], None]


def _key(text: str) -> str:
    text = unicodedata.normalize("NFKC", text or "")
    text = re.sub(r"\(.*?\)|\[.*?\]", "", text)
    return to_simplified(re.sub(r"[\s*_\-/、:]+", "", text).lower())


def parse_date(text: str) -> dt.date | None:
    """``2024-03-01``, ``2024/3/1``, ``20240301``, ``2024年3月1日``; ``None`` if not a date."""
    text = unicodedata.normalize("NFKC", text).strip()
    for fmt in _DATE_FORMATS:
        try:
            return dt.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    return None


def code_lookup(rows: Iterable[Any]) -> dict[str, Any]:
    """A code table by standard code, code, name, English name and aliases, folded like headers
    (an export prints the standard code where a district has filled it in)."""
    found: dict[str, Any] = {}
    for row in rows:
        words = (row.standard_code, row.code, row.name, row.name_en, *row.aliases.replace("，", ",").split(","))
        for word in words:
            if word.strip():
                found.setdefault(_key(word), row)
    return found


@dataclass(slots=True)
class Person:
    """What a row says beyond name and number; ``None`` where its cell was blank."""

    document_type: DocumentType
    document_given: bool
    population_type: str | None
    separation: str | None
    sex: str | None
    birth_date: dt.date | None
    floating: dict[str, Any] | None
    foreign: dict[str, Any] | None

    @property
    def national_id(self) -> bool:
        return self.document_type.format == DocumentType.Format.NATIONAL_ID


@dataclass(frozen=True, slots=True)
class Number:
    """A document number read from a row, shaped as the importer's parsed national ID."""

    number: str
    birth_date: dt.date
    sex: str
    warnings: tuple[str, ...] = ()
    upgraded_from: str | None = None


class Reader:
    def __init__(self, *, present: Iterable[str]) -> None:
        # A file without any of these columns (most of them) costs nothing per row.
        self.used = bool(set(present) & set(POPULATION_KEYS))
        self.documents = code_lookup(DocumentType.objects.all())
        self.populations = code_lookup(PopulationType.objects.all())
        self.default_document = DocumentType.objects.get(code=NATIONAL_ID)

    def read(self, cell: Callable[[str], str], reject: Complaint, warn: Complaint) -> Person | None:
        """What the row says, or ``None`` when the file has none of these columns."""
        if not self.used:
            return None
        document_type = self.default_document
        text = cell("document_type")
        if text:
            found_document = self.documents.get(_key(text))
            if found_document is None:
                reject("document_type", _("未知的证件类型：%(name)s") % {"name": text})
            else:
                document_type = found_document
        population_type = None
        text = cell("population_type")
        if text:
            found = self.populations.get(_key(text))
            if found is None:
                reject("population_type", _("未知的人口类型：%(name)s") % {"name": text})
            else:
                population_type = found.code
        elif document_type.format == DocumentType.Format.FOREIGN_PERMANENT:
            population_type = "foreign"  # only foreign nationals hold this card
        separation = None
        text = cell("separation")
        if text:
            separation = _SEPARATION.get(_key(text))
            if separation is None:
                warn(
                    "separation",
                    _("无法识别的人户分离情况“%(text)s”（可填：户在人不在、人在户不在、无），已跳过") % {"text": text},
                )
        sex = None
        text = cell("sex")
        if text:
            sex = _SEX.get(_key(text))
            if sex is None:
                reject("sex", _("性别应为“男”或“女”"))
        birth_date = None
        text = cell("birth_date")
        if text:
            birth_date = parse_date(text)
            if birth_date is None:
                reject("birth_date", _("日期格式不正确：%(text)s（应为 2024-03-01）") % {"text": text})
        details = {"floating": self._details(FLOATING, cell, reject), "foreign": self._details(FOREIGN, cell, reject)}
        return Person(
            document_type=document_type,
            document_given=document_type is not self.default_document,
            population_type=population_type,
            separation=separation,
            sex=sex,
            birth_date=birth_date,
            **details,
        )

    def _details(self, keys: tuple[str, ...], cell: Callable[[str], str], reject: Complaint) -> dict[str, Any] | None:
        values: dict[str, Any] = {}
        for key in keys:
            text = cell(key)
            if not text:
                continue
            if key in DATES:
                date = parse_date(text)
                if date is None:
                    reject(key, _("日期格式不正确：%(text)s（应为 2024-03-01）") % {"text": text})
                values[key] = date
            elif len(text) > _MAX[key]:
                reject(key, _("内容过长（最多 %(n)d 个字）") % {"n": _MAX[key]})
            else:
                values[key] = text
        return values or None

    def number(self, person: Person, raw: str, reject: Complaint) -> Number | None:
        """The number of a document other than the national ID, with the holder's birth date and
        sex (from the number, or from the row's cells when the number does not carry them)."""
        try:
            parsed = documents.parse(person.document_type.format, raw)
        except documents.InvalidDocument as exc:
            reject(
                "id_number",
                _("证件号码有误（%(type)s）：%(reason)s") % {"type": person.document_type.name, "reason": exc},
            )
            return None
        birth_date = parsed.birth_date or person.birth_date
        sex = parsed.sex or person.sex
        if birth_date is None:
            reject("birth_date", _("%(type)s号码不含出生日期，请填写出生日期") % {"type": person.document_type.name})
        if sex is None:
            reject("sex", _("%(type)s号码不含性别，请填写性别") % {"type": person.document_type.name})
        if birth_date is None or sex is None:
            return None
        return Number(number=parsed.number, birth_date=birth_date, sex=sex, warnings=parsed.warnings)


def values(person: Person | None, old: dict[str, Any] | None) -> dict[str, Any]:
    """The resident's population columns: the row's, else what the registry holds, else defaults."""
    if person is None:
        return {
            "document_type_id": old["document_type_id"] if old else NATIONAL_ID,
            "population_type_id": old["population_type_id"] if old else REGISTERED,
            "separation": old["separation"] if old else "",
        }
    return {
        "document_type_id": person.document_type.code
        if person.document_given or old is None
        else old["document_type_id"],
        "population_type_id": person.population_type or (old["population_type_id"] if old else REGISTERED),
        "separation": person.separation if person.separation is not None else (old["separation"] if old else ""),
    }


def write_details(pairs: list[tuple[int, Person | None]]) -> set[int]:
    """Create or update the floating and foreign records the rows carry (their filled cells only);
    return the residents whose records were created or changed.

    Written in bulk, and only where a cell differs from the record: re-importing a district's
    file, whose tens of thousands of floating residents are all unchanged, writes nothing.
    """
    touched: set[int] = set()
    models: tuple[tuple[Any, str, tuple[str, ...]], ...] = (
        (FloatingDetail, "floating", FLOATING),
        (ForeignDetail, "foreign", FOREIGN),
    )
    for model, attr, names in models:
        given = {pk: getattr(person, attr) for pk, person in pairs if person and getattr(person, attr)}
        if not given:
            continue
        ids = list(given)
        existing: dict[int, dict[str, Any]] = {}
        for start in range(0, len(ids), 900):  # under SQLite's historical limit of 999 parameters
            chunk = ids[start : start + 900]
            existing.update((d["resident_id"], d) for d in model.objects.filter(resident_id__in=chunk).values())
        defaults = {name: model._meta.get_field(name).get_default() for name in names}
        created: list[dict[str, Any]] = []
        changed: dict[tuple[str, ...], list[dict[str, Any]]] = {}  # by the fields a row sets
        for pk, fields in given.items():
            record = existing.get(pk)
            if record is None:
                created.append({"resident_id": pk, **defaults, **fields})
            elif any(record[name] != value for name, value in fields.items()):
                changed.setdefault(tuple(fields), []).append({"resident_id": pk, **fields})
            else:
                continue
            touched.add(pk)
        bulk.insert(model, created)
        for rows in changed.values():
            bulk.update(model, rows, key="resident_id")
    return touched
