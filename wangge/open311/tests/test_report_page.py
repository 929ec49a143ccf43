"""The resident's /report/ page and tracking page, the reporter's rating, and the status SMS and
webhook queued by the outbound job."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from wangge.accounts.models import Role
from wangge.cases import actions as case_actions
from wangge.cases.models import Case, Category
from wangge.conftest import World, grid_lon
from wangge.open311 import actions
from wangge.open311.models import Report
from wangge.protection.models import Notification

pytestmark = pytest.mark.django_db


def _form(world: World, **extra: str) -> dict[str, Any]:
    facilities = Category.objects.get(code="facilities")
    return {
        "category": facilities.pk,
        "text": "小区东门路灯坏了",
        "lat": "41.12",
        "lon": str(grid_lon(world.areas["grid_b1_1"])),
        "address": "东门",
        "phone": "13955556666",
        **extra,
    }


def _resolve(world: World, case: Case) -> Case:
    admin = world.user(Role.DISTRICT_ADMIN)
    case = case_actions.case_accept(case=case, by=admin)
    return case_actions.resolution_record(
        case=case, by=world.user(Role.GRID_WORKER), resolution="solved", done="换了灯泡"
    )


def test_it_files_a_report_without_an_account_and_shows_its_progress(world: World) -> None:
    client = Client()
    page = client.get("/report/")
    assert page.status_code == 200 and "我要报事" in page.content.decode()
    response = client.post("/report/", _form(world))
    assert response.status_code == 302
    report = Report.objects.get()
    case = report.case
    assert response["Location"] == f"/report/{report.code}/"
    assert case.channel == "web" and case.grid == world.areas["grid_b1_1"] and case.received_by is None
    track = client.get(response["Location"]).content.decode()
    assert report.code in track and "已登记" in track and "data:image/svg+xml" in track
    english = Client()
    english.cookies["django_language"] = "en"
    assert "Report progress" in english.get(response["Location"]).content.decode()
    assert client.get("/report/NOSUCH99/").status_code == 404


def test_it_turns_away_bots_and_floods(world: World) -> None:
    client = Client()
    assert client.post("/report/", _form(world, website="http://spam.example")).status_code == 400
    assert not Case.objects.exists()
    statuses = [client.post("/report/", _form(world, phone="")).status_code for _ in range(11)]
    assert statuses[:10] == [302] * 10 and statuses[10] == 400
    assert Case.objects.count() == 10


def test_it_refuses_a_point_outside_the_district_and_a_bad_phone(world: World) -> None:
    client = Client()
    assert client.post("/report/", _form(world, lat="10", lon="10")).status_code == 400
    assert client.post("/report/", _form(world, phone="12345")).status_code == 400
    assert not Case.objects.exists()


def test_it_lets_the_reporter_rate_the_result(world: World) -> None:
    client = Client()
    client.post("/report/", _form(world))
    report = Report.objects.get()
    assert "评价处理结果" not in client.get(f"/report/{report.code}/").content.decode()
    _resolve(world, report.case)
    response = client.post(f"/report/{report.code}/", {"satisfaction": "satisfied", "note": "很快"})
    assert response.status_code == 302
    case = Case.objects.get()
    assert case.satisfaction == "satisfied"
    step = case.steps.get(kind="satisfaction")
    assert step.by is None and step.data == {"via": "resident"}


def test_it_texts_the_reporter_and_calls_the_apps_webhook_once_per_status_change(world: World) -> None:
    app, _key = actions.client_app_create(name="Hooked", webhook_url="https://example.org/hook")
    report = actions.report_submit(
        category=Category.objects.get(code="hazard"),
        text="井盖丢失",
        channel="open311",
        lat=41.12,
        lon=grid_lon(world.areas["grid_a1_1"]),
        phone="13977778888",
        client_app=app,
    )
    assert actions.notify_status_changes() == 0  # nothing changed yet
    case_actions.case_accept(case=report.case, by=world.user(Role.DISTRICT_ADMIN))
    assert actions.notify_status_changes() == 1
    assert actions.notify_status_changes() == 0
    rows = {n.channel: n for n in Notification.objects.all()}
    assert set(rows) == {"sms", "webhook"}
    assert rows["sms"].address == "13977778888" and report.code in rows["sms"].payload["title"]
    assert rows["webhook"].address == "https://example.org/hook"
    assert rows["webhook"].payload["status"] == "accepted"


def test_case_report_refuses_an_anonymous_petition_and_staff_channels(world: World) -> None:
    from django.core.exceptions import ValidationError

    grid = world.areas["grid_a1_1"]
    with pytest.raises(ValidationError):
        case_actions.case_report(
            category=Category.objects.get(code="other-petition"), text="反映", channel="web", area=grid
        )
    with pytest.raises(ValidationError):
        case_actions.case_report(
            category=Category.objects.get(code="facilities"), text="灯", channel="phone", area=grid
        )
    named = case_actions.case_report(
        category=Category.objects.get(code="other-petition"), text="反映", channel="web", area=grid, contact_name="刘明"
    )
    assert named.kind == "petition" and named.grid == grid
    with pytest.raises(ValidationError):
        case_actions.satisfaction_from_resident(case=named, satisfaction="satisfied")


def test_staff_see_public_reports_only_in_their_scope(world: World, client_for: Any) -> None:
    Client().post("/report/", _form(world))
    case = Case.objects.get()  # in grid_b1_1 (community b1)
    assert client_for(Role.DISTRICT_ADMIN).get(f"/cases/{case.pk}/").status_code == 200
    assert client_for(Role.COMMUNITY_STAFF).get(f"/cases/{case.pk}/").status_code == 404
    assert client_for(Role.GRID_WORKER).get(f"/cases/{case.pk}/").status_code == 404
