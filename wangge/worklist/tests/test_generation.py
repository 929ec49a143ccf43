"""Daily generation: idempotent, closes what no longer holds, follows corrections, recurs,
escalates once; the command and the periodic job."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from io import StringIO

from django.core.management import call_command

from wangge.accounts.models import Role
from wangge.conftest import World
from wangge.core.models import AuditEntry
from wangge.registry import actions as registry_actions
from wangge.registry.models import Resident
from wangge.worklist import actions, jobs
from wangge.worklist.models import Task
from wangge.worklist.tests.conftest import TODAY, ages

Make = Callable[..., Resident]


def test_generating_twice_for_the_same_date_creates_nothing_the_second_time(world: World, person: Make) -> None:
    person(ages(80), care=("elderly_alone",))
    person(TODAY - dt.timedelta(days=2))
    first = actions.generate(today=TODAY)
    assert first.created >= 3
    count = Task.objects.count()
    second = actions.generate(today=TODAY)
    assert (second.created, second.closed, second.moved) == (0, 0, 0)
    assert Task.objects.count() == count == second.open


def test_moving_a_resident_out_closes_their_open_tasks(world: World, person: Make) -> None:
    resident = person(ages(80), care=("elderly_alone",))
    actions.generate(today=TODAY)
    assert Task.objects.filter(resident=resident, status=Task.Status.OPEN).count() == 2
    registry_actions.resident_move_out(by=world.user(Role.GRID_WORKER), resident=resident, date=TODAY)
    summary = actions.generate(today=TODAY)
    assert summary.closed == 2
    assert set(Task.objects.filter(resident=resident).values_list("status", flat=True)) == {Task.Status.LAPSED}


def test_a_correction_of_a_birth_date_moves_the_due_dates(world: World, person: Make) -> None:
    resident = person(ages(80, days=-10))
    actions.generate(today=TODAY)
    task = Task.objects.get(resident=resident, rule__code="longevity-allowance")
    assert task.due == TODAY + dt.timedelta(days=4)
    # The registry had the birth date three days off; the data are corrected.
    Resident.objects.filter(pk=resident.pk).update(birth_date=resident.birth_date + dt.timedelta(days=3))
    summary = actions.generate(today=TODAY)
    task.refresh_from_db()
    assert (summary.moved, summary.created) == (1, 0)
    assert task.due == TODAY + dt.timedelta(days=7) and task.status == Task.Status.OPEN


def test_a_weekly_check_recurs_and_the_missed_week_is_recorded(world: World, person: Make) -> None:
    resident = person(ages(85), care=("elderly_alone",))
    actions.generate(today=TODAY)
    actions.generate(today=TODAY + dt.timedelta(days=7))
    weekly = Task.objects.filter(resident=resident, rule__code="alone-80-weekly").order_by("period")
    assert [t.status for t in weekly] == [Task.Status.MISSED, Task.Status.OPEN]
    assert weekly[1].due == weekly[0].due + dt.timedelta(days=7)


def test_an_overdue_task_escalates_to_the_community_once(world: World, person: Make) -> None:
    person(ages(80, days=-20))
    assert actions.generate(today=TODAY).escalated == 1
    assert actions.generate(today=TODAY).escalated == 0
    assert Task.objects.get(rule__code="longevity-allowance").escalated_at is not None


def test_a_helper_rule_assigns_the_linked_volunteer(world: World, person: Make) -> None:
    from wangge.accounts.models import User
    from wangge.areas.models import Membership, Organisation

    resident = person(ages(80), care=("elderly_alone",))
    grid = world.areas["grid_a1_1"]
    team = Organisation.objects.create(name="志愿服务队", kind=Organisation.Kind.VOLUNTEERS, area=grid)
    volunteer = User.objects.create_user(username="vol", password="x-网格-2024", role=Role.GUARDIAN)
    Membership.objects.create(organisation=team, user=volunteer)
    assert resident.household is not None
    actions.helper_link(by=world.user(Role.COMMUNITY_STAFF), helper=volunteer, household=resident.household)
    actions.generate(today=TODAY)
    assert Task.objects.get(resident=resident, rule__code="alone-80-weekly").assignee == volunteer
    assert Task.objects.get(resident=resident, rule__code="longevity-allowance").assignee is None


def test_the_command_prints_a_json_summary_as_its_last_line(world: World, person: Make) -> None:
    person(ages(80))
    out = StringIO()
    call_command("worklist", "generate", "--date", TODAY.isoformat(), stdout=out)
    summary = json.loads(out.getvalue().strip().splitlines()[-1])
    assert summary["created"] == Task.objects.count() == summary["open"] >= 1 and summary["closed"] == 0
    out = StringIO()
    call_command("worklist", "generate", "--date", TODAY.isoformat(), stdout=out)
    assert json.loads(out.getvalue().strip().splitlines()[-1])["created"] == 0
    assert AuditEntry.objects.filter(object_type="worklist.task").count() == 2


def test_the_periodic_job_generates_the_days_tasks(world: World, person: Make) -> None:
    person(ages(80))
    from django.utils import timezone

    result = jobs.run(timezone.make_aware(dt.datetime.combine(TODAY, dt.time(1))))
    assert result["created"] == Task.objects.filter(rule__code="longevity-allowance").count() + 1


def test_annual_reviews_spread_over_the_year_and_none_is_overdue_when_made(world: World, person: Make) -> None:
    for _ in range(6):
        person(ages(50), care=("minimum_income",))
    actions.generate(today=TODAY)
    reviews = Task.objects.filter(rule__code="minimum-income-review")
    assert reviews.count() == 6
    assert len({t.anchor for t in reviews}) == 6  # each household's year starts on a day of its own
    assert all(TODAY <= t.due < t.anchor + dt.timedelta(days=365) for t in reviews)
    assert not reviews.filter(escalated_at__isnull=False).exists()
