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
    # A subquery, not a join through the department's members: a join yields a row per member
    # and needed DISTINCT, which made PostgreSQL sort every open case before the first page.
    own = Q(received_by=user) | Q(lead_department__in=Department.objects.filter(members=user).values("pk"))
    return cases_visible_to(user).filter(own, status__in=OPEN)


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
        | _reviewed(answered_at__isnull=True, answer_due__gt=now, answer_due__lte=petitions)
    )


def _reviewed(**review: Any) -> Q:
    """Cases with a review in this state, as a list of ids: reviews under way are few, and a
    subquery inside the OR would make PostgreSQL test every case of the area against it (a
    sequential scan of the million, ~0.5 s) instead of OR-ing the status/deadline indexes."""
    return Q(pk__in=list(Review.objects.filter(**review).values_list("case_id", flat=True)))


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
        | _reviewed(answered_at__isnull=True, answer_due__lte=now)
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


def case_stats(*, area: Area | None, date_from: dt.date | None, date_to: dt.date | None) -> dict[str, Any]:
    """The figures of ``wangge cases stats``, unscoped (for operators' scripts); see
    ``wangge.cases.stats.figures``."""
    from wangge.cases import stats  # stats reads through this module

    return stats.figures(user=None, area=area, date_from=date_from, date_to=date_to)


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
