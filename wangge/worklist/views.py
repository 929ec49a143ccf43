"""The worklist pages: the morning's walk on a phone, the visit form, and coverage for the
community and street. Thin: parse, call a query or an action, render."""

from __future__ import annotations

import uuid
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from wangge.accounts import policy
from wangge.areas.queries import get_area
from wangge.registry.models import Resident
from wangge.worklist import actions, queries
from wangge.worklist.forms import VisitForm


@login_required
def today(request: HttpRequest) -> HttpResponse:
    user = request.user
    if not policy.can_see_worklist(user):
        raise Http404
    day = timezone.localdate()
    stops = queries.worklist(user, today=day, days=queries.UPCOMING_DAYS)
    for stop in stops:
        stop.client_id = uuid.uuid4()  # type: ignore[attr-defined]
    context = {
        "stops": stops,
        "today": day,
        "tasks": sum(len(s.tasks) for s in stops),
        "can_see_coverage": policy.can_see_coverage(user),
    }
    return render(request, "worklist/today.html", context)


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
    user = request.user
    if not policy.can_see_coverage(user):
        raise Http404
    day = timezone.localdate()
    context: dict[str, Any] = {
        "grids": queries.coverage(user, today=day),
        "months": queries.coverage_by_month(user, today=day),
        "escalated": list(queries.escalated(user)[:100]),
        "days": queries.COVERAGE_DAYS,
    }
    return render(request, "worklist/coverage.html", context)


@login_required
def unvisited(request: HttpRequest, grid: int) -> HttpResponse:
    """ "Know every household": a grid's households not visited lately."""
    user = request.user
    area = get_area(user, grid)
    households = queries.unvisited_households(user, area, today=timezone.localdate())
    context = {"grid": area, "households": households, "days": queries.COVERAGE_DAYS}
    return render(request, "worklist/unvisited.html", context)


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
