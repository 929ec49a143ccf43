"""Resident search: the forms in which a worker may type a name or number, and the lookup.

Each resident gets a handful of ``SearchKey`` rows: the simplified name, each pinyin reading
and its initials (both readings of a polyphonic surname), ``#`` + ID number and ``@`` + the
last four phone digits. The prefixes never collide with names or pinyin, because queries are
stripped of punctuation before they are matched.

A search is a prefix range scan ``key >= p AND key < p || U+10FFFF`` in key order with a
fixed limit, which both databases answer from a B-tree index (LIKE would not use it on
PostgreSQL under a non-C collation, nor on SQLite without ``case_sensitive_like``). The scope
columns on ``SearchKey`` let a grid worker's search use the ``(grid, key)`` index directly.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from operator import itemgetter
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from wangge.core import bulk, chinese, idnumbers
from wangge.core.audit import Action, audit
from wangge.registry.models import Resident, SearchKey
from wangge.registry.queries import search_keys_visible_to

ID_PREFIX = "#"
PHONE_PREFIX = "@"
KEY_MAX = 80
# The highest code point: every string that starts with p sorts below p + TOP, in SQLite's
# BINARY collation, PostgreSQL's "C" collation (see migration 0004) and Python alike.
TOP = "\U0010ffff"
# How many index entries a search reads per prefix. Results are ranked within this pool, so
# paging through them is stable; a query matching more people than this should be refined.
POOL = 200
MAX_RESULTS = 100
IN_CHUNK = 900  # ids per ``IN (...)``: under SQLite's historical limit of 999 parameters
KEY_FIELDS = ("resident_id", "key", "grid_id", "community_id", "street_id", "district_id")


def _digits(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit())


def keys_for(name: str, id_number: str, phone: str) -> list[str]:
    """Every key one resident is found under, deduplicated, each at most 80 characters."""
    keys: list[str] = []
    simplified = chinese.normalise_name(name)
    if simplified:
        keys.append(simplified)
    for reading in chinese.pinyin_readings(simplified):
        keys.append(reading.full)
        keys.append(reading.initials)
    if id_number:
        keys.append(ID_PREFIX + id_number.strip().upper())
    digits = _digits(phone or "")
    if len(digits) >= 4:
        keys.append(PHONE_PREFIX + digits[-4:])
    return list(dict.fromkeys(key[:KEY_MAX] for key in keys if key))


@dataclass(frozen=True, slots=True)
class Subject:
    """A resident just written in bulk, with what its search keys are made from."""

    id: int
    name: str
    id_number: str
    phone: str
    grid_id: int | None
    community_id: int
    street_id: int
    district_id: int

    @classmethod
    def of_row(cls, id: int, row: Mapping[str, Any], *, id_number: str | None = None) -> Subject:
        """The resident of a row just written with ``core.bulk`` (``Resident`` field names)."""
        return cls(
            id=id,
            name=row["name"],
            id_number=row["id_number"] if id_number is None else id_number,
            phone=row["phone"],
            grid_id=row["grid_id"],
            community_id=row["community_id"],
            street_id=row["street_id"],
            district_id=row["district_id"],
        )


# What search keys are made from.
Indexable = Resident | Subject


@lru_cache(maxsize=200_000)
def _name_keys(name: str) -> tuple[str, ...]:
    # Names repeat, and pinyin is the costly part of a resident's keys.
    return tuple(keys_for(name, "", ""))


def key_rows(residents: Iterable[Indexable]) -> list[dict[str, Any]]:
    """The ``SearchKey`` rows of these residents (exactly ``keys_for``), sorted by key."""
    rows: list[dict[str, Any]] = []
    for r in residents:
        areas = {
            "grid_id": r.grid_id,
            "community_id": r.community_id,
            "street_id": r.street_id,
            "district_id": r.district_id,
        }
        for key in dict.fromkeys((*_name_keys(r.name), *keys_for("", r.id_number, r.phone))):
            rows.append({"resident_id": r.id, "key": key, **areas})
    # In key order, the index grows at its end instead of at random places.
    rows.sort(key=itemgetter("key"))
    return rows


def search_key_rows(resident: Resident) -> list[SearchKey]:
    return [SearchKey(**row) for row in key_rows([resident])]


def write_search_keys(residents: Sequence[Indexable], *, replace: bool = True) -> int:
    """Write the search keys of these residents, first deleting any they had (``replace``;
    not needed for residents just created). Returns the number of keys written.

    The one writer of ``SearchKey`` rows, for single edits, the import and the demo alike.
    """
    if replace:
        ids = [r.id for r in residents]
        for start in range(0, len(ids), IN_CHUNK):
            SearchKey.objects.filter(resident_id__in=ids[start : start + IN_CHUNK]).delete()
    return bulk.insert(SearchKey, key_rows(residents), fields=KEY_FIELDS)


def index_residents(residents: Iterable[Resident], *, batch_size: int = 5000) -> int:
    """(Re)build the search keys of these residents; returns the number of keys written.

    Call it after any change to a resident's name, ID number, phone or areas.
    """
    written = 0
    iterator = iter(residents)
    while batch := list(itertools.islice(iterator, batch_size)):
        with transaction.atomic():
            written += write_search_keys(batch)
    return written


# --- queries -------------------------------------------------------------------------------


class Kind:
    NAME = "name"
    PINYIN = "pinyin"
    ID_NUMBER = "id_number"
    PHONE = "phone"
    NONE = "none"


@dataclass(frozen=True)
class ParsedQuery:
    """What a typed query means: its kind and the key prefixes to scan."""

    text: str
    kind: str
    prefixes: tuple[str, ...] = ()
    # A full mobile number: phone-key matches must also have exactly this number.
    phone: str = ""
    hint: str = field(default="", compare=False)


def parse_query(raw: str) -> ParsedQuery:
    """Classify a query: name (simplified or traditional), pinyin or initials, ID, phone.

    Digits only: 4 are the last four of a phone; 6 to 18 (or ending in X) an ID number or
    its beginning; 11 starting with 1 a mobile number as well; 15 a legacy ID, upgraded.
    """
    text = chinese.strip_tones(chinese.fold(chinese.to_simplified((raw or "").strip()[:100])))
    text = "".join(ch for ch in text if ch.isalnum())
    if not text:
        return ParsedQuery(text="", kind=Kind.NONE)
    if text.isdigit() or (text[:-1].isdigit() and text[-1] == "x"):
        return _parse_number(text.upper())
    if text.isascii():
        return ParsedQuery(text=text, kind=Kind.PINYIN, prefixes=(text,))
    if any(ch.isascii() for ch in text):
        # 刘j: the characters typed so far, then the start of the next syllable.
        readings = chinese.pinyin_readings(text)
        return ParsedQuery(text=text, kind=Kind.PINYIN, prefixes=tuple(r.full for r in readings))
    return ParsedQuery(text=text, kind=Kind.NAME, prefixes=(text,))


def _parse_number(text: str) -> ParsedQuery:
    if len(text) == 4 and text.isdigit():
        return ParsedQuery(text=text, kind=Kind.PHONE, prefixes=(PHONE_PREFIX + text,))
    if len(text) < 6 or len(text) > 18:
        return ParsedQuery(text=text, kind=Kind.NONE, hint=_("请输入手机号后四位，或至少6位身份号码。"))
    if len(text) == 15 and text.isdigit():
        try:
            return ParsedQuery(text=text, kind=Kind.ID_NUMBER, prefixes=(ID_PREFIX + idnumbers.parse(text).number,))
        except idnumbers.InvalidIDNumber:
            pass
    if len(text) == 11 and text.startswith("1") and text.isdigit():
        return ParsedQuery(
            text=text, kind=Kind.PHONE, prefixes=(PHONE_PREFIX + text[-4:], ID_PREFIX + text), phone=text
        )
    return ParsedQuery(text=text, kind=Kind.ID_NUMBER, prefixes=(ID_PREFIX + text,))


@dataclass
class _Candidate:
    resident_id: int
    name: str
    living: bool
    phone: str
    exact: bool = False
    only_by_phone: bool = True


def _candidates(user: Any, parsed: ParsedQuery) -> dict[int, _Candidate]:
    """Up to POOL index entries per prefix, in key order, then what ranking needs.

    Two plain queries on purpose: joining the resident into the key scan let PostgreSQL pick
    a hash join over the whole resident table for short prefixes (p95 > 300 ms at 520,000).
    """
    hits: dict[int, tuple[bool, bool]] = {}  # resident id -> (exact, only by phone)
    visible = search_keys_visible_to(user)
    for prefix in parsed.prefixes:
        rows = (
            visible.filter(key__gte=prefix, key__lt=prefix + TOP).order_by("key").values_list("resident_id", "key")
        )[:POOL]
        for resident_id, key in rows:
            exact, by_phone = hits.get(resident_id, (False, True))
            hits[resident_id] = (exact or key == prefix, by_phone and key.startswith(PHONE_PREFIX))
    if not hits:
        return {}
    found: dict[int, _Candidate] = {}
    for resident_id, name, status, phone in Resident.objects.filter(pk__in=list(hits)).values_list(
        "id", "name", "status", "phone"
    ):
        exact, by_phone = hits[resident_id]
        found[resident_id] = _Candidate(
            resident_id,
            name=name,
            living=status == Resident.Status.LIVING,
            phone=phone,
            exact=exact,
            only_by_phone=by_phone,
        )
    return found


def find_residents(*, user: Any, q: str, limit: int = 20, offset: int = 0) -> list[Resident]:
    """The residents the user may see who match ``q``, best first; not audited.

    Exact matches first (the whole name, the whole pinyin, a full ID number), then people
    living here before those moved out or deceased, then by the pinyin of the name.
    """
    parsed = parse_query(q)
    limit = max(0, min(limit, MAX_RESULTS))
    if not parsed.prefixes or limit == 0:
        return []
    candidates = _candidates(user, parsed)
    ranked = [
        (not c.exact, not c.living, chinese.sort_key(c.name), c.resident_id)
        for c in candidates.values()
        # A whole mobile number was typed: the last four alone are not enough.
        if not (parsed.phone and c.only_by_phone and _digits(c.phone) != parsed.phone)
    ]
    ranked.sort()
    page = [row[-1] for row in ranked[offset : offset + limit]]
    residents = Resident.objects.select_related("household__building", "grid", "community").in_bulk(page)
    return [residents[pk] for pk in page if pk in residents]


def search_residents(*, user: Any, q: str, limit: int = 20, offset: int = 0) -> list[Resident]:
    """``find_residents`` for a person's search request: writes one SEARCH audit entry.

    The entry and the read share a transaction, so a search that cannot be logged fails.
    """
    with transaction.atomic():
        results = find_residents(user=user, q=q, limit=limit, offset=offset)
        if (q or "").strip():
            parsed = parse_query(q)
            audit(
                actor=user,
                action=Action.SEARCH,
                object_type="registry.resident",
                summary=_("搜索居民：%(q)s") % {"q": q.strip()[:100]},
                detail={"q": q.strip()[:100], "kind": parsed.kind, "offset": offset, "results": len(results)},
            )
    return results
