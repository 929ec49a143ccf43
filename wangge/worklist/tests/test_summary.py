"""The worklist at each level: a grid worker walks a list; community, street and district staff
get counts by child area (open, due today, overdue, escalated; coverage from the worker's
rollup) and drill down to one grid's list; tasks above the grid come a page at a time; an area
outside the user's is a 404; the district's page never reads every task."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from wangge.accounts.models import Role, User
from wangge.conftest import World
from wangge.registry.models import Resident
from wangge.worklist import actions, rollups, summary, views
from wangge.worklist.models import CoverageCount, Task
from wangge.worklist.tests.conftest import ages

pytestmark = pytest.mark.django_db
Make = Callable[..., Resident]


def _tasks(world: World, person: Make, grid: str, *, n: int, name: str = "刘桂兰") -> list[Task]:
    """``n`` open longevity-allowance tasks in ``grid``, due in six days. The world's own
    residents' tasks are dropped, so the counts are these alone."""
    today = timezone.localdate()
    residents = [person(ages(80, days=-8, today=today), grid=grid, name=f"{name}{i}") for i in range(n)]
    actions.generate(today=today)
    Task.objects.filter(resident__in=list(world.residents.values())).delete()
    tasks = list(Task.objects.filter(resident__in=residents).order_by("pk"))
    assert len(tasks) == n
    return tasks


def _overdue(tasks: list[Task], *, escalated: int = 0) -> None:
    """These tasks fell due yesterday; the first ``escalated`` went to the community secretary
    (after the day's generation, which would set the due dates again)."""
    yesterday = timezone.localdate() - dt.timedelta(days=1)
    for index, task in enumerate(tasks):
        task.due = yesterday
        task.escalated_at = timezone.now() if index < escalated else None
        task.save(update_fields=["due", "escalated_at"])


def _rows(page: Any) -> dict[str, summary.Row]:
    return {row.area.name: row for row in page.context["summary"].rows if row.area is not None}


def test_a_grid_worker_keeps_the_walking_list(world: World, person: Make, client_for: Any) -> None:
    _overdue(_tasks(world, person, "grid_a1_1", n=2)[:1])
    page = client_for(Role.GRID_WORKER).get(reverse("worklist:today"))
    html = page.content.decode()
    assert page.status_code == 200 and 'id="stops"' in html and 'id="summary"' not in html
    assert "刘桂兰0" in html and "刘桂兰1" in html


def test_the_district_administrator_gets_counts_by_street_not_a_list(
    world: World, person: Make, client_for: Any
) -> None:
    _tasks(world, person, "grid_b1_1", n=1, name="孙秀芳")
    _overdue(_tasks(world, person, "grid_a1_1", n=3)[:2], escalated=1)
    page = client_for(Role.DISTRICT_ADMIN).get(reverse("worklist:today"))
    html = page.content.decode()
    assert page.status_code == 200 and 'id="summary"' in html and 'id="stops"' not in html
    rows = _rows(page)
    assert set(rows) == {"友好街道", "曙光街道"}
    street_a, street_b = rows["友好街道"], rows["曙光街道"]
    assert (street_a.open, street_a.due_today, street_a.overdue, street_a.escalated) == (3, 0, 2, 1)
    assert (street_b.open, street_b.overdue, street_b.escalated) == (1, 0, 0)
    total = page.context["summary"].total
    assert (total.open, total.overdue, total.escalated) == (4, 2, 1)
    assert "孙秀芳0" not in html  # no task listed but the escalated one
    assert "刘桂兰0" in html and 'id="escalated-tasks"' in html
    assert reverse("worklist:area", args=[world.areas["street_a"].pk]) in html


def test_a_task_due_today_counts_as_due_today(world: World, person: Make, client_for: Any) -> None:
    _tasks(world, person, "grid_a1_1", n=2)
    Task.objects.filter(pk=Task.objects.order_by("pk").values("pk")[:1]).update(due=timezone.localdate())
    rows = _rows(client_for(Role.COMMUNITY_STAFF).get(reverse("worklist:today")))
    assert (rows["灵西第一网格"].open, rows["灵西第一网格"].due_today, rows["灵西第一网格"].overdue) == (2, 1, 0)
    assert rows["灵西第二网格"].open == 0


def test_staff_drill_down_from_the_district_to_one_grids_walking_list(
    world: World, person: Make, client_for: Any
) -> None:
    _overdue(_tasks(world, person, "grid_a1_1", n=2)[:1])
    client = client_for(Role.DISTRICT_ADMIN)
    street = client.get(reverse("worklist:area", args=[world.areas["street_a"].pk]))
    assert set(_rows(street)) == {"灵西社区"} and _rows(street)["灵西社区"].open == 2
    community = client.get(reverse("worklist:area", args=[world.areas["community_a1"].pk]))
    assert set(_rows(community)) == {"灵西第一网格", "灵西第二网格"}
    assert reverse("worklist:area", args=[world.areas["grid_a1_1"].pk]) in community.content.decode()
    grid = client.get(reverse("worklist:area", args=[world.areas["grid_a1_1"].pk]))
    html = grid.content.decode()
    assert grid.status_code == 200 and 'id="stops"' in html and "刘桂兰0" in html and "刘桂兰1" in html
    assert reverse("worklist:area", args=[world.areas["community_a1"].pk]) in html  # the way back up


def test_the_street_officer_gets_communities_and_the_community_secretary_grids(
    world: World, person: Make, client_for: Any
) -> None:
    _tasks(world, person, "grid_a1_2", n=1)
    assert set(_rows(client_for(Role.STREET_STAFF).get(reverse("worklist:today")))) == {"灵西社区"}
    community = _rows(client_for(Role.COMMUNITY_STAFF).get(reverse("worklist:today")))
    assert community["灵西第二网格"].open == 1 and community["灵西第一网格"].open == 0


def test_an_area_outside_the_users_is_a_404(world: World, client_for: Any, neighbour_worker: User) -> None:
    def status(role: str, name: str, key: str) -> int:
        return int(client_for(role).get(reverse(f"worklist:{name}", args=[world.areas[key].pk])).status_code)

    assert status(Role.STREET_STAFF, "area", "street_b") == 404
    assert status(Role.STREET_STAFF, "unvisited", "street_b") == 404
    assert status(Role.COMMUNITY_STAFF, "area", "grid_b1_1") == 404
    assert status(Role.COMMUNITY_STAFF, "area", "other_grid") == 404
    neighbour = Client()
    neighbour.force_login(neighbour_worker)
    assert neighbour.get(reverse("worklist:area", args=[world.areas["grid_a1_1"].pk])).status_code == 404
    assert neighbour.get(reverse("worklist:area", args=[world.areas["grid_a1_2"].pk])).status_code == 200
    for role in (Role.GUARDIAN, Role.AUDITOR, Role.PETITION_OFFICE):
        assert client_for(role).get(reverse("worklist:area", args=[world.areas["grid_a1_1"].pk])).status_code == 404
    assert client_for(Role.DISTRICT_ADMIN).get(reverse("worklist:area", args=[999999])).status_code == 404


def test_escalated_tasks_above_the_grid_come_a_page_at_a_time(
    world: World, person: Make, client_for: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(views, "PAGE_SIZE", 2)
    _overdue(_tasks(world, person, "grid_a1_1", n=5)[:5], escalated=5)
    client = client_for(Role.DISTRICT_ADMIN)
    first = client.get(reverse("worklist:today"))
    assert len(first.context["escalated"]) == 2 and first.context["page"].paginator.num_pages == 3
    assert "?page=2" in first.content.decode()
    last = client.get(reverse("worklist:today"), {"page": "3"})
    assert len(last.context["escalated"]) == 1
    assert client.get(reverse("worklist:today"), {"page": "x"}).status_code == 200  # the first page


def test_the_district_page_counts_tasks_and_never_reads_them_all(world: World, person: Make, client_for: Any) -> None:
    client = client_for(Role.DISTRICT_ADMIN)
    rollups.refresh()

    def task_queries() -> list[str]:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(reverse("worklist:today")).status_code == 200
        return [q["sql"] for q in captured.captured_queries if '"worklist_task"' in q["sql"]]

    _overdue(_tasks(world, person, "grid_a1_1", n=2)[:1], escalated=1)
    few = task_queries()
    _overdue(_tasks(world, person, "grid_b1_1", n=6, name="孙秀芳")[:3], escalated=3)
    many = task_queries()
    assert len(many) == len(few), "the number of queries does not grow with the tasks"
    for sql in many:
        # every read of the tasks is a count, one page of ids, or that page's rows by id
        assert "COUNT(" in sql.upper() or "LIMIT" in sql.upper() or '"worklist_task"."id" IN (' in sql, sql


def test_coverage_comes_from_the_rollup_at_every_level(world: World, person: Make, client_for: Any) -> None:
    _tasks(world, person, "grid_a1_1", n=2)
    task = Task.objects.order_by("pk").first()
    assert task is not None and task.household is not None
    actions.visit_record(
        by=world.user(Role.GRID_WORKER), household=task.household, client_id=uuid.uuid4(), tasks=[task]
    )
    assert rollups.refresh() == 12  # every area of the world
    grid = CoverageCount.objects.get(area=world.areas["grid_a1_1"])
    district = CoverageCount.objects.get(area=world.areas["district"])
    # the world's household 101 and the two of the tasks; one visited, two never
    assert (grid.households, grid.visited, grid.never) == (3, 1, 2)
    assert district.households == 5 and district.visited == 1
    page = client_for(Role.DISTRICT_ADMIN).get(reverse("worklist:coverage"))
    assert page.status_code == 200 and set(_rows(page)) == {"友好街道", "曙光街道"}
    assert _rows(page)["友好街道"].visited_percent == 25  # 1 of street A's 4 households
    assert "统计于" in page.content.decode()
    drill = client_for(Role.DISTRICT_ADMIN).get(reverse("worklist:unvisited", args=[world.areas["street_a"].pk]))
    assert drill.status_code == 200 and set(_rows(drill)) == {"灵西社区"}


def test_coverage_is_counted_live_for_areas_the_rollup_has_not_reached(
    world: World, person: Make, client_for: Any
) -> None:
    _tasks(world, person, "grid_a1_2", n=1)
    assert not CoverageCount.objects.exists()
    rows = _rows(client_for(Role.COMMUNITY_STAFF).get(reverse("worklist:coverage")))
    assert rows["灵西第二网格"].coverage is not None and rows["灵西第二网格"].coverage.households == 2
    assert rows["灵西第二网格"].visited_percent == 0


def test_a_register_follow_up_counts_only_for_those_the_register_lets_see_it(world: World, client_for: Any) -> None:
    from wangge.worklist.tests.test_registers_and_rentals import listed

    listed(world, "aids")  # district and community staff only
    actions.generate(today=timezone.localdate())
    district = _rows(client_for(Role.DISTRICT_ADMIN).get(reverse("worklist:today")))
    street = _rows(client_for(Role.STREET_STAFF).get(reverse("worklist:today")))
    assert district["友好街道"].open == street["灵西社区"].open + 1


def test_the_summary_reads_in_english(world: World, person: Make, client_for: Any) -> None:
    _tasks(world, person, "grid_a1_1", n=1)
    client = client_for(Role.DISTRICT_ADMIN)
    client.cookies["django_language"] = "en"
    html = client.get(reverse("worklist:today")).content.decode()
    for text in ("To do", "Due today", "Overdue", "Escalated", "Street", "Visited, last 90 days"):
        assert text in html, text
    assert "待办" not in html and "逾期" not in html
