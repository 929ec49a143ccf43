"""Search as a person uses it: the best match first, a total, where each result lives, and no
way for a role that sees masked numbers to recover the hidden digits."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from wangge.accounts.models import AreaAssignment, Role, User
from wangge.conftest import PASSWORD, World
from wangge.core import idnumbers
from wangge.registry import actions, search
from wangge.registry.models import Resident

API = "/api/v1/search/"
PAGE = "/search/"


def add(world: World, grid: str, name: str, birth: dt.date, *, sequence: int = 11, phone: str = "") -> Resident:
    number = idnumbers.make(area_code="210304", birth_date=birth, sequence=sequence, sex="F")
    return actions.resident_register(
        by=world.user(Role.DISTRICT_ADMIN), household=world.households[grid], name=name, id_number=number, phone=phone
    )


@pytest.fixture
def lj(world: World) -> dict[str, Resident]:
    """A demo-like spread of people whose initials begin with lj, as a district has many.

    Only 刘娟 lives in the worker's grid with initials exactly ``lj``; the neighbouring grid
    holds names that sort before her by pinyin (李军, 黎佳) and a second 刘娟.
    """
    return {
        "liujuan": add(world, "grid_a1_1", "刘娟", dt.date(1986, 4, 2), sequence=21),
        "liujuanjuan": add(world, "grid_a1_1", "刘娟娟", dt.date(2001, 2, 3), sequence=22),
        "lijianjun": add(world, "grid_a1_1", "李建军", dt.date(1966, 8, 1), sequence=23),
        "lijun": add(world, "grid_a1_2", "李军", dt.date(1970, 1, 9), sequence=24),
        "lijia": add(world, "grid_a1_2", "黎佳", dt.date(1992, 3, 4), sequence=25),
        "liujuan_2": add(world, "grid_b1_1", "刘娟", dt.date(1979, 6, 6), sequence=26),
    }


def api(client: Client, q: str, **params: Any) -> dict[str, Any]:
    response = client.get(API, {"q": q, **params})
    assert response.status_code == 200, response.content
    return response.json()


def order(client: Client, q: str, **params: Any) -> list[int]:
    return [row["id"] for row in api(client, q, **params)["results"]]


@pytest.fixture
def covering_worker(world: World) -> Client:
    """A grid worker who also covers the rest of the community (a colleague is on leave)."""
    user = User.objects.create_user(username="covering", password=PASSWORD, role=Role.GRID_WORKER)
    AreaAssignment.objects.create(user=user, area=world.areas["grid_a1_1"])
    AreaAssignment.objects.create(user=user, area=world.areas["community_a1"])
    client = Client()
    client.force_login(user)
    return client


# --- ranking --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_it_ranks_liu_juan_first_for_lj_in_the_workers_own_grid(
    client_for: Callable[[str], Client], lj: dict[str, Resident], covering_worker: Client
) -> None:
    # Alphabetically 黎佳 and 李军 come first; a grid worker wants their own 刘娟.
    found = order(covering_worker, "lj")
    assert found[0] == lj["liujuan"].pk
    assert found[1:3] == [lj["lijia"].pk, lj["lijun"].pk]  # the rest of the community, by pinyin
    assert set(found[3:]) == {lj["lijianjun"].pk, lj["liujuanjuan"].pk}  # ljj: initials only begin with lj
    assert order(client_for(Role.GRID_WORKER), "lj")[0] == lj["liujuan"].pk


@pytest.mark.django_db
def test_it_ranks_exact_names_then_name_prefixes(
    client_for: Callable[[str], Client], lj: dict[str, Resident], world: World
) -> None:
    admin = client_for(Role.DISTRICT_ADMIN)
    found = order(admin, "刘娟")
    assert set(found[:2]) == {lj["liujuan"].pk, lj["liujuan_2"].pk}
    assert found[2] == lj["liujuanjuan"].pk


@pytest.mark.django_db
def test_it_ranks_whole_pinyin_then_its_beginning_then_initials(
    client_for: Callable[[str], Client], lj: dict[str, Resident], world: World
) -> None:
    admin = client_for(Role.DISTRICT_ADMIN)
    # lij: the beginning of 李军's and 李建军's pinyin (lijun, lijianjun) and of 黎佳's (lijia);
    # nobody's initials or whole pinyin is "lij".
    found = order(admin, "lijun")
    assert found[0] == lj["lijun"].pk
    assert order(admin, "lijia")[0] == lj["lijia"].pk  # whole pinyin before lijianjun, its beginning
    assert order(admin, "lijia")[1] == lj["lijianjun"].pk
    assert order(admin, "ljj")[:2] == [lj["lijianjun"].pk, lj["liujuanjuan"].pk]


@pytest.mark.django_db
def test_it_ranks_a_whole_id_number_before_those_it_begins(client_for: Callable[[str], Client], world: World) -> None:
    admin = client_for(Role.DISTRICT_ADMIN)
    person = world.residents["a1_1_head"]
    assert order(admin, person.id_number) == [person.pk]
    assert person.pk in order(admin, person.id_number[:10])


# --- totals ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_it_shows_the_total_and_pages_through_it(client_for: Callable[[str], Client], world: World) -> None:
    for i in range(23):
        add(world, "grid_a1_1", f"王{'一二三四五六七八九十'[i % 10]}{'甲乙丙'[i // 10]}", dt.date(1980, 1, 1 + i))
    admin = client_for(Role.DISTRICT_ADMIN)
    body = api(admin, "王")
    assert (body["total"], body["total_exact"]) == (24, True)  # and 王建国 of the fixture
    assert len(body["results"]) == 20
    page = admin.get(PAGE, {"q": "王"}).content.decode()
    assert "找到 24 人" in page
    assert "第 1–20 人" in page
    second = admin.get(PAGE, {"q": "王", "offset": 20}).content.decode()
    assert "第 21–24 人" in second
    assert second.count('class="row"') == 4


@pytest.mark.django_db
def test_it_says_more_than_the_cap_past_it(
    client_for: Callable[[str], Client], world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    for i in range(9):
        add(world, "grid_a1_1", f"王{'一二三四五六七八九'[i]}", dt.date(1980, 2, 1 + i))
    # A cap of 5 and a pool of 4 stand in for the 200 and 200 of a district of half a million.
    monkeypatch.setattr(search, "TOTAL_CAP", 5)
    monkeypatch.setattr(search, "COUNT_SCAN", 4 * 5 + 4)
    monkeypatch.setattr(search, "POOL", 4)
    admin = client_for(Role.DISTRICT_ADMIN)
    assert api(admin, "王")["total"] == 10  # 24 keys not reached: still exact
    for i in range(20):
        add(world, "grid_a1_2", f"王{'一二三四五六七八九十'[i % 10]}{'甲乙'[i // 10]}", dt.date(1981, 3, 1 + i))
    body = api(admin, "王")
    assert (body["total"], body["total_exact"]) == (5, False)
    page = admin.get(PAGE, {"q": "王"}).content.decode()
    assert "找到超过 5 人" in page
    admin.cookies["django_language"] = "en"
    english = admin.get(PAGE, {"q": "王"}).content.decode()
    assert "More than 5 people found" in english


# --- where a result lives -------------------------------------------------------------------


@pytest.mark.django_db
def test_it_names_the_community_beside_the_grid_for_anyone_seeing_several(
    client_for: Callable[[str], Client], lj: dict[str, Resident]
) -> None:
    street = client_for(Role.STREET_STAFF).get(PAGE, {"q": "刘娟"}).content.decode()
    assert "灵西社区 · 灵西第一网格" in street
    worker = client_for(Role.GRID_WORKER).get(PAGE, {"q": "刘娟"}).content.decode()
    assert "灵西第一网格" in worker
    assert "灵西社区 · " not in worker


# --- masked values --------------------------------------------------------------------------


@pytest.fixture
def department(client_for: Callable[[str], Client]) -> Client:
    """A department handler sees ID numbers and phones masked, even on a resident's page."""
    return client_for(Role.DEPARTMENT)


@pytest.mark.django_db
def test_it_refuses_a_masked_role_any_prefix_of_an_id_number(department: Client, world: World) -> None:
    person = world.residents["a1_1_head"]
    number = person.id_number
    # Recovering the eight hidden digits one at a time, as a probe did: every guess finds nobody.
    for length in (6, 7, 10, 14, 17):
        for digit in "0123456789":
            guess = number[: length - 1] + digit
            body = api(department, guess)
            assert body["results"] == []
            assert body["total"] == 0
    page = department.get(PAGE, {"q": number[:14]}).content.decode()
    assert person.name not in page
    assert "完整的身份号码" in page


@pytest.mark.django_db
def test_it_finds_by_a_full_id_number_or_phone_for_a_masked_role_and_shows_only_the_mask(
    department: Client, world: World
) -> None:
    person = world.residents["a1_1_head"]
    for q in (person.id_number, person.phone, person.phone[-4:]):
        response = department.get(API, {"q": q})
        (row,) = response.json()["results"]
        assert row["id"] == person.pk
        assert row["id_number"] == idnumbers.mask(person.id_number)
        assert row["phone"] == idnumbers.mask_phone(person.phone)
        # What the searcher typed comes back as the query; the results show no more than the mask.
        body = json.dumps(response.json()["results"], ensure_ascii=False)
        page = department.get(PAGE, {"q": q}).content.decode()
        for shown in (body, page.split("search-results")[1].split("</ul>")[0]):
            assert person.id_number not in shown
            assert person.phone not in shown
            assert person.id_number[6:14] not in shown  # the masked birth date


@pytest.mark.django_db
def test_it_does_not_read_a_masked_roles_phone_number_as_the_start_of_an_id(
    client_for: Callable[[str], Client], department: Client, world: World
) -> None:
    birth = dt.date(1961, 5, 17)
    number = idnumbers.make(area_code="130102", birth_date=birth, sequence=31, sex="M")  # born in Shijiazhuang
    person = actions.resident_register(
        by=world.user(Role.DISTRICT_ADMIN), household=world.households["grid_a1_1"], name="高建设", id_number=number
    )
    # Its first 11 digits look like a mobile number: a prefix of the ID for a full-detail role,
    # nobody's phone for a masked one.
    assert person.pk in order(client_for(Role.DISTRICT_ADMIN), number[:11])
    assert api(department, number[:11])["results"] == []
    head = world.residents["a1_1_head"]
    assert api(department, "139" + "0000" + head.phone[-4:])["results"] == []  # the same last four only


@pytest.mark.django_db
def test_it_still_lets_a_full_detail_role_search_by_the_start_of_an_id(
    client_for: Callable[[str], Client], world: World
) -> None:
    person = world.residents["a1_1_head"]
    assert person.pk in order(client_for(Role.GRID_WORKER), person.id_number[:10])
