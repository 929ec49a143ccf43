"""The home page per role, the top bar and the language switch, through HTTP."""

from __future__ import annotations

import re

import pytest
from django.conf import settings
from django.test import Client

from wangge.accounts.models import Role
from wangge.conftest import PASSWORD, World
from wangge.core.models import AuditEntry

pytestmark = pytest.mark.django_db


def test_it_lists_the_grid_workers_buildings_on_home(world: World, client_for) -> None:
    response = client_for(Role.GRID_WORKER).get("/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "灵西第一网格" in page
    assert f"/buildings/{world.buildings['grid_a1_1'].pk}/" in page
    assert f"/buildings/{world.buildings['grid_a1_2'].pk}/" not in page


def test_it_reaches_a_household_in_two_taps_from_home(world: World, client_for) -> None:
    client = client_for(Role.GRID_WORKER)
    home = client.get("/").content.decode()
    building_url = f"/buildings/{world.buildings['grid_a1_1'].pk}/"
    assert f'href="{building_url}"' in home  # tap 1
    building = client.get(building_url).content.decode()
    household_url = f"/households/{world.households['grid_a1_1'].pk}/"
    assert f'href="{household_url}"' in building  # tap 2
    assert client.get(household_url).status_code == 200


def test_it_shows_community_staff_their_grids_on_home(world: World, client_for) -> None:
    page = client_for(Role.COMMUNITY_STAFF).get("/").content.decode()
    assert "灵西社区" in page
    assert "灵西第一网格" in page and "灵西第二网格" in page
    assert "曙光第一网格" not in page


def test_it_shows_the_district_admin_the_streets_with_counts(world: World, client_for) -> None:
    page = client_for(Role.DISTRICT_ADMIN).get("/").content.decode()
    assert "友好街道" in page and "曙光街道" in page
    assert "铁东区" not in page
    assert "/audit/" in page  # nav: district admins read the audit log too


def test_it_shows_a_guardian_only_their_ward_on_home(world: World, client_for) -> None:
    page = client_for(Role.GUARDIAN).get("/").content.decode()
    assert "李秀英" in page
    assert "王建国" not in page


def test_it_links_an_auditor_to_the_audit_log(world: World, client_for) -> None:
    page = client_for(Role.AUDITOR).get("/").content.decode()
    assert 'href="/audit/"' in page
    assert "/map/" not in page


def test_it_shows_name_role_and_search_in_the_top_bar(world: World, client_for) -> None:
    page = client_for(Role.GRID_WORKER).get("/").content.decode()
    assert "网格员" in page
    assert 'name="q"' in page
    assert "/i18n/setlang/" in page


def test_it_logs_in_with_a_password_and_audits_it(world: World) -> None:
    client = Client()
    response = client.post("/login/", {"username": "grid_worker", "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert AuditEntry.objects.filter(action=AuditEntry.Action.LOGIN, actor=world.user(Role.GRID_WORKER)).exists()


def test_it_refuses_a_wrong_password(world: World) -> None:
    client = Client()
    response = client.post("/login/", {"username": "grid_worker", "password": "wrong"})
    assert response.status_code == 200
    assert "errorlist" in response.content.decode()
    assert client.get("/").status_code == 302


def test_it_logs_out_only_by_post(world: World, client_for) -> None:
    client = client_for(Role.GRID_WORKER)
    assert client.get("/logout/").status_code == 405
    assert client.post("/logout/").status_code == 302
    assert client.get("/").status_code == 302


def english(client: Client) -> Client:
    """The language cookie the switcher sets (pages follow the user's choice, not the browser)."""
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def test_it_renders_in_english_when_the_user_chose_english(world: World, client_for) -> None:
    page = english(client_for(Role.GRID_WORKER)).get("/").content.decode()
    assert "Grid worker" in page
    assert "Sign out" in page
    assert "households" in page or "household" in page
    assert "退出登录" not in page


def test_it_defaults_to_simplified_chinese(world: World, client_for) -> None:
    page = client_for(Role.GRID_WORKER).get("/").content.decode()
    assert "退出登录" in page
    assert '<html lang="zh-CN">' in page


def test_it_switches_the_language_with_the_switcher(world: World, client_for) -> None:
    client = client_for(Role.GRID_WORKER)
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    assert response.status_code == 302
    page = client.get("/").content.decode()
    assert "Sign out" in page
    assert '<html lang="en">' in page
    client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/"})
    assert "退出登录" in client.get("/").content.decode()


def test_it_translates_the_resident_page_labels(world: World, client_for) -> None:
    resident = world.residents["a1_1_ward"]
    page = english(client_for(Role.GRID_WORKER)).get(f"/residents/{resident.pk}/").content.decode()
    assert "National ID number" in page
    assert "Record a life event" in page
    assert "Female" in page


def test_it_creates_an_api_token_on_the_profile_page(world: World, client_for) -> None:
    client = client_for(Role.GRID_WORKER)
    assert client.post("/profile/token/", {"name": "办公室电脑"}).status_code == 302
    first = client.get("/profile/").content.decode()
    secret = re.search(r'<p class="mono"[^>]*><b>([^<]+)</b>', first).group(1)
    assert Client(HTTP_AUTHORIZATION=f"Token {secret}").get("/api/v1/me/").status_code == 200
    again = client.get("/profile/").content.decode()
    assert secret not in again  # shown once
    assert "办公室电脑" in again


@pytest.mark.parametrize("role", [Role.PETITION_OFFICE, Role.DEPARTMENT, Role.STREET_STAFF])
def test_it_shows_the_area_overview_on_home_for_office_roles(world: World, client_for, role: Role) -> None:
    response = client_for(role).get("/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "友好街道" in page
    assert 'href="/areas/"' in page
    assert "铁东区" not in page


def test_it_builds_the_grid_workers_home_in_a_fixed_number_of_queries(
    world: World, client_for, django_assert_max_num_queries
) -> None:
    from wangge.areas.models import Building

    grid = world.areas["grid_a1_1"]
    for n in range(20):
        Building.objects.create(name=f"{n + 10}号楼", grid=grid, community=grid.community, lon=122.91, lat=41.11)
    client = client_for(Role.GRID_WORKER)
    # 13: one is the navigation asking whether any special-group register admits the role (issue 16)
    with django_assert_max_num_queries(13):
        page = client.get("/").content.decode()
    assert "29号楼" in page


def test_it_names_care_categories_in_english_on_english_pages(world: World, client_for) -> None:
    ward = world.residents["a1_1_ward"]
    category = ward.care_tags.get().category
    page = english(client_for(Role.GRID_WORKER)).get(f"/residents/{ward.pk}/").content.decode()
    assert category.name_en in page


def test_it_counts_grids_with_the_plural_the_number_needs(world: World, client_for) -> None:
    client = client_for(Role.DISTRICT_ADMIN)
    assert "<span>网格</span>" in client.get("/").content.decode()
    client.cookies["django_language"] = "en"
    page = client.get("/").content.decode()
    assert "<span>grids</span>" in page and "<span>Grid</span>" not in page
    assert "<span>households</span>" in page
