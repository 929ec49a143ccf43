"""The worklist pages: the morning's walk on a phone, the visit form, and coverage for the
community and street. Above the grid the worklist is a summary by child area that drills down
to one grid's walk (``summary``). Thin: parse, call a query or an action, render."""

from __future__ import annotations

import uuid
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from wangge.accounts import policy
from wangge.areas.models import Area
from wangge.areas.queries import areas_within
from wangge.registry.models import Resident
from wangge.worklist import actions, queries, rollups, summary
from wangge.worklist.forms import VisitForm

#: escalated tasks per page of a summary (a page stays under ~30 KB)
PAGE_SIZE = 50


@login_required
def today(request: HttpRequest) -> HttpResponse:
    """A grid worker's (or helper's) walk; above the grid, the summary of the user's area."""
    user = request.user
    if not policy.can_see_worklist(user):
        raise Http404
    if summary.above_grid(user):
        home = summary.home(user)
        return _summary(request, home[0] if len(home) == 1 and home[0].level != Area.Level.GRID else None)
    return _walk(request, grid=None)


@login_required
def area(request: HttpRequest, pk: int) -> HttpResponse:
    """Drill-down: a child area's summary, down to one grid's walk. Outside the user's areas: 404."""
    user = request.user
    if not policy.is_worklist_staff(user):
        raise Http404
    place = _area_within(user, pk)
    if place.level == Area.Level.GRID:
        return _walk(request, grid=place)
    return _summary(request, place)


def _area_within(user: Any, pk: Any) -> Area:
    try:
        return areas_within(user).get(pk=pk)
    except (Area.DoesNotExist, ValueError, TypeError):
        raise Http404 from None


def _up(user: Any, place: Area | None) -> Area | None:
    """The parent to go back to, if it is one of the user's areas (else the worklist's home)."""
    if place is None or place.parent_id is None:
        return None
    return areas_within(user).filter(pk=place.parent_id).first()


def _walk(request: HttpRequest, *, grid: Area | None) -> HttpResponse:
    user = request.user
    day = timezone.localdate()
    stops = queries.worklist(user, today=day, days=queries.UPCOMING_DAYS, grid=grid)
    for stop in stops:
        stop.client_id = uuid.uuid4()  # type: ignore[attr-defined]
    context = {
        "stops": stops,
        "today": day,
        "tasks": sum(len(s.tasks) for s in stops),
        "can_see_coverage": policy.can_see_coverage(user),
        "grid": grid,
        "up": _up(user, grid),
    }
    return render(request, "worklist/today.html", context)


def _summary(request: HttpRequest, parent: Area | None) -> HttpResponse:
    user = request.user
    day = timezone.localdate()
    figures = summary.summary(user, parent=parent, today=day)
    where = summary.within(parent) if parent is not None else summary.within_any(summary.home(user))
    page = Paginator(queries.escalated_in(user, where), PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "summary": figures,
        "parent": parent,
        "child_level": Area.Level(summary.CHILD[Area.Level(parent.level)]).label if parent else None,
        "up": _up(user, parent),
        "today": day,
        "page": page,
        "escalated": queries.escalated_page(user, list(page)),
        "can_see_coverage": policy.can_see_coverage(user),
        "days": queries.COVERAGE_DAYS,
        "every_minutes": rollups.EVERY // 60,
    }
    return render(request, "worklist/summary.html", context)


@login_required
def visit(request: HttpRequest, household: int) -> HttpResponse:
    """Record a visit: the quick form of the worklist posts here too (tasks and a client id)."""
    user = request.user
    if not policy.can_record_visits(user):
        raise Http404
    home = queries.get_household(user, household)
    if request.method == "POST" and queries.visit_recorded(user, request.POST.get("client_id")):
        return redirect("worklist:today")  # a double tap or a resend: the visit is stored already
    tasks = queries.open_tasks_of(user, home)
    residents = list(Resident.objects.filter(household=home, status=Resident.Status.LIVING).order_by("pk"))
    can_open_case = policy.can_take_cases(user)
    posted: Any = request.POST
    if request.method == "POST" and request.GET.get("quick"):
        # The worklist's one-tap button: a home visit completing the tasks the list showed.
        shown = queries.due_by(tasks, today=timezone.localdate(), days=queries.UPCOMING_DAYS)
        posted = posted.copy()
        posted.setlist("tasks", [str(t.pk) for t in shown])
        posted.setdefault("kind", "home")
    form = VisitForm(
        posted or None,
        request.FILES or None,
        tasks=tasks,
        residents=residents,
        can_open_case=can_open_case,
        initial={"client_id": uuid.uuid4(), "tasks": [str(t.pk) for t in tasks]},
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        chosen = {int(pk) for pk in data["tasks"]}
        resident = next((r for r in residents if str(r.pk) == data["resident"]), None)
        try:
            _record, created = actions.visit_record(
                by=user,
                household=home,
                client_id=data["client_id"],
                kind=data["kind"],
                met=data["met"] or (resident.name if resident else ""),
                notes=data["notes"],
                follow_up=data["follow_up"],
                tasks=[t for t in tasks if t.pk in chosen],
                resident=resident,
                photo=data["photo"],
                lon=data["lon"],
                lat=data["lat"],
                case_category=data.get("case_category"),
            )
        except ValidationError as exc:
            for message in exc.messages:
                form.add_error(None, message)
        else:
            if created:
                messages.success(request, _("已记录对 %(address)s 的走访") % {"address": home.address})
            return redirect("worklist:today")
    context = {"household": home, "form": form, "tasks": tasks, "visits": queries.visits_of(user, home)}
    return render(request, "worklist/visit.html", context, status=400 if request.method == "POST" else 200)


@login_required
def coverage(request: HttpRequest) -> HttpResponse:
    """Visit coverage by child area of the user's area (from the worker's rollup)."""
    user = request.user
    if not policy.can_see_coverage(user):
        raise Http404
    home = summary.home(user)
    return _coverage(request, home[0] if len(home) == 1 and home[0].level != Area.Level.GRID else None)


@login_required
def unvisited(request: HttpRequest, grid: int) -> HttpResponse:
    """ "Know every household": a grid's households not visited lately; above the grid, the
    coverage of the area's children (the drill-down)."""
    user = request.user
    if not policy.can_see_coverage(user):
        raise Http404
    place = _area_within(user, grid)
    if place.level != Area.Level.GRID:
        return _coverage(request, place)
    households = queries.unvisited_households(user, place, today=timezone.localdate())
    context = {"grid": place, "households": households, "days": queries.COVERAGE_DAYS, "up": _up(user, place)}
    return render(request, "worklist/unvisited.html", context)


def _coverage(request: HttpRequest, parent: Area | None) -> HttpResponse:
    user = request.user
    figures = summary.summary(user, parent=parent, today=timezone.localdate())
    context: dict[str, Any] = {
        "summary": figures,
        "parent": parent,
        "up": _up(user, parent),
        "days": queries.COVERAGE_DAYS,
        "every_minutes": rollups.EVERY // 60,
    }
    return render(request, "worklist/coverage.html", context)


@login_required
def visit_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One visit: notes, photo, the case it opened (out of scope: 404). The read is audited."""
    user = request.user
    if not policy.can_see_worklist(user):
        raise Http404
    with transaction.atomic():
        record = queries.get_visit(user, pk)
        queries.visit_read(user, record)
    context = {"visit": record, "can_view_cases": policy.can_view_cases(user)}
    return render(request, "worklist/visit_detail.html", context)


def _photo(request: HttpRequest, pk: int, *, thumb: bool) -> FileResponse:
    user = request.user
    if not policy.can_see_worklist(user):
        raise Http404
    with transaction.atomic():
        record = queries.get_visit(user, pk)
        if not thumb:
            queries.visit_read(user, record)
    # A visit recorded before photos were re-encoded has no thumbnail: its photo stands in.
    stored = (record.photo_thumb or record.photo) if thumb else record.photo
    if not stored:
        raise Http404
    try:
        handle = stored.open("rb")
    except OSError:
        raise Http404 from None
    response = FileResponse(handle, content_type="image/jpeg")
    response["Cache-Control"] = "private, max-age=3600"
    response["X-Content-Type-Options"] = "nosniff"
    return response


@login_required
def visit_photo(request: HttpRequest, pk: int) -> FileResponse:
    return _photo(request, pk, thumb=False)


@login_required
def visit_photo_thumb(request: HttpRequest, pk: int) -> FileResponse:
    return _photo(request, pk, thumb=True)
