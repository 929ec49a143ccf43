"""The figures leaders are judged by, per area and any date range: received, accepted, on time,
the three 12345 rates (响应率, 解决率, 满意率), solved against closed, days to solve, repeat and
cross-level rates, by category, by community and by month, and the communities with no petition.

A district's ten years are a million cases, so whole months come from ``CaseMonth`` (one row per
month, community, kind and category, rebuilt by the periodic job ``cases.monthly_counts`` every
``EVERY`` seconds) and only the partial months at the ends of the range, and every month from the
last refresh's own month on, are counted live. The same aggregate expressions (``measures``) fill
the rollup and count live, so both halves mean the same thing.

Scope: the rollup has district, street and community columns and is filtered by the user's
assignments like the cases; users it cannot serve exactly (a grid worker, a department handler,
who see only part of a community) are counted live over their scoped cases, which are few.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.db import connection, transaction
from django.db.models import Count, DurationField, ExpressionWrapper, F, Max, Q, QuerySet, Sum
from django.db.models.functions import TruncMonth, TruncYear
from django.utils import timezone

from wangge.accounts import policy
from wangge.areas.models import Area
from wangge.areas.queries import areas_within
from wangge.cases import queries
from wangge.cases.models import (
    Case,
    CaseMonth,
    CaseMonthRefresh,
    Category,
    CrossLevelMark,
    Department,
    Kind,
    RepeatMark,
    Step,
)
from wangge.core.scope import area_filter, assigned_areas

#: seconds between rebuilds of ``CaseMonth`` by the worker
EVERY = 600
ROLLUP_LEVELS = (Area.Level.DISTRICT, Area.Level.STREET, Area.Level.COMMUNITY)
MERITS = ("reasonable", "partly", "unreasonable", "not_petition")
CONTENT = (Case.Satisfaction.SATISFIED, Case.Satisfaction.BASICALLY)


def measures() -> dict[str, Any]:
    """Aggregates over cases, one per ``CaseMonth`` counter."""
    petition = Q(kind=Kind.PETITION)
    event = Q(kind=Kind.EVENT)
    solved = Q(resolution=Case.Resolution.SOLVED)
    closed = Q(status=Case.Status.CLOSED)

    def count(condition: Q | None = None) -> Count:
        return Count("id", filter=condition)

    figures: dict[str, Any] = {
        "received": count(),
        "petitions": count(petition),
        "accepted": count(Q(accepted_at__isnull=False)),
        "declined": count(Q(status=Case.Status.DECLINED)),
        "open": count(Q(status__in=queries.OPEN)),
        "closed": count(closed),
        # Decided (accepted or declined) before the acceptance limit: the response rate.
        "decided_on_time": count(
            Q(accepted_at__lt=F("accept_due")) | Q(status=Case.Status.DECLINED, closed_at__lt=F("accept_due"))
        ),
        # The handling clock stopped: a petition answered in writing, an event resolved.
        "handled": count((petition & Q(replied_at__isnull=False)) | (event & Q(resolved_at__isnull=False))),
        "handled_on_time": count(
            (petition & Q(replied_at__lt=F("handle_due"))) | (event & Q(resolved_at__lt=F("handle_due")))
        ),
        "solved": count(solved),
        "partly_solved": count(Q(resolution=Case.Resolution.PARTLY)),
        "closed_unsolved": count(closed & ~solved),
        "solved_open": count(solved & ~closed),
        "solve_seconds": Sum(
            ExpressionWrapper(F("resolved_at") - F("received_at"), output_field=DurationField()), filter=solved
        ),
        "rated": count(~Q(satisfaction="")),
        "content": count(Q(satisfaction__in=CONTENT)),
        "dissatisfied": count(Q(satisfaction=Case.Satisfaction.DISSATISFIED)),
        "repeats": count(Q(repeat_mark__isnull=False)),
        "cross_level": count(Q(cross_level_mark__isnull=False)),
    }
    for merit in MERITS:
        figures[f"merit_{merit}"] = count(Q(merit=merit))
        figures[f"solved_{merit}"] = count(Q(merit=merit) & solved)
    return figures


COUNTERS = tuple(measures())


def _seconds(value: Any) -> int:
    if isinstance(value, dt.timedelta):
        return int(value.total_seconds())
    return int(value or 0)


#: what the by-month table and chart show (fewer sums over the most rows)
MONTHLY = ("received", "accepted", "closed", "solved")


def _clean(row: dict[str, Any], names: Iterable[str] = COUNTERS) -> dict[str, int]:
    return {name: _seconds(row[name]) if name == "solve_seconds" else int(row[name] or 0) for name in names}


def _tz() -> dt.tzinfo:
    return timezone.get_default_timezone()


def _month_start(moment: dt.datetime) -> dt.datetime:
    local = moment.astimezone(_tz())
    return dt.datetime(local.year, local.month, 1, tzinfo=_tz())


def _next_month(moment: dt.datetime) -> dt.datetime:
    year, month = (moment.year + 1, 1) if moment.month == 12 else (moment.year, moment.month + 1)
    return dt.datetime(year, month, 1, tzinfo=_tz())


# The rollup -------------------------------------------------------------------------------------

#: a step committed late with an id this much below the last seen one is still noticed
STEP_MARGIN = 1000
#: likewise for marks, by time
MARK_MARGIN = dt.timedelta(minutes=5)
KEYS = ("district", "street", "community", "kind", "category", "lead_department")


def _month_of(moment: dt.datetime) -> dt.date:
    local = moment.astimezone(_tz())
    return dt.date(local.year, local.month, 1)


def _months_q(months: Iterable[dt.date]) -> Q:
    query = Q(pk__in=[])
    for month in months:
        start = dt.datetime.combine(month, dt.time.min, tzinfo=_tz())
        query |= Q(received_at__gte=start, received_at__lt=_next_month(start))
    return query


def _changed_months(state: CaseMonthRefresh) -> set[dt.date]:
    """The months of the cases that have a step or a mark since the last refresh."""
    since = state.refreshed_at - MARK_MARGIN
    # Marks write a timeline step too (kinds ``repeat`` and ``cross_level``); the marks are
    # still read by time for those made before the steps existed (until the next full refresh).
    # Three small id lists rather than one OR over joins, which would read every case.
    ids = set(Step.objects.filter(pk__gt=state.step_id - STEP_MARGIN).values_list("case_id", flat=True))
    ids |= set(RepeatMark.objects.filter(at__gte=since).values_list("case_id", flat=True))
    ids |= set(CrossLevelMark.objects.filter(at__gte=since).values_list("case_id", flat=True))
    changed = Case.objects.filter(pk__in=ids).values_list("received_at", flat=True)
    return {_month_of(at) for at in changed}


@transaction.atomic
def refresh(now: dt.datetime | None = None, *, full: bool = False) -> int:
    """Bring ``CaseMonth`` up to date (the periodic job): every month on the first run or with
    ``full``, else only the months of cases changed since; then the years of those months.
    Returns the month rows written."""
    now = now or timezone.now()
    state = CaseMonthRefresh.objects.select_for_update().order_by("pk").first()
    top = Step.objects.aggregate(top=Max("pk"))["top"] or 0
    months = None if state is None or full else _changed_months(state)
    cases = Case.objects.all() if months is None else Case.objects.filter(_months_q(months))
    grouped: Any = (
        cases.annotate(month=TruncMonth("received_at", tzinfo=_tz()))
        .values("month", *KEYS)
        .annotate(**measures())
        .order_by()
    )
    rows = [
        _rollup_row(_month_of(row["month"]) if isinstance(row["month"], dt.datetime) else row["month"], 1, row)
        for row in grouped
    ]
    if months is None:
        CaseMonth.objects.all().delete()
    else:
        CaseMonth.objects.filter(span=1, month__in=months).delete()
    CaseMonth.objects.bulk_create(rows, batch_size=2000)
    _refresh_years(None if months is None else {dt.date(m.year, 1, 1) for m in months})
    if months is None and connection.vendor == "postgresql":
        # Every row is new: without fresh statistics the planner takes the table for empty until
        # autovacuum comes by, and nests loops over it (the department page's months: 159 ms, 18
        # ms after ANALYZE, at a million cases).
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {CaseMonth._meta.db_table}")
    if state is None:
        state = CaseMonthRefresh(refreshed_at=now)
    state.refreshed_at, state.step_id, state.full = now, top, months is None
    state.save()
    return len(rows)


def _refresh_years(years: set[dt.date] | None) -> None:
    """Year rows (``span`` 12) summed from the month rows of these years (all when None)."""
    months = CaseMonth.objects.filter(span=1)
    old = CaseMonth.objects.filter(span=12)
    if years is not None:
        if not years:
            return
        within = Q(pk__in=[])
        for year in years:
            within |= Q(month__gte=year, month__lt=dt.date(year.year + 1, 1, 1))
        months, old = months.filter(within), old.filter(month__in=years)
    old.delete()
    grouped: Any = (
        months.annotate(year=TruncYear("month"))
        .values("year", *KEYS)
        .annotate(**{name: Sum(name) for name in COUNTERS})
        .order_by()
    )
    CaseMonth.objects.bulk_create((_rollup_row(row["year"], 12, row) for row in grouped), batch_size=2000)


def _rollup_row(month: dt.date, span: int, row: dict[str, Any]) -> CaseMonth:
    return CaseMonth(
        month=month,
        span=span,
        district_id=row["district"],
        street_id=row["street"],
        community_id=row["community"],
        kind=row["kind"],
        category_id=row["category"],
        lead_department_id=row["lead_department"],
        **_clean(row),
    )


def refreshed_at() -> dt.datetime | None:
    return CaseMonthRefresh.objects.order_by("pk").values_list("refreshed_at", flat=True).first()


def _rollup_serves(user: Any, area: Area | None) -> bool:
    """Whether rollup rows (with, for a department handler, the cases their departments only
    help with, counted live) give exactly the user's scoped count of ``area``."""
    if area is not None and area.level == Area.Level.GRID:
        return False
    if user is None:
        return True
    if not policy.can_view_cases(user):
        return False
    levels = assigned_areas(user)
    return bool(levels) and all(level in ROLLUP_LEVELS for level in levels)


# Figures ----------------------------------------------------------------------------------------


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _add(into: dict[Any, dict[str, int]], key: Any, row: dict[str, Any], names: tuple[str, ...] = COUNTERS) -> None:
    _sum_into(into, key, _clean(row, names))


def _sum_into(into: dict[Any, dict[str, int]], key: Any, counts: dict[str, int]) -> None:
    mine = into.setdefault(key, dict.fromkeys(counts, 0))
    for name, value in counts.items():
        mine[name] += value


class _Range:
    """The range split into rollup months and live stretches."""

    def __init__(self, date_from: dt.date | None, date_to: dt.date | None, cutoff: dt.datetime | None) -> None:
        tz = _tz()
        self.start = dt.datetime.combine(date_from, dt.time.min, tzinfo=tz) if date_from else None
        self.end = dt.datetime.combine(date_to + dt.timedelta(days=1), dt.time.min, tzinfo=tz) if date_to else None
        self.months: tuple[dt.date | None, dt.date] | None = None
        self.live: list[tuple[dt.datetime | None, dt.datetime | None]] = [(self.start, self.end)]
        if cutoff is None:
            return
        low = None
        if self.start is not None:
            low = self.start if self.start == _month_start(self.start) else _next_month(self.start)
        high = _month_start(cutoff)
        if self.end is not None:
            high = min(high, _month_start(self.end))
        if low is not None and high <= low:
            return
        self.months = (low.date() if low else None, high.date())
        self.live = [(self.start, low)] if low is not None and self.start != low else []
        self.live.append((high, self.end))


def _midnight(day: dt.date | None) -> dt.datetime | None:
    return dt.datetime.combine(day, dt.time.min, tzinfo=_tz()) if day is not None else None


def _within(queryset: QuerySet[Any], low: dt.datetime | None, high: dt.datetime | None) -> QuerySet[Any]:
    if low is not None:
        queryset = queryset.filter(received_at__gte=low)
    if high is not None:
        queryset = queryset.filter(received_at__lt=high)
    return queryset


def _rolled(rollup: QuerySet[CaseMonth] | None, by: tuple[str, ...], names: tuple[str, ...] = COUNTERS) -> Any:
    """Rollup rows summed by these columns (none when the rollup does not serve the page)."""
    if rollup is None:
        return []
    return rollup.values(*by).annotate(**{name: Sum(name) for name in names}).order_by()


def _spans(low: dt.date | None, high: dt.date) -> Q:
    """Rollup rows covering the months [low, high): whole years from year rows, the rest from
    month rows, so ten years read about ten rows per community and category, not 120."""
    first_year = low if low is None or low.month == 1 else dt.date(low.year + 1, 1, 1)
    last_year = dt.date(high.year, 1, 1)
    if first_year is not None and first_year >= last_year:
        return Q(span=1, month__lt=high) & (Q() if low is None else Q(month__gte=low))
    years = Q(span=12, month__lt=last_year) & (Q() if first_year is None else Q(month__gte=first_year))
    rows = years | Q(span=1, month__gte=last_year, month__lt=high)
    if low is not None and first_year is not None and low < first_year:
        rows |= Q(span=1, month__gte=low, month__lt=first_year)
    return rows


def _month_key(value: Any) -> str:
    if isinstance(value, dt.datetime):
        value = value.astimezone(_tz()).date()
    return f"{value:%Y-%m}"


def _derived(totals: dict[str, int]) -> dict[str, Any]:
    return {
        "response_rate": _rate(totals["decided_on_time"], totals["received"]),
        "on_time_rate": _rate(totals["handled_on_time"], totals["handled"]),
        "solution_rate": _rate(totals["solved"], totals["accepted"]),
        "satisfaction_rate": _rate(totals["content"], totals["rated"]),
        "repeat_rate": _rate(totals["repeats"], totals["received"]),
        "cross_level_rate": _rate(totals["cross_level"], totals["petitions"]),
        "average_days_to_solve": round(totals["solve_seconds"] / 86400 / totals["solved"], 1)
        if totals["solved"]
        else None,
    }


def _communities(user: Any, area: Area | None) -> QuerySet[Area]:
    communities = Area.objects.filter(level=Area.Level.COMMUNITY)
    if user is not None:
        communities = communities.filter(pk__in=areas_within(user).values("pk"))
    if area is not None:
        if area.level == Area.Level.GRID:
            return communities.filter(pk=area.community_id or 0)
        if area.level == Area.Level.COMMUNITY:
            return communities.filter(pk=area.pk)
        return communities.filter(**{area.level: area})
    return communities


def _label(area: Area) -> str:
    return area.code or str(area.pk)


def figures(
    *,
    user: Any,
    area: Area | None = None,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    recent_months: int | None = None,
) -> dict[str, Any]:
    """All the figures of the cases received in [date_from, date_to] (local days, both
    inclusive; open ends when None) in ``area`` and the user's scope. ``user=None`` is the
    operator's command: every case. ``by_month`` covers the range's last ``recent_months``
    months (the page's chart) or all of them. The caller checks that ``area`` is within the
    user's scope."""
    at = refreshed_at() if _rollup_serves(user, area) else None
    span = _Range(date_from, date_to, at)
    cases = Case.objects.all() if user is None else queries.cases_visible_to(user)
    rollup: QuerySet[CaseMonth] | None = None
    months: QuerySet[CaseMonth] | None = None
    if span.months is not None:
        base = CaseMonth.objects.all() if user is None else CaseMonth.objects.filter(area_filter(user))
        if area is not None:
            base = base.filter(**{area.level: area})
        low, high = span.months
        live = list(span.live)
        if user is not None and policy.sees_only_department_cases(user):
            # The rollup knows the lead department; cases a department only helps with are few.
            mine = Department.objects.filter(members=user).values("pk")
            base = base.filter(lead_department__in=mine)
            live.append((_midnight(low), _midnight(high)))
            # From the co-handler table, not "visible minus led", whose OR reads every case.
            helping = Case.objects.filter(
                area_filter(user),
                pk__in=Case.co_departments.through.objects.filter(department__in=mine).values("case_id"),
            ).exclude(lead_department__in=mine)
        rollup = base.filter(_spans(low, high))
        months = base.filter(span=1, month__lt=high)
        months = months if low is None else months.filter(month__gte=low)
    if area is not None:
        cases = cases.filter(**{area.level: area})
    stretches = [_within(cases, low, high) for low, high in span.live]
    if span.months is not None and user is not None and policy.sees_only_department_cases(user):
        helping = helping.filter(**{area.level: area}) if area is not None else helping
        stretches.append(_within(helping, *live[-1]))

    # Live cases in one pass, grouped by community, category and month (a grid worker's ten
    # years are one scan of their cases, not three); the rollup's rows in two queries. The
    # tables and the chart are summed from those rows here.
    every = measures()
    live_rows = [
        row
        for stretch in stretches
        for row in stretch.annotate(month=TruncMonth("received_at", tzinfo=_tz()))
        .values("community", "kind", "category", "month")
        .annotate(**every)
        .order_by()
    ]
    by_category: dict[Any, dict[str, int]] = {}
    by_community: dict[Any, dict[str, int]] = {}
    for row in live_rows:
        counts = _clean(row)
        _sum_into(by_category, (row["kind"], row["category"]), counts)
        _sum_into(by_community, row["community"], counts)
    # One pass over the rollup grouped by community and category (~500 groups at a district)
    # serves both tables: two grouped queries read the same ~10,000 rows twice.
    for row in _rolled(rollup, ("community", "kind", "category")):
        counts = _clean(row)
        _sum_into(by_category, (row["kind"], row["category"]), counts)
        _sum_into(by_community, row["community"], counts)
    by_month: dict[str, dict[str, int]] = {}
    first: dt.datetime | None = None
    if recent_months is not None:
        first = _month_start((span.end or timezone.now()) - dt.timedelta(microseconds=1))
        for _step in range(recent_months - 1):
            first = _month_start(first - dt.timedelta(days=1))
        months = months.filter(month__gte=first.date()) if months is not None else None
    for row in live_rows:
        if first is None or _month_key(row["month"]) >= f"{first:%Y-%m}":
            _add(by_month, _month_key(row["month"]), row, MONTHLY)
    for row in _rolled(months, ("month",), MONTHLY):
        _add(by_month, _month_key(row["month"]), row, MONTHLY)

    totals = dict.fromkeys(COUNTERS, 0)
    for counts in by_category.values():
        for name, value in counts.items():
            totals[name] += value
    kinds = {kind: dict.fromkeys(COUNTERS, 0) for kind in Kind.values}
    for (kind, _category), counts in by_category.items():
        for name, value in counts.items():
            kinds[kind][name] += value

    categories = {c.pk: c for c in Category.objects.filter(pk__in=[pk for _kind, pk in by_category])}
    communities = {c.pk: c for c in _communities(user, area).select_related("street")}
    named = {c.pk: c for c in Area.objects.filter(pk__in=set(by_community) - set(communities)).select_related("street")}
    zero = [c for pk, c in communities.items() if not by_community.get(pk, {}).get("petitions")]
    end = span.end or timezone.now()
    last = _last_petitions(zero, before=end)
    today = (end - dt.timedelta(microseconds=1)).astimezone(_tz()).date()

    def area_row(pk: int) -> dict[str, Any]:
        place = communities.get(pk) or named.get(pk)
        counts = by_community.get(pk, dict.fromkeys(COUNTERS, 0))
        return {
            "community": _label(place) if place else str(pk),
            "name": place.name if place else "",
            "street": place.street.name if place and place.street else "",
            **counts,
            **_derived(counts),
        }

    return {
        "area": _label(area) if area is not None else None,
        "from": date_from.isoformat() if date_from else None,
        "to": date_to.isoformat() if date_to else None,
        "refreshed_at": at.isoformat() if at and span.months else None,
        **totals,
        **_derived(totals),
        "overdue_open": _overdue(user, area),
        "by_kind": {kind: {**counts, **_derived(counts)} for kind, counts in kinds.items()},
        "by_merit": {merit: totals[f"merit_{merit}"] for merit in MERITS},
        "solved_by_merit": {merit: totals[f"solved_{merit}"] for merit in MERITS},
        "by_category": sorted(
            (
                {
                    "category": categories[pk].code,
                    "name": categories[pk].name,
                    "kind": kind,
                    **counts,
                    **_derived(counts),
                }
                for (kind, pk), counts in by_category.items()
            ),
            key=lambda row: (-row["received"], row["category"]),
        ),
        "by_community": sorted(
            (area_row(pk) for pk in set(by_community) | set(communities)),
            key=lambda row: (row["street"], row["community"]),
        ),
        "by_month": [{"month": month, **by_month[month]} for month in sorted(by_month)],
        "zero_petition_communities": sorted(_label(c) for c in zero),
        "zero_petition_since": {
            _label(c): {
                "last_petition": last[c.pk].date().isoformat() if c.pk in last else None,
                "days": (today - last[c.pk].date()).days if c.pk in last else None,
            }
            for c in zero
        },
    }


def _overdue(user: Any, area: Area | None) -> int:
    if user is None:
        return 0
    cases = queries.overdue(user)
    if area is not None:
        cases = cases.filter(**{area.level: area})
    return cases.count()


def _last_petitions(communities: list[Area], *, before: dt.datetime) -> dict[int, dt.datetime]:
    """The local time of each community's last petition before ``before``: the month from the
    rollup, then the day from that month's cases (bounded however old the community's record)."""
    if not communities:
        return {}
    ids = [c.pk for c in communities]
    months = dict(
        CaseMonth.objects.filter(span=1, community__in=ids, petitions__gt=0, month__lt=before.astimezone(_tz()).date())
        .values("community")
        .annotate(last=Max("month"))
        .values_list("community", "last")
    )
    since = min(
        (dt.datetime.combine(month, dt.time.min, tzinfo=_tz()) for month in months.values()),
        default=None,
    )
    recent = Case.objects.filter(community__in=ids, kind=Kind.PETITION, received_at__lt=before)
    if since is not None and len(months) == len(ids):
        recent = recent.filter(received_at__gte=since)
    found = recent.values("community").annotate(last=Max("received_at")).values_list("community", "last")
    return {pk: last.astimezone(_tz()) for pk, last in found if pk is not None}
