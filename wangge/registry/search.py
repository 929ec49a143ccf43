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
from dataclasses import dataclass, field, replace
from enum import IntEnum
from functools import lru_cache
from operator import itemgetter
from typing import Any

from django.db import connection, transaction
from django.db.models import Count, QuerySet
from django.utils.translation import gettext as _

from wangge.accounts import policy
from wangge.core import bulk, chinese, idnumbers
from wangge.core.audit import Action, audit
from wangge.core.scope import assigned_areas
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
# Totals are exact up to TOTAL_CAP people ("more than 200" beyond), read from at most
# COUNT_SCAN index entries per prefix: at most four keys of one resident share a prefix's range.
TOTAL_CAP = 200
COUNT_SCAN = 4 * TOTAL_CAP + 4


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
    keys.extend(_number_keys(id_number, phone))
    return list(dict.fromkeys(key[:KEY_MAX] for key in keys if key))


def _number_keys(id_number: str, phone: str) -> list[str]:
    keys: list[str] = []
    number = "".join(ch for ch in (id_number or "").upper() if ch.isalnum())
    if number:
        # Any document's number (queries keep only letters and digits, so the key does too).
        keys.append(ID_PREFIX + number)
    digits = _digits(phone or "")
    if len(digits) >= 4:
        keys.append(PHONE_PREFIX + digits[-4:])
    return keys


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
    # ``resident_keys(name, id_number, phone)`` when the caller made them already (the import
    # does, while it validates, so that the write transaction does not spend its time on pinyin).
    keys: tuple[str, ...] | None = None

    @classmethod
    def of_row(
        cls,
        id: int,
        row: Mapping[str, Any],
        *,
        id_number: str | None = None,
        keys: tuple[str, ...] | None = None,
    ) -> Subject:
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
            keys=keys,
        )


# What search keys are made from.
Indexable = Resident | Subject


@lru_cache(maxsize=200_000)
def _name_keys(name: str) -> tuple[str, ...]:
    # Names repeat, and pinyin is the costly part of a resident's keys.
    return tuple(keys_for(name, "", ""))


def resident_keys(name: str, id_number: str, phone: str) -> tuple[str, ...]:
    """A resident's search keys (exactly ``keys_for``), as ``key_values`` writes them."""
    numbers = (key[:KEY_MAX] for key in _number_keys(id_number, phone))
    return tuple(dict.fromkeys((*_name_keys(name), *numbers)))


def key_values(residents: Iterable[Indexable]) -> list[tuple[Any, ...]]:
    """The ``SearchKey`` rows of these residents (exactly ``keys_for``) as ``KEY_FIELDS`` tuples,
    sorted by key: an import writes millions, and a dict per key cost a sixth of its time."""
    rows: list[tuple[Any, ...]] = []
    append = rows.append
    for r in residents:
        pk, areas = r.id, (r.grid_id, r.community_id, r.street_id, r.district_id)
        keys = r.keys if isinstance(r, Subject) and r.keys is not None else None
        for key in keys if keys is not None else resident_keys(r.name, r.id_number, r.phone):
            append((pk, key, *areas))
    # In key order, the index grows at its end instead of at random places.
    rows.sort(key=itemgetter(1))
    return rows


def key_rows(residents: Iterable[Indexable]) -> list[dict[str, Any]]:
    """The ``SearchKey`` rows of these residents (exactly ``keys_for``), sorted by key."""
    return [dict(zip(KEY_FIELDS, values, strict=True)) for values in key_values(residents)]


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
    return bulk.insert_values(SearchKey, KEY_FIELDS, key_values(residents))


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
    # Only whole keys match (a document number typed by someone who sees numbers masked).
    exact: bool = False
    hint: str = field(default="", compare=False)


def parse_query(raw: str, *, masked: bool = False) -> ParsedQuery:
    """Classify a query: name (simplified or traditional), pinyin or initials, ID, phone.

    Digits only: 4 are the last four of a phone; 6 to 18 (or ending in X) an ID number or
    its beginning; 11 starting with 1 a mobile number as well; 15 a legacy ID, upgraded.
    ``masked``: the searcher sees ID numbers and phones masked, so a number is looked up only
    by its full value (or a phone's last four, which the mask shows): a prefix search would
    reveal the hidden digits one at a time.
    """
    text = chinese.strip_tones(chinese.fold(chinese.to_simplified((raw or "").strip()[:100])))
    text = "".join(ch for ch in text if ch.isalnum())
    if not text:
        return ParsedQuery(text="", kind=Kind.NONE)
    if text.isdigit() or (text[:-1].isdigit() and text[-1] == "x"):
        parsed = _parse_number(text.upper())
        return _only_full_numbers(parsed) if masked else parsed
    if text.isascii() and any(ch.isdigit() for ch in text):
        # Letters and digits: a passport, pass or permanent-residence card number (never a name).
        parsed = _parse_document(text.upper())
        return _only_full_numbers(parsed) if masked else parsed
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


def _parse_document(text: str) -> ParsedQuery:
    if len(text) < 5:
        return ParsedQuery(text=text, kind=Kind.NONE, hint=_("请至少输入证件号码的前5位。"))
    return ParsedQuery(text=text, kind=Kind.ID_NUMBER, prefixes=(ID_PREFIX + text[:KEY_MAX],))


def _only_full_numbers(parsed: ParsedQuery) -> ParsedQuery:
    """A number query as a searcher who sees masked values may make it: full values only.

    A document number matches only as a whole key, so no prefix reveals the hidden digits
    one at a time; which length is "whole" depends on the document, hence the exact match
    rather than a length rule.
    """
    if parsed.kind == Kind.PHONE:
        # The last four (shown by the mask) or a whole number checked against the whole phone;
        # never the 11 digits as the start of an ID number.
        return replace(parsed, prefixes=tuple(p for p in parsed.prefixes if p.startswith(PHONE_PREFIX)))
    if parsed.kind == Kind.ID_NUMBER:
        full_id = len(parsed.text) == 18 or len(parsed.prefixes[0]) == len(ID_PREFIX) + 18
        hint = (
            ""
            if full_id
            else _(
                "只能按完整的证件号码查找：请输入完整的身份号码（18位）或其他证件的完整号码，或手机号后四位、完整手机号。"
            )
        )
        return replace(parsed, exact=True, hint=hint)
    return parsed


# --- ranking --------------------------------------------------------------------------------


class Match(IntEnum):
    """How well a key matched, best first: the order a ranked result list leads with."""

    EXACT = 0  # the whole name, a whole ID number, a whole phone number
    NAME_PREFIX = 1
    PINYIN = 2
    PINYIN_PREFIX = 3
    INITIALS = 4
    INITIALS_PREFIX = 5
    NUMBER = 6  # a phone's last four, the beginning of an ID number


def _match(key: str, prefix: str, *, name_length: int, whole_phone: bool) -> Match:
    if key.startswith(ID_PREFIX):
        return Match.EXACT if key == prefix else Match.NUMBER
    if key.startswith(PHONE_PREFIX):
        return Match.EXACT if whole_phone else Match.NUMBER
    if not key.isascii():
        return Match.EXACT if key == prefix else Match.NAME_PREFIX
    # Initials have one letter per character; a full reading is longer (the rare name whose
    # every syllable is a single vowel reads the same both ways).
    if len(key) <= name_length:
        return Match.INITIALS if key == prefix else Match.INITIALS_PREFIX
    return Match.PINYIN if key == prefix else Match.PINYIN_PREFIX


def _name_length(name: str) -> int:
    # The characters pinyin is made from; traditional-to-simplified keeps the count.
    return sum(1 for ch in name if ch not in chinese.SEPARATORS)


@dataclass
class _Candidate:
    resident_id: int
    match: Match
    in_grid: bool
    living: bool = True
    name: str = ""
    order: str = ""


@dataclass(frozen=True)
class SearchResult:
    """One page of ranked residents and how many match in all.

    ``total`` is exact when ``total_exact``; otherwise more than ``total`` residents match.
    ``ranked`` is how many of them can be paged through (the best ``POOL`` per prefix).
    """

    query: ParsedQuery
    residents: list[Resident]
    total: int = 0
    total_exact: bool = True
    ranked: int = 0


def _scope_grids(user: Any) -> frozenset[int]:
    """The grids a user works in, when they also see more: those residents rank first."""
    areas = assigned_areas(user)
    if set(areas) - {"grid"}:
        return frozenset(areas.get("grid", ()))
    return frozenset()


def _range(visible: QuerySet[SearchKey], parsed: ParsedQuery, prefix: str) -> QuerySet[SearchKey]:
    if parsed.exact:
        return visible.filter(key=prefix)
    return visible.filter(key__gte=prefix, key__lt=prefix + TOP)


def _scan(
    visible: QuerySet[SearchKey], parsed: ParsedQuery, grids: frozenset[int]
) -> tuple[dict[int, _Candidate], bool]:
    """Up to ``POOL`` index entries per prefix in key order; whether any prefix had more.

    One statement per prefix: the scoped key scan, limited inside a subquery so that both
    databases join the resident to at most ``POOL`` rows by primary key (a join outside the
    limit let PostgreSQL hash the whole resident table for short prefixes), with the
    resident's full pinyin for ordering ties. Computing that pinyin here instead costs
    ~0.1 ms of CPU a name (pypinyin's phrase matching): for a district-wide pool of 200 rarely seen
    names, ~20 ms of the district-wide search's tail.
    """
    hits: dict[int, _Candidate] = {}
    saturated = False
    keys = SearchKey._meta.db_table
    residents = Resident._meta.db_table
    for prefix in parsed.prefixes:
        # A whole phone number is checked against the phone itself, so read every resident
        # sharing its last four (a few dozen in a district) rather than a ranked pool.
        pool = COUNT_SCAN if parsed.phone and prefix.startswith(PHONE_PREFIX) else POOL
        scan = _range(visible, parsed, prefix).order_by("key")
        sql, params = scan.values_list("resident_id", "key", "grid_id")[:pool].query.sql_with_params()
        statement = (
            f"SELECT k.resident_id, k.key, k.grid_id, r.name, r.status, r.phone,"
            f" (SELECT p.key FROM {keys} p WHERE p.resident_id = k.resident_id AND p.key >= 'a' AND p.key < '{{'"
            f"  ORDER BY length(p.key) DESC, p.key LIMIT 1)"
            f" FROM ({sql}) k JOIN {residents} r ON r.id = k.resident_id"
        )
        with connection.cursor() as cursor:
            cursor.execute(statement, params)
            rows = cursor.fetchall()
        saturated = saturated or len(rows) == pool
        for resident_id, key, grid_id, name, status, phone, reading in rows:
            if parsed.phone and key.startswith(PHONE_PREFIX) and _digits(phone) != parsed.phone:
                continue  # a whole number was typed: the last four alone are not enough
            match = _match(key, prefix, name_length=_name_length(name), whole_phone=bool(parsed.phone))
            known = hits.get(resident_id)
            if known is None:
                hits[resident_id] = _Candidate(
                    resident_id,
                    match,
                    in_grid=grid_id in grids,
                    living=status == Resident.Status.LIVING,
                    name=name,
                    order=reading or name,
                )
            elif match < known.match:
                known.match = match
    return hits, saturated


def _count(visible: QuerySet[SearchKey], parsed: ParsedQuery) -> tuple[int, bool]:
    """Residents matching, read from at most ``COUNT_SCAN`` index entries per prefix.

    A resident has at most four keys in one prefix's range (full pinyin and initials of two
    readings), so a scan that stops at ``COUNT_SCAN`` has seen more than ``TOTAL_CAP`` people.
    """
    seen = 0
    exact = True
    for prefix in parsed.prefixes:
        scan = _range(visible, parsed, prefix).order_by("key")[:COUNT_SCAN]
        counted = scan.aggregate(keys=Count("resident_id"), people=Count("resident_id", distinct=True))
        seen += counted["people"]
        exact = exact and counted["keys"] < COUNT_SCAN
    return (seen, True) if exact else (min(seen, TOTAL_CAP), False)


def read_key_ranges_in_index_order() -> None:
    """On PostgreSQL, read key ranges by ordered index scans, never by bitmap, for this transaction.

    The planner estimates a prefix range (``key >= 'son' AND key < 'son' || U+10FFFF``) from
    the histogram of 2.5 M keys and can be off 100-fold: at 520,000 residents it expected 74
    keys for ``son`` where there were 7,401, chose a bitmap heap scan plus a sort of every
    match, and a district-wide search took 47-448 ms instead of ~1 ms (bench/search.py's
    plans; docs/benchmarks.md). Every scan here is limited and ordered by key, so the index
    order is always the right plan; ``SET LOCAL`` ends with the transaction.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL enable_bitmapscan = off")


def find_residents(*, user: Any, q: str, limit: int = 20, offset: int = 0) -> SearchResult:
    """The residents the user may see who match ``q``, best first, and how many; not audited.

    Rank: exact (whole name, ID number or phone), name prefix, whole pinyin, pinyin prefix,
    initials, initials prefix, number prefix; then, for someone who works in grids and sees
    more, their own grids first; then the living; then by pinyin.
    """
    masked = not policy.sees_full_detail(user)
    parsed = parse_query(q, masked=masked)
    limit = max(0, min(limit, MAX_RESULTS))
    if not parsed.prefixes:
        return SearchResult(query=parsed, residents=[])
    visible = search_keys_visible_to(user)
    with transaction.atomic():
        read_key_ranges_in_index_order()
        candidates, saturated = _scan(visible, parsed, _scope_grids(user))
        if saturated:
            total, total_exact = _count(visible, parsed)
            total = max(total, len(candidates)) if total_exact else total
        else:
            total, total_exact = len(candidates), True
    ranked = sorted(candidates.values(), key=lambda c: (c.match, not c.in_grid, not c.living, c.order, c.resident_id))
    page = [c.resident_id for c in ranked[offset : offset + limit]]
    residents = Resident.objects.select_related("household__building", "grid", "community").order_by().in_bulk(page)
    return SearchResult(
        query=parsed,
        residents=[residents[pk] for pk in page if pk in residents],
        total=total,
        total_exact=total_exact,
        ranked=min(len(ranked), MAX_RESULTS),
    )


def search_residents(*, user: Any, q: str, limit: int = 20, offset: int = 0) -> SearchResult:
    """``find_residents`` for a person's search request: writes one SEARCH audit entry.

    The entry and the read share a transaction, so a search that cannot be logged fails.
    """
    with transaction.atomic():
        result = find_residents(user=user, q=q, limit=limit, offset=offset)
        if (q or "").strip():
            audit(
                actor=user,
                action=Action.SEARCH,
                object_type="registry.resident",
                summary=_("搜索居民：%(q)s") % {"q": q.strip()[:100]},
                detail={
                    "q": q.strip()[:100],
                    "kind": result.query.kind,
                    "offset": offset,
                    "results": len(result.residents),
                    "total": result.total,
                },
            )
    return result
