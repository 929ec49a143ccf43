"""The audit log page: auditors and district administrators only, with filters and pages."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from wangge.accounts.models import Role
from wangge.conftest import World
from wangge.core.audit import Action, audit
from wangge.core.models import AuditEntry

pytestmark = pytest.mark.django_db


@pytest.fixture
def entries(world: World) -> World:
    worker = world.user(Role.GRID_WORKER)
    staff = world.user(Role.COMMUNITY_STAFF)
    audit(actor=worker, action=Action.VIEW, obj=world.residents["a1_1_ward"], summary="查看 李秀英 的完整信息")
    audit(actor=staff, action=Action.EXPORT, object_type="registry.resident", summary="导出居民名单 3 人")
    audit(actor=worker, action=Action.SEARCH, object_type="registry.search", summary="搜索 wjg")
    return world


@pytest.mark.parametrize("role", [Role.AUDITOR, Role.DISTRICT_ADMIN])
def test_it_shows_the_audit_log_to_auditors_and_district_admins(entries: World, client_for, role: Role) -> None:
    response = client_for(role).get("/audit/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "查看 李秀英 的完整信息" in page and "导出居民名单 3 人" in page


@pytest.mark.parametrize(
    "role",
    [Role.GRID_WORKER, Role.COMMUNITY_STAFF, Role.STREET_STAFF, Role.PETITION_OFFICE, Role.DEPARTMENT, Role.GUARDIAN],
)
def test_it_is_a_404_for_everyone_else(entries: World, client_for, role: Role) -> None:
    assert client_for(role).get("/audit/").status_code == 404


def test_it_filters_by_action(entries: World, client_for) -> None:
    page = client_for(Role.AUDITOR).get("/audit/", {"action": "export"}).content.decode()
    assert "导出居民名单 3 人" in page
    assert "搜索 wjg" not in page


def test_it_filters_by_actor(entries: World, client_for) -> None:
    page = client_for(Role.AUDITOR).get("/audit/", {"actor": "community_staff"}).content.decode()
    assert "导出居民名单 3 人" in page
    assert "查看 李秀英 的完整信息" not in page


def test_it_filters_by_object_type(entries: World, client_for) -> None:
    page = client_for(Role.AUDITOR).get("/audit/", {"object_type": "registry.search"}).content.decode()
    assert "搜索 wjg" in page
    assert "导出居民名单 3 人" not in page


def test_it_filters_by_date_range_in_shanghai_time(entries: World, client_for) -> None:
    today = timezone.localdate()
    client = client_for(Role.AUDITOR)
    page = client.get("/audit/", {"date_from": today.isoformat(), "date_to": today.isoformat()}).content.decode()
    assert "搜索 wjg" in page
    yesterday = (today - dt.timedelta(days=1)).isoformat()
    page = client.get("/audit/", {"date_from": yesterday, "date_to": yesterday}).content.decode()
    assert "搜索 wjg" not in page


def test_it_pages_a_long_log(entries: World, client_for) -> None:
    worker = entries.user(Role.GRID_WORKER)
    for n in range(60):
        audit(actor=worker, action=Action.SEARCH, object_type="registry.search", summary=f"搜索 第{n}次")
    client = client_for(Role.AUDITOR)
    first = client.get("/audit/", {"action": "search"}).content.decode()
    assert "搜索 第59次" in first and "搜索 第0次" not in first
    second = client.get("/audit/", {"action": "search", "page": 2}).content.decode()
    assert "搜索 第0次" in second
    assert AuditEntry.objects.filter(action="search").count() == 61


def test_it_names_each_object_and_links_to_it_for_a_reader_who_may_see_it(entries: World, client_for) -> None:
    ward = entries.residents["a1_1_ward"]
    worker = entries.user(Role.GRID_WORKER)
    audit(actor=None, action=Action.UPDATE, obj=worker, summary="改角色")
    page = client_for(Role.DISTRICT_ADMIN).get("/audit/").content.decode()
    assert f'href="/residents/{ward.pk}/"' in page and f">{ward.name}</a>" in page
    assert f'href="/admin/accounts/user/{worker.pk}/change/"' in page
    assert f"{worker.full_name}（{worker.username}）" in page
    assert f"registry.resident:{ward.pk}" not in page and f"accounts.user:{worker.pk}" not in page


def test_it_gives_an_object_the_reader_may_not_see_a_neutral_label(entries: World, client_for) -> None:
    ward = entries.residents["a1_1_ward"]
    page = client_for(Role.AUDITOR).get("/audit/").content.decode()  # an auditor sees no residents
    assert f"居民 #{ward.pk}" in page
    assert f'href="/residents/{ward.pk}/"' not in page and f"registry.resident:{ward.pk}" not in page


def test_it_lists_object_types_by_their_human_names(entries: World, client_for) -> None:
    page = client_for(Role.AUDITOR).get("/audit/").content.decode()
    assert '<option value="registry.resident">居民</option>' in page
    assert '<option value="registry.search">居民搜索</option>' in page
    client = client_for(Role.AUDITOR)
    client.cookies["django_language"] = "en"
    page = client.get("/audit/").content.decode()
    assert '<option value="registry.resident">Resident</option>' in page
    assert '<option value="registry.search">Resident search</option>' in page


def test_it_shows_summaries_in_the_readers_language_whatever_they_were_written_in(entries: World, client_for) -> None:
    worker = entries.user(Role.GRID_WORKER)
    audit(
        actor=worker,
        action=Action.VIEW,
        object_type="registry.resident",
        summary="查看位置轨迹：李秀英（用途：incident）",
    )
    audit(actor=worker, action=Action.CREATE, object_type="registry.resident", summary="Reported missing: 李秀英")
    chinese = client_for(Role.AUDITOR).get("/audit/").content.decode()
    assert "查看位置轨迹：李秀英（用途：走失搜寻）" in chinese and "用途：incident" not in chinese
    assert "报告走失：李秀英" in chinese
    client = client_for(Role.AUDITOR)
    client.cookies["django_language"] = "en"
    english = client.get("/audit/").content.decode()
    assert "Viewed the location trail: 李秀英 (purpose: missing-person search)" in english
    assert "Reported missing: 李秀英" in english


def test_it_writes_a_known_purpose_by_its_name() -> None:
    from wangge.protection.queries import purpose_label

    assert purpose_label("incident") == "走失搜寻"
    assert purpose_label("checking on her") == "checking on her"
