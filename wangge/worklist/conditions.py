"""A rule's condition, evaluated over the registry: who it is for on a date, from when, and why.

A condition is a JSON object (admin-editable); every key is optional:

``status``        ``"living"`` (default) or ``"deceased"``
``age_min``       age in whole years on the date, at least
``age_max``       age in whole years on the date, at most
``care_all``      care category codes the resident has, all of them
``care_none``     care category codes the resident must not have
``alone``         true: the only living member of their household (household composition)
``not_protected`` true: no active missing-person protection enrolment
``anchor``        the day the service is counted from (without one, the rule simply holds):
                  ``{"birthday": 80}``, ``{"months": [1, 3, 6]}`` (months after birth),
                  ``{"event": "move_in"}`` (a life event's date), ``{"care_since": "code"}``
                  (the day the care category was recorded)
``window_days``   with an anchor: how many days after it the rule still makes the task

``candidates()`` answers with plain tuples, in as few queries as the condition needs, so that
daily generation for half a million residents stays a handful of indexed range scans.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils.translation import gettext as _

from wangge.protection.models import Enrolment
from wangge.registry.models import CareTag, LifeEvent, Resident

KEYS = {"status", "age_min", "age_max", "care_all", "care_none", "alone", "not_protected", "anchor", "window_days"}
ANCHORS = {"birthday", "months", "event", "care_since"}
AREA_COLUMNS = ("household_id", "grid_id", "community_id", "street_id", "district_id")


@dataclass(frozen=True)
class Candidate:
    resident_id: int
    household_id: int | None
    grid_id: int | None
    community_id: int
    street_id: int
    district_id: int
    anchor: dt.date | None
    key: str  # "once", a milestone ("m6") or an event date: one task per key and period


def _candidate(pk: int, areas: list[Any], anchor: dt.date | None, key: str) -> Candidate:
    household, grid, community, street, district = areas
    return Candidate(pk, household, grid, community, street, district, anchor, key)


def shift(day: dt.date, *, years: int = 0, months: int = 0) -> dt.date:
    """``day`` moved by whole years and months; the 29th-31st fall back to the month's last day."""
    month_index = day.year * 12 + day.month - 1 + years * 12 + months
    year, month = divmod(month_index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return dt.date(year, month + 1, min(day.day, last))


def validate(condition: Any, *, kind: str = "residents") -> None:
    """A ``ValidationError`` naming what is wrong with a condition an administrator typed."""
    if not isinstance(condition, dict):
        raise ValidationError(_("条件应为 JSON 对象"))
    if kind != "residents":
        return validate_source(condition, kind=kind)
    unknown = set(condition) - KEYS
    if unknown:
        raise ValidationError(_("条件中有未知的项：%(keys)s") % {"keys": ", ".join(sorted(unknown))})
    anchor = condition.get("anchor")
    if anchor is not None and (not isinstance(anchor, dict) or len(anchor) != 1 or set(anchor) - ANCHORS):
        raise ValidationError(_("起算日应为 birthday、months、event 或 care_since 之一"))
    if anchor is not None and not isinstance(condition.get("window_days"), int):
        raise ValidationError(_("有起算日的条件须给出 window_days（天数）"))
    for key in ("age_min", "age_max", "window_days"):
        if key in condition and not isinstance(condition[key], int):
            raise ValidationError(_("%(key)s 应为整数") % {"key": key})
    if condition.get("status", "living") not in (Resident.Status.LIVING, Resident.Status.DECEASED):
        raise ValidationError(_("status 应为 living 或 deceased"))


def _base(condition: dict[str, Any], today: dt.date) -> QuerySet[Resident]:
    residents = Resident.objects.filter(status=condition.get("status", Resident.Status.LIVING))
    if "age_min" in condition:
        residents = residents.filter(birth_date__lte=shift(today, years=-condition["age_min"]))
    if "age_max" in condition:
        residents = residents.filter(birth_date__gt=shift(today, years=-(condition["age_max"] + 1)))
    for code in condition.get("care_all", ()):
        residents = residents.filter(Exists(CareTag.objects.filter(resident=OuterRef("pk"), category__code=code)))
    if condition.get("care_none"):
        residents = residents.exclude(
            Exists(CareTag.objects.filter(resident=OuterRef("pk"), category__code__in=condition["care_none"]))
        )
    if condition.get("alone"):
        housemates = Resident.objects.filter(household=OuterRef("household_id"), status=Resident.Status.LIVING).exclude(
            pk=OuterRef("pk")
        )
        residents = residents.filter(household__isnull=False).exclude(Exists(housemates))
    if condition.get("not_protected"):
        residents = residents.exclude(Exists(Enrolment.objects.filter(resident=OuterRef("pk"), active=True)))
    return residents


def _rows(residents: QuerySet[Resident], *extra: str) -> Iterator[tuple[Any, ...]]:
    return residents.values_list("pk", *AREA_COLUMNS, *extra).iterator(chunk_size=5000)


def candidates(condition: dict[str, Any], today: dt.date) -> Iterator[Candidate]:
    """Everyone the condition holds for on ``today``, each with their anchor day."""
    residents = _base(condition, today)
    anchor = condition.get("anchor") or {}
    window = dt.timedelta(days=condition.get("window_days", 0))
    earliest = today - window
    if "birthday" in anchor:
        years = int(anchor["birthday"])
        # The birth dates whose birthday falls in the window, one day wider for 29 February.
        low, high = shift(earliest, years=-years) - dt.timedelta(days=1), shift(today, years=-years)
        for pk, *areas, birth in _rows(residents.filter(birth_date__range=(low, high)), "birth_date"):
            day = shift(birth, years=years)
            if earliest <= day <= today:
                yield _candidate(pk, areas, day, "once")
    elif "months" in anchor:
        for months in anchor["months"]:
            low, high = shift(earliest, months=-months) - dt.timedelta(days=1), shift(today, months=-months)
            for pk, *areas, birth in _rows(residents.filter(birth_date__range=(low, high)), "birth_date"):
                day = shift(birth, months=months)
                if earliest <= day <= today:
                    yield _candidate(pk, areas, day, f"m{months}")
    elif "event" in anchor:
        events = LifeEvent.objects.filter(kind=anchor["event"], date__range=(earliest, today))
        rows = residents.filter(Q(Exists(events.filter(resident=OuterRef("pk")))))
        dates: dict[int, list[dt.date]] = {}
        for resident_id, day in events.filter(resident__in=rows.values("pk")).values_list("resident_id", "date"):
            dates.setdefault(resident_id, []).append(day)
        for pk, *areas in _rows(rows):
            for day in dates.get(pk, ()):
                yield _candidate(pk, areas, day, day.isoformat())
    elif "care_since" in anchor:
        tags = CareTag.objects.filter(category__code=anchor["care_since"], recorded_at__date__range=(earliest, today))
        since = dict(tags.values_list("resident_id", "recorded_at__date"))
        for pk, *areas in _rows(residents.filter(pk__in=tags.values("resident_id"))):
            yield _candidate(pk, areas, since[pk], "once")
    else:
        for pk, *areas in _rows(residents):
            yield _candidate(pk, areas, None, "once")


# --- rules that read the special-group registers and the rentals ------------------------------
#
# ``group_follow_up``: ``{"registers": ["released", ...], "within_days": 7}`` (registers: all
# when absent); ``rental_inspection`` and ``lease_ending``: ``{"within_days": 14}``. Without
# ``within_days`` the registers' and rentals' own horizons apply (7 days, as the worklist shows;
# the rentals page's ``DUE_SOON_DAYS`` and ``EXPIRING_DAYS``).

SOURCE_KEYS = {
    "group_follow_up": {"registers", "within_days"},
    "rental_inspection": {"within_days"},
    "lease_ending": {"within_days"},
}


def validate_source(condition: dict[str, Any], *, kind: str) -> None:
    allowed = SOURCE_KEYS.get(kind)
    if allowed is None:
        raise ValidationError(_("未知的规则类型：%(kind)s") % {"kind": kind})
    unknown = set(condition) - allowed
    if unknown:
        raise ValidationError(_("条件中有未知的项：%(keys)s") % {"keys": ", ".join(sorted(unknown))})
    if "within_days" in condition and not isinstance(condition["within_days"], int):
        raise ValidationError(_("%(key)s 应为整数") % {"key": "within_days"})
    registers = condition.get("registers")
    if registers is not None and (not isinstance(registers, list) or not all(isinstance(r, str) for r in registers)):
        raise ValidationError(_("registers 应为名册代码的列表"))


@dataclass(frozen=True)
class Due:
    """One listing's follow-up or one rental's date falling due: a task of a source rule."""

    key: int  # the resident (a listing) or the rental: one task per key and period
    period: str
    day: dt.date
    resident_id: int | None
    household_id: int | None
    grid_id: int | None
    community_id: int
    street_id: int
    district_id: int
    listing_id: int | None = None
    rental_id: int | None = None
    assignee_id: int | None = None


def due_items(kind: str, condition: dict[str, Any], today: dt.date) -> Iterator[Due]:
    """What a source rule finds due by ``today + within_days``.

    The daily job reads the registers and rentals as the system, as it reads the registry for
    the resident rules; people see the tasks only through ``worklist.queries``, which applies
    the register's policy and reads the listings through ``groups.queries`` (audited).
    """
    from django.db.models import Min, OuterRef, Subquery

    from wangge.groups.models import Listing
    from wangge.registry.models import Household, Rental
    from wangge.registry.room_queries import DUE_SOON_DAYS, EXPIRING_DAYS

    areas = ("grid_id", "community_id", "street_id", "district_id")
    if kind == "group_follow_up":
        horizon = today + dt.timedelta(days=condition.get("within_days", 7))
        listings = Listing.objects.filter(
            ended__isnull=True, next_follow_up__lte=horizon, resident__status=Resident.Status.LIVING
        )
        if condition.get("registers"):
            listings = listings.filter(register_id__in=condition["registers"])
        rows = listings.values_list(
            "pk", "resident_id", "resident__household_id", *areas, "next_follow_up", "responsible_id"
        )
        for pk, resident, household, grid, community, street, district, day, responsible in rows.iterator(
            chunk_size=5000
        ):
            yield Due(resident, f"L{pk}-{day:%Y%m%d}", day, resident, household, grid, community, street, district,
                      listing_id=pk, assignee_id=responsible)  # fmt: skip
        return
    if kind not in ("rental_inspection", "lease_ending"):
        raise ValueError(f"unknown rule kind {kind!r}")
    inspection = kind == "rental_inspection"
    days = condition.get("within_days", DUE_SOON_DAYS if inspection else EXPIRING_DAYS)
    horizon = today + dt.timedelta(days=days)
    running = Rental.objects.filter(Q(ended__isnull=True) | Q(ended__gt=today), end__gte=today)
    field = "inspection_due" if inspection else "end"
    # The household living in the room, if one is registered: the task joins its stop on the walk.
    # MIN(id) rather than ORDER BY id LIMIT 1: with the latter PostgreSQL may walk the whole
    # household table in id order for every rental (it did, for hours, in a 520k demo build
    # whose tables had no statistics yet); the aggregate always takes the dwelling index.
    per_room = Household.objects.filter(dwelling=OuterRef("room_id")).values("dwelling")
    dweller = per_room.annotate(first=Min("pk")).values("first")
    rented = (
        running.filter(**{f"{field}__lte": horizon})
        .annotate(dweller=Subquery(dweller))
        .values_list("pk", "dweller", *areas, field)
    )
    prefix = "I" if inspection else "E"
    for pk, household, grid, community, street, district, day in rented.iterator(chunk_size=5000):
        yield Due(pk, f"{prefix}{day:%Y%m%d}", day, None, household, grid, community, street, district, rental_id=pk)
