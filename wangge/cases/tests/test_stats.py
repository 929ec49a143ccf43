"""Statistics for leaders: the same figures from the monthly rollup as counted live, scoped to
the reader's areas (page, API and XLSX), refreshed by the periodic job."""

from __future__ import annotations

import datetime as dt
import io
import json
from decimal import Decimal
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.db import DatabaseError
from django.test import Client
from django.urls import reverse
from openpyxl import load_workbook

from wangge.accounts.models import Role
from wangge.cases import actions, stats
from wangge.cases.models import Case, CaseMonth, CaseMonthRefresh, Category
from wangge.conftest import World
from wangge.core.models import AuditEntry

pytestmark = pytest.mark.django_db

TZ = dt.timezone(dt.timedelta(hours=8))
NOW = dt.datetime(2026, 6, 20, 10, 0, tzinfo=TZ)


def lifecycle(
    world: World,
    category: Category,
    key: str | None,
    when: dt.datetime,
    *,
    accept: bool = True,
    solve: str = "",
    close: bool = False,
    satisfaction: str = "",
    area: str | None = None,
) -> Case:
    """A case received at ``when`` and taken as far as asked, a day a step."""
    desk, admin = world.user(Role.PETITION_OFFICE), world.user(Role.DISTRICT_ADMIN)
    case = actions.case_receive(
        by=desk,
        category=category,
        text="小区路灯坏了很久没人修" if category.kind == "event" else "交不起养老保险欠费，办不了退休",
        channel="walk_in",
        petitioners=[world.residents[key]] if key else [],
        area=world.areas[area] if area else None,
        now=when,
    )
    day = dt.timedelta(days=1)
    if not accept:
        return case
    case = actions.case_accept(case=case, by=admin, now=when + day)
    if case.needs_home_visit:
        case = actions.visit_record(case=case, by=desk, met="本人", found="情况属实", now=when + 2 * day)
    if case.is_petition:
        case = actions.merit_decide(case=case, by=admin, merit="unreasonable", now=when + 3 * day)
        case = actions.reply_write(case=case, by=desk, text="书面答复", now=when + 4 * day)
    if solve:
        case = actions.resolution_record(
            case=case, by=desk, resolution=solve, done="社会救助代缴", cost_yuan=Decimal("30000"), now=when + 5 * day
        )
        case = actions.case_verify(case=case, by=admin, now=when + 6 * day)
    if satisfaction:
        case = actions.satisfaction_record(case=case, by=desk, satisfaction=satisfaction, now=when + 7 * day)
    if close:
        case = actions.case_close(case=case, by=admin, now=when + 8 * day)
    return case


@pytest.fixture
def history(world: World, pension: Category, facilities: Category) -> list[Case]:
    """Cases over four months in three communities, in every state."""
    return [
        lifecycle(world, pension, "a1_1_head", dt.datetime(2026, 2, 3, 9, tzinfo=TZ), solve="solved", close=True),
        lifecycle(world, pension, "a1_2_head", dt.datetime(2026, 2, 27, 23, tzinfo=TZ), satisfaction=""),
        lifecycle(
            world,
            pension,
            "b1_1_head",
            dt.datetime(2026, 3, 10, 9, tzinfo=TZ),
            solve="solved",
            satisfaction="satisfied",
            close=True,
        ),
        lifecycle(world, facilities, None, dt.datetime(2026, 3, 31, 23, 30, tzinfo=TZ), area="grid_a1_1"),
        lifecycle(
            world,
            facilities,
            None,
            dt.datetime(2026, 4, 1, 0, 30, tzinfo=TZ),
            area="community_b1",
            solve="not_solved",
            satisfaction="dissatisfied",
            close=True,
        ),
        lifecycle(world, pension, "a1_1_head", dt.datetime(2026, 4, 15, 9, tzinfo=TZ), accept=False),
        lifecycle(world, pension, "other_head", dt.datetime(2026, 4, 16, 9, tzinfo=TZ)),
    ]


def comparable(figures: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in figures.items() if k != "refreshed_at"}


RANGES = [
    (None, None),
    (dt.date(2026, 2, 1), dt.date(2026, 3, 31)),
    (dt.date(2026, 2, 15), dt.date(2026, 4, 1)),
    (dt.date(2026, 3, 1), None),
    (None, dt.date(2026, 2, 27)),
]


@pytest.mark.parametrize(("date_from", "date_to"), RANGES)
def test_it_gives_the_same_figures_from_the_monthly_rollup_as_counted_live(
    world: World, history: list[Case], date_from: dt.date | None, date_to: dt.date | None
) -> None:
    from wangge.cases.models import Department

    # The department handler's street office leads the two events and helps with one petition.
    office = Department.objects.get(code="street-office")
    office.members.add(world.user(Role.DEPARTMENT))
    helped = history[1]
    actions.case_assign(
        case=helped, by=world.user(Role.DISTRICT_ADMIN), department=helped.lead_department, co_departments=[office]
    )
    users = [None, *(world.user(role) for role in (Role.DISTRICT_ADMIN, Role.COMMUNITY_STAFF, Role.DEPARTMENT))]
    assert stats.figures(user=world.user(Role.DEPARTMENT))["received"] == 3
    for user in users:
        live = stats.figures(user=user, date_from=date_from, date_to=date_to)
        assert live["refreshed_at"] is None
        stats.refresh(NOW)
        rolled = stats.figures(user=user, date_from=date_from, date_to=date_to)
        CaseMonth.objects.all().delete()
        CaseMonthRefresh.objects.all().delete()
        assert comparable(rolled) == comparable(live)
    stats.refresh(NOW)
    assert stats.figures(user=None, date_from=dt.date(2026, 2, 1), date_to=dt.date(2026, 3, 31))["refreshed_at"]


def test_it_counts_received_accepted_solved_and_closed_apart(world: World, history: list[Case]) -> None:
    stats.refresh(NOW)
    figures = stats.figures(user=world.user(Role.DISTRICT_ADMIN))
    assert figures["received"] == 6  # the seventh is in the other district
    assert figures["accepted"] == 5 and figures["declined"] == 0 and figures["open"] == 3
    assert figures["closed"] == 3 and figures["solved"] == 2 and figures["closed_unsolved"] == 1
    assert figures["solution_rate"] == round(2 / 5, 4)
    assert figures["satisfaction_rate"] == 0.5
    assert figures["average_days_to_solve"] == 5.0
    assert figures["solved_by_merit"]["unreasonable"] == 2
    assert figures["by_kind"]["event"]["received"] == 2
    assert [row["month"] for row in figures["by_month"]] == ["2026-02", "2026-03", "2026-04"]
    # 2026-03-31 23:30 and 2026-04-01 00:30 in Shanghai fall in March and April.
    assert [row["received"] for row in figures["by_month"]] == [2, 2, 2]
    assert figures["zero_petition_communities"] == []


def test_it_shows_a_community_worker_only_their_communitys_figures(
    world: World, history: list[Case], client_for: Any
) -> None:
    stats.refresh(NOW)
    worker = client_for(Role.COMMUNITY_STAFF)  # 灵西社区 (community A1)
    body = worker.get("/api/v1/cases/stats/").json()
    assert body["received"] == 4
    assert {row["name"] for row in body["by_community"]} == {"灵西社区"}
    page = worker.get(reverse("cases:stats")).content.decode()
    assert "灵西社区" in page and "曙光社区" not in page
    sheet = load_workbook(io.BytesIO(worker.get(reverse("cases:stats-export")).content))["按社区"]
    assert [row[1] for row in sheet.iter_rows(min_row=2, values_only=True)] == ["灵西社区"]
    # The street above (one community) sees the same, the district all six.
    assert client_for(Role.STREET_STAFF).get("/api/v1/cases/stats/").json()["received"] == 4
    assert client_for(Role.DISTRICT_ADMIN).get("/api/v1/cases/stats/").json()["received"] == 6
    # A grid worker is counted live over their grid: two petitions and one event.
    assert client_for(Role.GRID_WORKER).get("/api/v1/cases/stats/").json()["received"] == 3


def test_it_404s_an_area_outside_the_readers_on_page_api_and_export(
    world: World, history: list[Case], client_for: Any
) -> None:
    worker = client_for(Role.COMMUNITY_STAFF)
    outside = world.areas["community_b1"].pk
    for url in (reverse("cases:stats"), reverse("cases:stats-export"), "/api/v1/cases/stats/"):
        assert worker.get(url, {"area": outside}).status_code == 404, url
        assert worker.get(url, {"area": "x"}).status_code == 404, url
    inside = worker.get("/api/v1/cases/stats/", {"area": world.areas["grid_a1_2"].pk}).json()
    assert inside["received"] == 1
    for role in (Role.AUDITOR, Role.GUARDIAN):
        assert client_for(role).get(reverse("cases:stats")).status_code == 404
        assert client_for(role).get("/api/v1/cases/stats/").status_code == 404


def test_it_shows_a_department_handler_only_their_departments_figures(
    world: World, history: list[Case], client_for: Any
) -> None:
    from wangge.cases.models import Department

    Department.objects.get(code="street-office").members.add(world.user(Role.DEPARTMENT))
    stats.refresh(NOW)
    # Only the two facilities events go to the street office.
    assert client_for(Role.DEPARTMENT).get("/api/v1/cases/stats/").json()["received"] == 2


def test_it_names_the_communities_without_petitions_and_since_when(
    world: World, pension: Category, facilities: Category
) -> None:
    lifecycle(world, pension, "b1_1_head", dt.datetime(2025, 12, 30, 9, tzinfo=TZ))
    lifecycle(world, facilities, None, dt.datetime(2026, 1, 5, 9, tzinfo=TZ), area="grid_a1_1")
    stats.refresh(NOW)
    figures = stats.figures(
        user=world.user(Role.DISTRICT_ADMIN), date_from=dt.date(2026, 1, 1), date_to=dt.date(2026, 1, 31)
    )
    a1, b1 = str(world.areas["community_a1"].pk), str(world.areas["community_b1"].pk)
    assert figures["zero_petition_communities"] == sorted([a1, b1])
    assert figures["zero_petition_since"][a1] == {"last_petition": None, "days": None}
    assert figures["zero_petition_since"][b1] == {"last_petition": "2025-12-30", "days": 32}


def test_it_exports_the_figures_as_xlsx_with_names_that_cannot_be_formulas(
    world: World, client_for: Any, facilities: Category
) -> None:
    facilities.name = '=HYPERLINK("http://evil.example","点我")'
    facilities.save()
    lifecycle(world, facilities, None, dt.datetime(2026, 3, 1, 9, tzinfo=TZ), area="grid_a1_1")
    response = client_for(Role.DISTRICT_ADMIN).get(reverse("cases:stats-export"), {"date_from": "2026-03-01"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    book = load_workbook(io.BytesIO(response.content))
    assert book.sheetnames == ["概况", "按类别", "按社区", "按月"]
    names = [row[0] for row in book["按类别"].iter_rows(min_row=2, values_only=True)]
    assert names == ["'" + facilities.name]
    summary = dict(book["概况"].iter_rows(min_row=2, values_only=True))
    assert summary["已登记"] == 1
    assert AuditEntry.objects.filter(action=AuditEntry.Action.EXPORT, object_type="cases.case").count() == 1


def test_it_sends_no_export_when_the_audit_entry_cannot_be_written(
    world: World, history: list[Case], monkeypatch: pytest.MonkeyPatch
) -> None:
    client = Client(raise_request_exception=False)
    client.force_login(world.user(Role.DISTRICT_ADMIN))

    def refuse(**kwargs: Any) -> None:
        raise DatabaseError("audit log unavailable")

    monkeypatch.setattr(AuditEntry.objects, "create", refuse)
    response = client.get(reverse("cases:stats-export"))
    assert response.status_code == 500
    assert not response.get("Content-Type", "").startswith("application/vnd.openxmlformats")


def test_it_refreshes_the_rollup_from_the_periodic_job(world: World, history: list[Case]) -> None:
    from wangge.core.periodic import registered_jobs, run_due_jobs
    from wangge.ops import schedule

    schedule.register()
    job = registered_jobs()["cases.monthly_counts"]
    assert job.every == 600
    results = run_due_jobs(runner="test", now=NOW, jobs={job.name: job})
    assert results[job.name] == CaseMonth.objects.filter(span=1).count() > 0
    assert stats.refreshed_at() == NOW


def test_it_shows_the_page_with_its_chart_in_english_and_links_it_from_the_list(
    world: World, history: list[Case], client_for: Any
) -> None:
    client = client_for(Role.DISTRICT_ADMIN)
    assert reverse("cases:stats") in client.get(reverse("cases:list")).content.decode()
    client.cookies["django_language"] = "en"
    body = client.get(reverse("cases:stats"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Case statistics" in body and "Satisfaction rate" in body and "<svg" in body
    refused = client.get(reverse("cases:stats"), {"date_from": "2026-05-01", "date_to": "2026-04-01"})
    assert refused.status_code == 400


def test_it_prints_the_full_figures_from_the_command(world: World, history: list[Case]) -> None:
    stats.refresh(NOW)
    out = StringIO()
    call_command("cases", "stats", "--area", "210304", "--from", "2026-02-01", stdout=out)
    figures = json.loads(out.getvalue().strip().splitlines()[-1])
    for key in ("received", "accepted", "closed", "solved", "closed_unsolved", "response_rate", "solution_rate"):
        assert key in figures
    assert figures["received"] == 6 and "repeat_rate" in figures and "by_community" in figures


def test_it_lists_the_stats_endpoint_in_the_api_schema(client_for: Any) -> None:
    schema = client_for(Role.DISTRICT_ADMIN).get("/api/v1/schema/", {"format": "json"}).json()
    assert "/api/v1/cases/stats/" in schema["paths"]


def test_it_recounts_only_the_months_of_cases_changed_since_the_last_refresh(
    world: World, history: list[Case], pension: Category, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(stats, "STEP_MARGIN", 0)  # only steps after the last refresh
    district = world.user(Role.DISTRICT_ADMIN)
    stats.refresh(NOW)
    assert CaseMonth.objects.filter(span=12, month=dt.date(2026, 1, 1)).exists()
    assert stats.refresh(NOW + dt.timedelta(minutes=10)) == 0  # nothing changed
    # A February petition is solved today; a new petition arrives in (rolled-up) February too.
    actions.resolution_record(
        case=history[1], by=world.user(Role.PETITION_OFFICE), resolution="solved", done="补缴", now=NOW
    )
    lifecycle(world, pension, "b1_1_head", dt.datetime(2026, 2, 10, 9, tzinfo=TZ), accept=False)
    written = stats.refresh(NOW + dt.timedelta(minutes=20))
    assert written == CaseMonth.objects.filter(span=1, month=dt.date(2026, 2, 1)).count()
    rolled = stats.figures(user=district, date_from=dt.date(2026, 1, 1), date_to=dt.date(2026, 5, 31))
    assert rolled["refreshed_at"] and rolled["received"] == 7 and rolled["solved"] == 3
    CaseMonth.objects.all().delete()
    CaseMonthRefresh.objects.all().delete()
    live = stats.figures(user=district, date_from=dt.date(2026, 1, 1), date_to=dt.date(2026, 5, 31))
    assert comparable(rolled) == comparable(live)


def test_it_charts_the_last_months_of_the_range_and_exports_them_all(world: World, history: list[Case]) -> None:
    stats.refresh(NOW)
    district = world.user(Role.DISTRICT_ADMIN)
    every = stats.figures(user=district, date_to=dt.date(2026, 4, 30))["by_month"]
    recent = stats.figures(user=district, date_to=dt.date(2026, 4, 30), recent_months=2)["by_month"]
    assert [row["month"] for row in every] == ["2026-02", "2026-03", "2026-04"]
    assert recent == every[1:]
