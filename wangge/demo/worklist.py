"""A realistic morning on every grid worker's worklist (issue 12).

The worklist's own generation runs twice, two weeks ago and today, so that the older tasks have
a history: most were done on a visit before their due date, some late, some missed or still
overdue (escalated to the community). Besides the visits that completed tasks, each grid has
ordinary household visits over the last 90 days, so coverage has figures and some households
stand out as never visited. The demo volunteer looks after a few elderly households of the grid
worker's grid (党员联系户). Visits are written in bulk with their area columns (one audit entry
for the lot, as the build's other bulk rows): at the full district they number tens of
thousands.
"""

from __future__ import annotations

import datetime as dt
import random
import uuid
from dataclasses import dataclass
from typing import Any

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext

from wangge.areas.models import Area, Membership, Organisation
from wangge.core.audit import Action, audit
from wangge.registry.models import Household, Resident
from wangge.worklist import actions
from wangge.worklist.conditions import shift
from wangge.worklist.models import HelperLink, Task, Visit

HISTORY_DAYS = 14
DONE_SHARE = 0.75  # of the tasks made two weeks ago
LATE_SHARE = 0.15  # of those done, done after their due date
VISITED_SHARE = 0.45  # households with an ordinary visit in the last 90 days
VOLUNTEER_HOUSEHOLDS = 8

NOTES = [
    ("本人", "身体状况良好，生活能自理"),
    ("本人及子女", "子女每周回来一次，已留网格员电话"),
    ("本人", "血压偏高，提醒按时服药"),
    ("配偶", "家中暖气不热，已告知物业"),
    ("本人", "询问高龄津贴办理进度，已解释"),
    ("家属", "近期住院，出院后再次走访"),
]


@dataclass
class Story:
    tasks: int = 0
    open: int = 0
    visits: int = 0
    escalated: int = 0
    volunteer_households: int = 0


def _visit(household: Any, worker: Any, at: dt.datetime, rng: random.Random) -> Visit:
    met, notes = rng.choice(NOTES)
    visit = Visit(
        client_id=uuid.UUID(int=rng.getrandbits(128), version=4),
        household_id=household[0],
        grid_id=household[1],
        community_id=household[2],
        street_id=household[3],
        district_id=household[4],
        kind=Visit.Kind.HOME if rng.random() < 0.85 else Visit.Kind.PHONE,
        met=met,
        notes=notes,
        follow_up=rng.random() < 0.1,
        visited_at=at,
        recorded_by=worker,
    )
    return visit


def build(*, grids: list[Area], workers: dict[int, Any], volunteer: Any, grid: Area, seed: int,
          today: dt.date) -> Story:  # fmt: skip
    rng = random.Random(seed)
    story = Story()
    now = timezone.now()
    tz = timezone.get_default_timezone()
    story.volunteer_households = _link_volunteer(volunteer=volunteer, grid=grid, today=today)

    # Two weeks ago: the tasks then, most of them done by a visit before (or after) their due date.
    then = today - dt.timedelta(days=HISTORY_DAYS)
    actions.generate(today=then, now=now - dt.timedelta(days=HISTORY_DAYS))
    areas = {
        h[0]: h
        for h in Household.objects.filter(grid__in=grids).values_list(
            "pk", "grid_id", "community_id", "street_id", "district_id"
        )
    }
    visits: list[Visit] = []
    done: list[tuple[int, int]] = []  # (task, index of its visit)
    for pk, household_id, grid_id, anchor, due in (
        Task.objects.filter(status=Task.Status.OPEN, household__isnull=False, grid_id__in=workers)
        .values_list("pk", "household_id", "grid_id", "anchor", "due")
        .order_by("pk")
    ):
        if rng.random() > DONE_SHARE or household_id not in areas:
            continue
        start = max(anchor, then)
        end = min(today - dt.timedelta(days=1), due if rng.random() > LATE_SHARE else today - dt.timedelta(days=1))
        day = start + dt.timedelta(days=rng.randint(0, max(0, (end - start).days)))
        at = dt.datetime.combine(day, dt.time(rng.randint(8, 16), rng.randint(0, 59)), tzinfo=tz)
        visits.append(_visit(areas[household_id], workers[grid_id], at, rng))
        done.append((pk, len(visits) - 1))
    # Ordinary visits over the last 90 days; the rest of the households are "not visited lately".
    for household in areas.values():
        if household[1] in workers and rng.random() < VISITED_SHARE:
            day = today - dt.timedelta(days=rng.randint(1, 89))
            at = dt.datetime.combine(day, dt.time(rng.randint(8, 16), rng.randint(0, 59)), tzinfo=tz)
            visits.append(_visit(household, workers[household[1]], at, rng))
    stored = Visit.objects.bulk_create(visits, batch_size=2000)
    by_task = {task: stored[index] for task, index in done}
    tasks = list(Task.objects.filter(pk__in=list(by_task)))
    for task in tasks:
        task.status, task.visit, task.closed_at = Task.Status.DONE, by_task[task.pk], by_task[task.pk].visited_at
    Task.objects.bulk_update(tasks, ["status", "visit", "closed_at"], batch_size=2000)

    # This morning: today's run closes the missed weeks, adds the new tasks and escalates.
    summary = actions.generate(today=today, now=now)
    story.visits = len(stored)
    story.tasks = Task.objects.count()
    story.open = summary.open
    story.escalated = Task.objects.filter(status=Task.Status.OPEN, escalated_at__isnull=False).count()
    audit(
        actor=None,
        action=Action.IMPORT,
        object_type="worklist.visit",
        summary=gettext("演示数据：%(visits)d 次走访，%(tasks)d 项服务任务")
        % {"visits": story.visits, "tasks": story.tasks},
        detail={"visits": story.visits, "tasks": story.tasks},
    )
    return story


def _link_volunteer(*, volunteer: Any, grid: Area, today: dt.date) -> int:
    """The demo volunteer looks after a few of the grid's elderly households."""
    team = Organisation.objects.filter(
        area=grid, kind=Organisation.Kind.VOLUNTEERS, memberships__in=Membership.objects.filter(user=volunteer)
    ).first()
    if team is None:
        return 0
    elderly = Resident.objects.filter(
        Q(care_tags__category__code="elderly_alone") | Q(birth_date__lte=shift(today, years=-75)),
        grid=grid,
        status=Resident.Status.LIVING,
        household__isnull=False,
    )
    households = list(
        Household.objects.filter(pk__in=elderly.values("household_id")).order_by("pk")[:VOLUNTEER_HOUSEHOLDS]
    )
    HelperLink.objects.bulk_create(
        [
            HelperLink(
                helper=volunteer,
                organisation=team,
                household=h,
                since=today - dt.timedelta(days=180),
                grid_id=h.grid_id,
                community_id=h.community_id,
                street_id=h.street_id,
                district_id=h.district_id,
            )
            for h in households
        ]
    )
    return len(households)
