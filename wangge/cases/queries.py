"""Every scoped read of cases, and the figures of ``wangge cases stats``.

Staff see the cases of their areas; a department handler only those their departments lead or
help with, inside their areas. ``get_case`` raises ``Http404`` for anything else, so a page never
confirms that a case exists out of scope.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from wangge.accounts import policy
from wangge.areas.models import Area
from wangge.cases import clocks
from wangge.cases.models import Case, CasePhoto, Category, Department, EscortedVisit, Kind, Review
from wangge.core.audit import Action, audit
from wangge.core.scope import NOTHING, area_filter

OPEN = (Case.Status.RECEIVED, Case.Status.ACCEPTED)


def _case_filter(user: Any) -> Q:
    if not policy.can_view_cases(user):
        return NOTHING
    query = area_filter(user)
    if policy.sees_only_department_cases(user):
        mine = Department.objects.filter(members=user)
        query &= Q(lead_department__in=mine) | Q(
            pk__in=Case.co_departments.through.objects.filter(department__in=mine).values("case_id")
        )
    return query


def cases_visible_to(user: Any) -> QuerySet[Case]:
    return Case.objects.filter(_case_filter(user))


def get_case(user: Any, pk: Any) -> Case:
    try:
        return (
            cases_visible_to(user)
            .select_related("category", "lead_department", "grid", "community", "received_by", "verified_by")
            .get(pk=pk)
        )
    except (Case.DoesNotExist, ValueError, TypeError):
        raise Http404 from None


def case_read(user: Any, case: Case) -> None:
    """Petition content is sensitive: every read of a case's detail is audited, inside the
    transaction that builds the answer."""
    audit(actor=user, action=Action.VIEW, obj=case, summary=_("查看案件 %(number)s") % {"number": case.number})


def mine(user: Any) -> QuerySet[Case]:
    """Open cases the user registered or whose department handles them."""
    own = Q(received_by=user) | Q(lead_department__members=user)
    return cases_visible_to(user).filter(own, status__in=OPEN).distinct()


def due_soon(user: Any, *, now: dt.datetime | None = None) -> QuerySet[Case]:
    """Open cases whose running deadline falls within the due-soon margin."""
    now = now or timezone.now()
    petitions = now + clocks.PETITION_DUE_SOON
    events = now + clocks.EVENT_DUE_SOON
    return cases_visible_to(user).filter(
        (
            Q(status=Case.Status.RECEIVED, accept_due__gt=now)
            & (Q(kind=Kind.PETITION, accept_due__lte=petitions) | Q(kind=Kind.EVENT, accept_due__lte=events))
        )
        | (
            Q(status=Case.Status.ACCEPTED, handle_due__gt=now)
            & _unanswered()
            & (Q(kind=Kind.PETITION, handle_due__lte=petitions) | Q(kind=Kind.EVENT, handle_due__lte=events))
        )
        | Q(
            pk__in=Review.objects.filter(
                answered_at__isnull=True, answer_due__gt=now, answer_due__lte=petitions
            ).values("case_id")
        )
    )


def _unanswered() -> Q:
    """A handling clock still runs: a petition not answered in writing, an event not resolved."""
    return Q(kind=Kind.PETITION, replied_at__isnull=True) | Q(kind=Kind.EVENT, resolution="")


def overdue(user: Any, *, now: dt.datetime | None = None) -> QuerySet[Case]:
    """Open cases past their running deadline: undecided past the acceptance limit, or accepted
    and neither answered (petitions) nor resolved (events) past the handling limit."""
    now = now or timezone.now()
    return cases_visible_to(user).filter(
        Q(status=Case.Status.RECEIVED, accept_due__lte=now)
        | (Q(status=Case.Status.ACCEPTED, handle_due__lte=now) & _unanswered())
        | Q(pk__in=Review.objects.filter(answered_at__isnull=True, answer_due__lte=now).values("case_id"))
    )


def needs(user: Any) -> QuerySet[Case]:
    """The community's list of needs: accepted cases, open or closed, whose need is not solved."""
    return cases_visible_to(user).filter(
        status__in=(Case.Status.ACCEPTED, Case.Status.CLOSED),
        resolution__in=("", Case.Resolution.PARTLY, Case.Resolution.NOT_SOLVED),
    )


def clock_of(case: Case, *, now: dt.datetime | None = None, review: Review | None = None) -> clocks.Clock:
    """The clock a case runs against; ``review``, an unanswered review of it, runs its own."""
    if review is not None and review.answered_at is None:
        return clocks.review_clock(level=review.level, due=review.answer_due, now=now or timezone.now())
    stopped = not case.is_open or (case.replied_at is not None if case.is_petition else bool(case.resolution))
    return clocks.clock(
        petition=case.is_petition,
        accept_due=case.accept_due,
        accepted_at=case.accepted_at,
        handle_due=case.handle_due,
        stopped=stopped,
        now=now or timezone.now(),
    )


def categories() -> QuerySet[Category]:
    return Category.objects.filter(active=True).order_by("kind", "name")


def departments() -> QuerySet[Department]:
    return Department.objects.filter(active=True)


# Statistics --------------------------------------------------------------------------------


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def case_stats(*, area: Area | None, date_from: dt.date | None, date_to: dt.date | None) -> dict[str, Any]:
    """The figures of the cases received in [date_from, date_to] (local calendar days) in
    ``area`` (all areas when None). For operators' scripts: not scoped by a user."""
    tz = timezone.get_default_timezone()
    cases = Case.objects.all()
    communities = Area.objects.filter(level=Area.Level.COMMUNITY)
    if area is not None:
        cases = cases.filter(**{area.level: area})
        if area.level == Area.Level.GRID:
            communities = communities.filter(pk=area.community_id or 0)
        elif area.level == Area.Level.COMMUNITY:
            communities = communities.filter(pk=area.pk)
        else:
            communities = communities.filter(**{area.level: area})
    if date_from is not None:
        cases = cases.filter(received_at__gte=dt.datetime.combine(date_from, dt.time.min, tzinfo=tz))
    if date_to is not None:
        cases = cases.filter(
            received_at__lt=dt.datetime.combine(date_to + dt.timedelta(days=1), dt.time.min, tzinfo=tz)
        )
    rows = list(
        cases.values_list(
            "kind",
            "status",
            "accepted_at",
            "accept_due",
            "closed_at",
            "resolution",
            "merit",
            "satisfaction",
            "community_id",
        )
    )
    received = len(rows)
    decided_on_time = sum(
        1
        for kind, status, accepted_at, accept_due, closed_at, *_rest in rows
        if (accepted_at is not None and accepted_at < accept_due)
        or (status == Case.Status.DECLINED and closed_at is not None and closed_at < accept_due)
    )
    accepted = sum(1 for row in rows if row[2] is not None)
    closed = sum(1 for row in rows if row[1] == Case.Status.CLOSED)
    solved = sum(1 for row in rows if row[5] == Case.Resolution.SOLVED)
    closed_unsolved = sum(1 for row in rows if row[1] == Case.Status.CLOSED and row[5] != Case.Resolution.SOLVED)
    rated = [row[7] for row in rows if row[7]]
    content = sum(1 for value in rated if value in (Case.Satisfaction.SATISFIED, Case.Satisfaction.BASICALLY))
    by_merit = {merit: 0 for merit in Case.Merit.values}
    merit_solved = {merit: 0 for merit in Case.Merit.values}
    for row in rows:
        if row[6]:
            by_merit[row[6]] += 1
            if row[5] == Case.Resolution.SOLVED:
                merit_solved[row[6]] += 1
    with_petitions = {row[8] for row in rows if row[0] == Kind.PETITION}
    return {
        "area": area.code or str(area.pk) if area is not None else None,
        "from": date_from.isoformat() if date_from else None,
        "to": date_to.isoformat() if date_to else None,
        "received": received,
        "accepted": accepted,
        "closed": closed,
        "solved": solved,
        "closed_unsolved": closed_unsolved,
        "response_rate": _rate(decided_on_time, received),
        "solution_rate": _rate(solved, accepted),
        "satisfaction_rate": _rate(content, len(rated)),
        "by_merit": by_merit,
        "solved_by_merit": merit_solved,
        "zero_petition_communities": sorted(
            code or str(pk) for pk, code in communities.exclude(pk__in=with_petitions).values_list("pk", "code")
        ),
    }


# Photos, reviews, escorted visits (issue 11) -----------------------------------------------


def get_photo(user: Any, case_pk: Any, photo_pk: Any) -> CasePhoto:
    """A photo of a case the user may read; 404 otherwise, exactly as the case itself."""
    case = get_case(user, case_pk)
    try:
        return CasePhoto.objects.get(case=case, pk=photo_pk)
    except (CasePhoto.DoesNotExist, ValueError, TypeError):
        raise Http404 from None


def reviews_of(case: Case) -> list[Review]:
    return list(case.reviews.all())


def open_review(case: Case) -> Review | None:
    return case.reviews.filter(answered_at__isnull=True).first()


def is_final(case: Case) -> bool:
    """Re-reviewed and answered: the same matter on the same facts is not accepted again."""
    return case.reviews.filter(level=Review.Level.REREVIEW, answered_at__isnull=False).exists()


def get_escort(case: Case, pk: Any) -> EscortedVisit:
    try:
        return case.escorts.get(pk=pk)
    except (EscortedVisit.DoesNotExist, ValueError, TypeError):
        raise Http404 from None
