"""Open alerts and searches reach the home page of everyone who must act, and the tab's badge."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

from wangge.accounts.models import AreaAssignment, Role, User
from wangge.conftest import PASSWORD, World
from wangge.protection import incidents
from wangge.protection.models import Alert, Notification
from wangge.protection.queries import urgent_for
from wangge.protection.tests.conftest import Protected, arrive, protect

pytestmark = pytest.mark.django_db


def login(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def banners(html: str) -> list[str]:
    return re.findall(r'<a class="urgent-banner" href="([^"]+)">', html)


def badge(html: str) -> str | None:
    match = re.search(r'href="/protection/"[^>]*>[^<]*<span class="navbadge"[^>]*>(\d+)</span>', html)
    return match.group(1) if match else None


@pytest.fixture
def protected(world: World) -> Protected:
    return protect(world)


def test_it_shows_the_grid_worker_a_red_banner_for_an_open_alert_linking_to_it(protected: Protected) -> None:
    arrive([protected.fix(alarm="sos")])
    alert = Alert.objects.get(kind="sos")
    html = login(protected.world.user(Role.GRID_WORKER)).get("/").content.decode()
    assert banners(html) == [f"/protection/alerts/#alert-{alert.pk}"]
    assert "告警：李秀英 紧急求助" in html
    assert badge(html) == "1"
    alerts_page = login(protected.world.user(Role.GRID_WORKER)).get("/protection/alerts/").content.decode()
    assert f'id="alert-{alert.pk}"' in alerts_page  # the banner's anchor exists


@pytest.mark.parametrize("role", [Role.GUARDIAN, Role.GRID_WORKER, Role.COMMUNITY_STAFF, Role.DISTRICT_ADMIN])
def test_it_shows_everyone_who_must_act_the_open_search(protected: Protected, role: str) -> None:
    incident = incidents.incident_report(by=protected.world.user(Role.COMMUNITY_STAFF), enrolment=protected.enrolment)
    html = login(protected.world.user(role)).get("/").content.decode()
    assert f"/protection/incidents/{incident.pk}/" in banners(html)
    assert "正在搜寻走失人员：李秀英" in html
    assert badge(html) == "1"


def test_it_shows_nothing_to_staff_elsewhere_or_to_roles_that_do_not_act(protected: Protected) -> None:
    arrive([protected.fix(alarm="sos")])
    incidents.incident_report(by=protected.world.user(Role.GUARDIAN), enrolment=protected.enrolment)
    elsewhere = User.objects.create_user(username="street_b", password=PASSWORD, role=Role.STREET_STAFF)
    AreaAssignment.objects.create(user=elsewhere, area=protected.world.areas["street_b"])
    for user in (elsewhere, protected.world.user(Role.AUDITOR), protected.world.user(Role.DEPARTMENT)):
        html = login(user).get("/").content.decode()
        assert banners(html) == [] and badge(html) is None, user.username


def test_it_leaves_a_phone_switched_off_to_the_family(protected: Protected) -> None:
    Alert.objects.create(enrolment=protected.enrolment, kind=Alert.Kind.PHONE_OFF, **_scope(protected))
    assert len(banners(login(protected.world.user(Role.GUARDIAN)).get("/").content.decode())) == 1
    assert banners(login(protected.world.user(Role.GRID_WORKER)).get("/").content.decode()) == []


def _scope(protected: Protected) -> dict[str, Any]:
    e = protected.enrolment
    return {
        "grid_id": e.grid_id,
        "community_id": e.community_id,
        "street_id": e.street_id,
        "district_id": e.district_id,
    }


def test_it_shows_a_few_banners_and_the_total_beyond_them(protected: Protected, world: World) -> None:
    others = [protect(world, key) for key in ("a1_1_head",)]
    for kind in ("sos", "low_battery", "silent", "left_zone"):
        for p in (protected, *others):
            Alert.objects.create(enrolment=p.enrolment, kind=kind, **_scope(p))
    urgent = urgent_for(world.user(Role.COMMUNITY_STAFF))
    assert (urgent.alert_count, len(urgent.alerts)) == (8, 5)
    html = login(world.user(Role.COMMUNITY_STAFF)).get("/").content.decode()
    assert len(banners(html)) == 5 and "共 8 项待处理，查看全部" in html and badge(html) == "8"


def test_a_quiet_home_page_costs_two_counts_more(world: World, django_assert_max_num_queries: Any) -> None:
    client = login(world.user(Role.GRID_WORKER))
    client.get("/")  # warm the session and caches
    with django_assert_max_num_queries(20) as captured:
        html = client.get("/").content.decode()
    assert banners(html) == []
    urgent_sql = [q["sql"] for q in captured.captured_queries if "protection_" in q["sql"]]
    assert len(urgent_sql) == 2, urgent_sql  # one count of alerts, one of searches; no rows read


def test_the_notifications_on_the_protection_page_are_links(protected: Protected) -> None:
    arrive([protected.fix(alarm="sos")])
    incident = incidents.incident_report(by=protected.world.user(Role.COMMUNITY_STAFF), enrolment=protected.enrolment)
    alert = Alert.objects.get(kind="sos")
    assert Notification.objects.filter(recipient=protected.world.user(Role.GUARDIAN), channel="in_app").count() == 2
    html = login(protected.world.user(Role.GUARDIAN)).get("/protection/").content.decode()
    links = re.findall(r'<a class="row" href="([^"]+)">', html.split('id="notifications"')[1].split("</ul>")[0])
    assert sorted(links) == sorted([f"/protection/incidents/{incident.pk}/", f"/protection/alerts/#alert-{alert.pk}"])
