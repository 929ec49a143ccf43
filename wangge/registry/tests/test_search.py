"""Resident search through the page and the API: every kind of query, scope, audit, masking."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext

from wangge.accounts.models import Role
from wangge.conftest import World
from wangge.core import idnumbers
from wangge.core.models import AuditEntry
from wangge.registry import actions, search
from wangge.registry.models import Resident, SearchKey
from wangge.registry.search import keys_for, parse_query

API = "/api/v1/search/"
PAGE = "/search/"


def id_ending_in_x(birth: dt.date, sex: str) -> str:
    for sequence in range(500):
        number = idnumbers.make(area_code="210304", birth_date=birth, sequence=sequence, sex=sex)
        if number.endswith("X"):
            return number
    raise AssertionError("no sequence gives X")


@pytest.fixture
def people(world: World) -> dict[str, Resident]:
    """Extra residents: two 刘娟 in neighbouring grids, a traditional-script name, polyphonic surnames."""
    admin = world.user(Role.DISTRICT_ADMIN)
    home = world.households["grid_a1_1"]
    neighbour = world.households["grid_a1_2"]

    def add(household: Any, name: str, birth: dt.date, sex: str, phone: str = "", number: str = "") -> Resident:
        number = number or idnumbers.make(area_code="210304", birth_date=birth, sequence=7, sex=sex)
        return actions.resident_register(by=admin, household=household, name=name, id_number=number, phone=phone)

    return {
        "liujuan": add(home, "刘娟", dt.date(1986, 4, 2), "F", "13912341234", id_ending_in_x(dt.date(1986, 4, 2), "F")),
        "liujuan_neighbour": add(neighbour, "刘娟", dt.date(1990, 7, 19), "F", "13598769876"),
        "liujuanjuan": add(home, "刘娟娟", dt.date(2001, 2, 3), "F"),
        "liufang_traditional": add(home, "劉芳", dt.date(1958, 12, 25), "F", "13755556666"),
        "shanwei": add(home, "单伟", dt.date(1970, 5, 5), "M"),
        "zengguoqiang": add(home, "曾国强", dt.date(1949, 10, 1), "M"),
    }


def api(client: Client, q: str, **params: Any) -> dict[str, Any]:
    response = client.get(API, {"q": q, **params})
    assert response.status_code == 200, response.content
    return response.json()


def names(client: Client, q: str) -> list[str]:
    return [row["name"] for row in api(client, q)["results"]]


def ids(client: Client, q: str) -> set[int]:
    return {row["id"] for row in api(client, q)["results"]}


@pytest.fixture
def admin(client_for: Callable[[str], Client], people: dict[str, Resident]) -> Client:
    return client_for(Role.DISTRICT_ADMIN)


# --- each kind of query ---------------------------------------------------------------------


@pytest.mark.django_db
def test_it_finds_a_resident_by_simplified_name(admin: Client, people: dict[str, Resident]) -> None:
    found = ids(admin, "刘娟")
    assert people["liujuan"].pk in found
    assert people["liujuan_neighbour"].pk in found


@pytest.mark.django_db
def test_it_finds_a_simplified_name_from_a_traditional_query(admin: Client, people: dict[str, Resident]) -> None:
    assert people["liujuan"].pk in ids(admin, "劉娟")


@pytest.mark.django_db
def test_it_finds_a_name_stored_in_traditional_characters_from_a_simplified_query(
    admin: Client, people: dict[str, Resident]
) -> None:
    assert ids(admin, "刘芳") == {people["liufang_traditional"].pk}
    assert ids(admin, "劉芳") == {people["liufang_traditional"].pk}
    assert names(admin, "刘芳") == ["劉芳"]  # shown as registered


@pytest.mark.django_db
@pytest.mark.parametrize("q", ["liujuan", "LiuJuan", "liu juan", "Liú Juān", "liuj", "刘j"])
def test_it_finds_by_full_pinyin_with_spaces_any_case_or_its_beginning(
    admin: Client, people: dict[str, Resident], q: str
) -> None:
    assert people["liujuan"].pk in ids(admin, q)


@pytest.mark.django_db
def test_it_finds_by_initials(admin: Client, people: dict[str, Resident]) -> None:
    found = ids(admin, "lj")
    assert people["liujuan"].pk in found
    assert people["shanwei"].pk not in found


@pytest.mark.django_db
@pytest.mark.parametrize("q", ["shanwei", "sw", "danwei", "单伟", "shan wei"])
def test_it_finds_a_polyphonic_surname_by_its_surname_reading_and_the_common_one(
    admin: Client, people: dict[str, Resident], q: str
) -> None:
    assert people["shanwei"].pk in ids(admin, q)


@pytest.mark.django_db
@pytest.mark.parametrize("q", ["zengguoqiang", "zgq", "zeng"])
def test_it_finds_zeng_by_its_surname_reading(admin: Client, people: dict[str, Resident], q: str) -> None:
    assert people["zengguoqiang"].pk in ids(admin, q)


@pytest.mark.django_db
def test_it_finds_by_the_last_four_digits_of_a_phone(admin: Client, people: dict[str, Resident]) -> None:
    assert ids(admin, "1234") == {people["liujuan"].pk}
    assert ids(admin, "9876") == {people["liujuan_neighbour"].pk}


@pytest.mark.django_db
def test_it_finds_by_a_whole_phone_number_and_not_by_another_ending_alike(
    admin: Client, people: dict[str, Resident]
) -> None:
    assert ids(admin, "13912341234") == {people["liujuan"].pk}
    assert ids(admin, "13800001234") == set()


@pytest.mark.django_db
def test_it_finds_by_a_full_id_number_in_either_case_of_x(admin: Client, people: dict[str, Resident]) -> None:
    number = people["liujuan"].id_number
    assert number.endswith("X")
    assert ids(admin, number) == {people["liujuan"].pk}
    assert ids(admin, number.lower()) == {people["liujuan"].pk}


@pytest.mark.django_db
def test_it_finds_by_the_beginning_of_an_id_number(admin: Client, people: dict[str, Resident]) -> None:
    assert ids(admin, people["shanwei"].id_number[:14]) == {people["shanwei"].pk}
    assert people["shanwei"].pk in ids(admin, "210304")


@pytest.mark.django_db
def test_it_finds_by_a_legacy_15_digit_id_number(admin: Client, people: dict[str, Resident]) -> None:
    number = people["zengguoqiang"].id_number
    legacy = number[:6] + number[8:17]
    assert ids(admin, legacy) == {people["zengguoqiang"].pk}


@pytest.mark.django_db
def test_it_asks_for_more_digits_rather_than_guessing(admin: Client, people: dict[str, Resident]) -> None:
    body = api(admin, "12")
    assert body["results"] == []
    assert body["kind"] == "none"
    assert body["hint"]


@pytest.mark.django_db
def test_it_puts_the_exact_name_before_longer_names_and_the_living_before_the_dead(
    admin: Client, people: dict[str, Resident], world: World
) -> None:
    actions.resident_die(by=world.user(Role.DISTRICT_ADMIN), resident=people["liujuan"], date=dt.date(2024, 1, 1))
    order = [row["id"] for row in api(admin, "刘娟")["results"]]
    assert order == [people["liujuan_neighbour"].pk, people["liujuan"].pk, people["liujuanjuan"].pk]


@pytest.mark.django_db
def test_it_pages_through_results(admin: Client, people: dict[str, Resident]) -> None:
    first = api(admin, "刘娟", limit=1)
    assert len(first["results"]) == 1
    assert first["next"]
    second = admin.get(first["next"]).json()
    assert second["results"][0]["id"] != first["results"][0]["id"]
    assert second["previous"]


@pytest.mark.django_db
def test_it_follows_a_name_change(admin: Client, people: dict[str, Resident], world: World) -> None:
    actions.resident_update(by=world.user(Role.DISTRICT_ADMIN), resident=people["shanwei"], name="单卫东")
    assert people["shanwei"].pk in ids(admin, "shanweidong")
    assert people["shanwei"].pk not in ids(admin, "单伟")


# --- scope ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_it_hides_the_neighbouring_grid_from_a_grid_worker_in_the_api(
    client_for: Callable[[str], Client], people: dict[str, Resident], world: World
) -> None:
    worker = client_for(Role.GRID_WORKER)
    assert ids(worker, "刘娟") == {people["liujuan"].pk, people["liujuanjuan"].pk}
    assert ids(worker, "9876") == set()
    assert ids(worker, people["liujuan_neighbour"].id_number) == set()
    assert ids(worker, "赵志强") == set()  # head of the neighbouring grid's household
    assert ids(worker, "zzq") == set()


@pytest.mark.django_db
def test_it_hides_the_neighbouring_grid_from_a_grid_worker_on_the_page(
    client_for: Callable[[str], Client], people: dict[str, Resident], world: World
) -> None:
    worker = client_for(Role.GRID_WORKER)
    response = worker.get(PAGE, {"q": "liujuan"})
    assert response.status_code == 200
    page = response.content.decode()
    assert f"/residents/{people['liujuan'].pk}/" in page
    assert f"/residents/{people['liujuan_neighbour'].pk}/" not in page
    assert "赵志强" not in worker.get(PAGE, {"q": "赵志强"}).content.decode().split("search-results")[1]


@pytest.mark.django_db
def test_it_shows_a_community_secretary_both_grids_but_not_another_community(
    client_for: Callable[[str], Client], people: dict[str, Resident], world: World
) -> None:
    secretary = client_for(Role.COMMUNITY_STAFF)
    assert {people["liujuan"].pk, people["liujuan_neighbour"].pk} <= ids(secretary, "刘娟")
    assert ids(secretary, "孙丽华") == set()


@pytest.mark.django_db
def test_it_keeps_another_district_from_a_district_admin(admin: Client, world: World) -> None:
    assert ids(admin, "周海涛") == set()
    assert ids(admin, "王建国") == {world.residents["a1_1_head"].pk}


@pytest.mark.django_db
def test_it_lets_a_guardian_find_only_their_ward(
    client_for: Callable[[str], Client], people: dict[str, Resident], world: World
) -> None:
    guardian = client_for(Role.GUARDIAN)
    assert ids(guardian, "李秀英") == {world.residents["a1_1_ward"].pk}
    assert ids(guardian, "lxy") == {world.residents["a1_1_ward"].pk}
    assert ids(guardian, "王建国") == set()  # the ward's housemate
    assert ids(guardian, "刘娟") == set()


@pytest.mark.django_db
def test_it_gives_an_auditor_a_404_and_logs_nothing(client_for: Callable[[str], Client], people: Any) -> None:
    auditor = client_for(Role.AUDITOR)
    before = AuditEntry.objects.filter(action=AuditEntry.Action.SEARCH).count()
    assert auditor.get(API, {"q": "刘娟"}).status_code == 404
    assert auditor.get(PAGE, {"q": "刘娟"}).status_code == 404
    assert AuditEntry.objects.filter(action=AuditEntry.Action.SEARCH).count() == before


@pytest.mark.django_db
def test_it_turns_away_anonymous_callers(people: Any) -> None:
    client = Client()
    anonymous = client.get(API, {"q": "刘娟"})
    assert anonymous.status_code == 401
    assert anonymous["WWW-Authenticate"] == "Token"
    response = client.get(PAGE, {"q": "刘娟"})
    assert response.status_code == 302
    assert "/login" in response["Location"]


# --- audit and masking ----------------------------------------------------------------------


@pytest.mark.django_db
def test_it_writes_one_audit_entry_per_api_search(admin: Client, world: World, people: Any) -> None:
    before = AuditEntry.objects.filter(action=AuditEntry.Action.SEARCH).count()
    api(admin, "刘娟")
    entries = AuditEntry.objects.filter(action=AuditEntry.Action.SEARCH)
    assert entries.count() == before + 1
    entry = entries.first()
    assert entry is not None
    assert entry.actor == world.user(Role.DISTRICT_ADMIN)
    assert entry.detail["q"] == "刘娟"
    assert entry.detail["results"] == 3
    assert "刘娟" in entry.summary


@pytest.mark.django_db
def test_it_writes_one_audit_entry_per_page_search(
    client_for: Callable[[str], Client], world: World, people: Any
) -> None:
    worker = client_for(Role.GRID_WORKER)
    worker.get(PAGE)  # the empty form is not a search
    assert not AuditEntry.objects.filter(action=AuditEntry.Action.SEARCH).exists()
    worker.get(PAGE, {"q": "1234"})
    entries = list(AuditEntry.objects.filter(action=AuditEntry.Action.SEARCH))
    assert len(entries) == 1
    assert entries[0].actor == world.user(Role.GRID_WORKER)
    assert entries[0].detail["q"] == "1234"


@pytest.mark.django_db
def test_it_masks_id_numbers_and_phones_in_results(admin: Client, people: dict[str, Resident]) -> None:
    person = people["liujuan"]
    response = admin.get(API, {"q": "1234"})
    (row,) = response.json()["results"]
    assert row["id_number"] == idnumbers.mask(person.id_number)
    assert row["phone"] == idnumbers.mask_phone(person.phone)
    assert person.id_number not in response.content.decode()
    assert person.phone not in response.content.decode()
    page = admin.get(PAGE, {"q": "1234"}).content.decode()
    assert idnumbers.mask(person.id_number) in page
    assert person.id_number not in page
    assert person.phone not in page


@pytest.mark.django_db
def test_it_describes_where_a_result_lives(admin: Client, people: dict[str, Resident], world: World) -> None:
    (row,) = api(admin, "单伟")["results"]
    assert row["grid_name"] == "灵西第一网格"
    assert row["community_name"] == "灵西社区"
    assert row["address"] == world.households["grid_a1_1"].address
    assert row["url"].endswith(f"/residents/{people['shanwei'].pk}/")
    assert row["age"] >= 50
    assert row["sex"] == "M"


@pytest.mark.django_db
def test_it_documents_the_search_endpoint_in_the_schema(admin: Client) -> None:
    schema = admin.get("/api/v1/schema/", HTTP_ACCEPT="application/json").content.decode()
    assert "/api/v1/search/" in schema
    assert "search_residents" in schema


# --- keys and query parsing -----------------------------------------------------------------


def test_it_keeps_number_keys_apart_from_name_keys() -> None:
    keys = keys_for("单伟", "21030419700505007X", "139-1234-5678")
    assert keys == ["单伟", "danwei", "dw", "shanwei", "sw", "#21030419700505007X", "@5678"]
    assert parse_query("5678").prefixes == ("@5678",)
    assert parse_query("2103041970").prefixes == ("#2103041970",)
    assert parse_query("#5678").prefixes == ("@5678",)  # punctuation never reaches the key space


@pytest.mark.django_db
def test_it_indexes_every_registered_resident(people: dict[str, Resident]) -> None:
    assert SearchKey.objects.filter(resident=people["shanwei"], key="sw").exists()
    assert SearchKey.objects.get(resident=people["shanwei"], key="sw").grid_id == people["shanwei"].grid_id


def test_the_key_rows_written_in_bulk_are_exactly_the_keys_of_each_resident(world: World) -> None:
    people = list(world.residents.values())
    people[0].phone = "0412-5551234"
    rows = search.key_rows(people)
    assert [row["key"] for row in rows] == sorted(row["key"] for row in rows)
    for person in people:
        mine = [row for row in rows if row["resident_id"] == person.pk]
        assert {row["key"] for row in mine} == set(search.keys_for(person.name, person.id_number, person.phone))
        assert {(row["grid_id"], row["community_id"]) for row in mine} == {(person.grid_id, person.community_id)}


@pytest.mark.django_db
def test_a_district_administrators_search_reads_the_districts_slice_of_the_key_index(
    world: World, people: dict[str, Resident]
) -> None:
    """A city's database holds several districts: a district's search must not walk the whole
    city's keys and filter them (bench/search.py --districts 7, 3,500,000 residents: the
    district administrator read ~7 index entries and heap rows for each one in scope).

    Every statement the search runs on the keys is explained as the database would plan it.
    The database first gets a neighbouring district's keys with the same prefix, as a city's
    has, and fresh statistics: with the test's few rows alone both indexes cost the same and
    PostgreSQL's choice between them depends on what earlier tests left in the table. It plans
    a test's few rows as a sequential scan, so that is switched off here: the question is which
    index it picks, the key index with a filter or the district's slice.
    """
    user = world.user(Role.DISTRICT_ADMIN)
    someone = next(iter(people.values()))
    neighbour = max(SearchKey.objects.values_list("district_id", flat=True)) + 1000
    SearchKey.objects.bulk_create(
        SearchKey(
            resident_id=someone.pk,
            key=f"liu{n:04d}",
            grid_id=None,
            community_id=neighbour,
            street_id=neighbour,
            district_id=neighbour,
        )
        for n in range(3000)
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE registry_searchkey" if connection.vendor == "postgresql" else "ANALYZE")
    with CaptureQueriesContext(connection) as captured:
        result = search.find_residents(user=user, q="liu")
    assert result.residents
    scans = [q["sql"] for q in captured.captured_queries if "registry_searchkey" in q["sql"] and "key" in q["sql"]]
    assert scans
    for sql in scans:
        with transaction.atomic(), connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute("SET LOCAL enable_seqscan = off")
                cursor.execute("SET LOCAL enable_bitmapscan = off")
                cursor.execute("EXPLAIN " + sql)
            else:
                cursor.execute("EXPLAIN QUERY PLAN " + sql)
            plan = "\n".join(" ".join(str(column) for column in row) for row in cursor.fetchall())
        assert "search_key_district_idx" in plan, plan
