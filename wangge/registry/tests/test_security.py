"""A penetration tester's pass over the registry: reaching another grid's households and
residents through every door (pages, API filters, ids in bodies, life events, care tags,
spouses by ID number, export), masking that cannot be undone, and hostile text (names that
are markup or spreadsheet formulas).

The world (``wangge/conftest.py``): the grid worker covers grid A1-1; grid A1-2 next door is
out of their reach, and so is everything in street B and the other district.
"""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from wangge.accounts.models import Role
from wangge.conftest import World
from wangge.core import idnumbers
from wangge.core.models import AuditEntry
from wangge.registry.models import CareCategory, CareTag, LifeEvent, Resident

pytestmark = pytest.mark.django_db

SCRIPT_NAME = "<script>alert(1)</script>"
ATTRIBUTE_BREAK = '"><img src=x onerror=alert(1)>'


def api_for(world: World, role: str) -> APIClient:
    client = APIClient()
    client.force_authenticate(world.user(role))
    return client


def rows(response: Any) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.content[:300]
    body = response.json()
    return body["results"] if isinstance(body, dict) else body


def neighbour(world: World) -> Resident:
    """The resident just outside the grid worker's grid."""
    return world.residents["a1_2_head"]


# --- API list filters can only narrow, never widen -------------------------------------------


@pytest.mark.parametrize("param", ["grid", "community", "household"])
def test_it_returns_nothing_when_the_worker_filters_residents_by_another_grid(world: World, param: str) -> None:
    other = neighbour(world)
    value = {"grid": other.grid_id, "community": world.areas["community_b1"].pk, "household": other.household_id}
    response = api_for(world, Role.GRID_WORKER).get("/api/v1/residents/", {param: value[param]})
    assert rows(response) == []


@pytest.mark.parametrize("param", ["grid", "community", "building"])
def test_it_returns_nothing_when_the_worker_filters_households_by_another_grid(world: World, param: str) -> None:
    value = {
        "grid": world.areas["grid_a1_2"].pk,
        "community": world.areas["community_b1"].pk,
        "building": world.buildings["grid_a1_2"].pk,
    }
    response = api_for(world, Role.GRID_WORKER).get("/api/v1/households/", {param: value[param]})
    assert rows(response) == []


def test_it_404s_every_detail_and_write_on_another_grids_resident(world: World) -> None:
    client = api_for(world, Role.GRID_WORKER)
    other = neighbour(world)
    assert client.get(f"/api/v1/residents/{other.pk}/").status_code == 404
    assert client.get(f"/api/v1/households/{other.household_id}/").status_code == 404
    assert client.patch(f"/api/v1/residents/{other.pk}/", {"name": "改名"}, format="json").status_code == 404
    for body in ({"kind": "death"}, {"kind": "move_out"}, {"kind": "marriage", "spouse_name": "某人"}):
        assert client.post(f"/api/v1/residents/{other.pk}/events/", body, format="json").status_code == 404
    other.refresh_from_db()
    assert (other.name, other.status) == ("赵志强", Resident.Status.LIVING)
    assert not LifeEvent.objects.filter(resident=other).exists()


def test_it_refuses_to_register_a_person_into_another_grids_household(world: World) -> None:
    number = idnumbers.make(
        area_code="210304", birth_date=__import__("datetime").date(1990, 1, 1), sequence=77, sex="M"
    )
    response = api_for(world, Role.GRID_WORKER).post(
        "/api/v1/residents/",
        {"household": world.households["grid_a1_2"].pk, "name": "外来人", "id_number": number},
        format="json",
    )
    assert response.status_code == 400
    assert "household" in response.json()
    assert not Resident.objects.filter(id_number=number).exists()


def test_it_refuses_to_move_a_resident_into_another_grids_household(world: World) -> None:
    mine = world.residents["a1_1_head"]
    response = api_for(world, Role.GRID_WORKER).post(
        f"/api/v1/residents/{mine.pk}/events/",
        {"kind": "move_in", "household": world.households["grid_a1_2"].pk},
        format="json",
    )
    assert response.status_code == 400
    mine.refresh_from_db()
    assert mine.household_id == world.households["grid_a1_1"].pk


def test_it_refuses_a_spouse_from_another_grid_by_id_on_the_api(world: World) -> None:
    mine = world.residents["a1_1_head"]
    response = api_for(world, Role.GRID_WORKER).post(
        f"/api/v1/residents/{mine.pk}/events/", {"kind": "marriage", "spouse": neighbour(world).pk}, format="json"
    )
    assert response.status_code == 400
    assert not LifeEvent.objects.filter(kind=LifeEvent.Kind.MARRIAGE).exists()


def test_it_refuses_a_spouse_from_another_grid_by_id_number_on_the_page(world: World, client_for: Any) -> None:
    mine = world.residents["a1_1_head"]
    response = client_for(Role.GRID_WORKER).post(
        reverse("registry:resident_event", args=[mine.pk, "marriage"]),
        {"date": "2024-05-01", "spouse_id_number": neighbour(world).id_number},
    )
    assert response.status_code == 400
    assert not LifeEvent.objects.filter(kind=LifeEvent.Kind.MARRIAGE).exists()
    # The refusal must not confirm that the number exists elsewhere.
    assert neighbour(world).name not in response.content.decode()


def test_it_refuses_to_move_in_a_resident_from_another_grid_by_id_number(world: World, client_for: Any) -> None:
    other = neighbour(world)
    response = client_for(Role.GRID_WORKER).post(
        reverse("registry:household_move_in", args=[world.households["grid_a1_1"].pk]),
        {"id_number": other.id_number, "relationship": "other", "date": "2024-05-01"},
    )
    assert response.status_code == 400
    other.refresh_from_db()
    assert other.household_id == world.households["grid_a1_2"].pk
    assert other.name not in response.content.decode()


def test_it_404s_page_writes_on_another_grid(world: World, client_for: Any) -> None:
    client = client_for(Role.GRID_WORKER)
    other = neighbour(world)
    category = CareCategory.objects.first()
    assert category is not None
    posts = [
        (reverse("registry:resident_event", args=[other.pk, "death"]), {"date": "2024-05-01"}),
        (reverse("registry:resident_event", args=[other.pk, "move_out"]), {"date": "2024-05-01"}),
        (reverse("registry:care_tag_add", args=[other.pk]), {"category": category.pk}),
        (reverse("registry:care_tag_remove", args=[other.pk, category.code]), {}),
        (
            reverse("registry:household_register", args=[other.household_id]),
            {"kind": "move_in", "name": "某人", "id_number": "11010519491231002X", "relationship": "other"},
        ),
        (reverse("registry:household_add", args=[world.buildings["grid_a1_2"].pk]), {"room": "909"}),
    ]
    for url, data in posts:
        assert client.post(url, data).status_code == 404, url
    other.refresh_from_db()
    assert other.status == Resident.Status.LIVING
    assert not CareTag.objects.filter(resident=other).exists()
    assert not Resident.objects.filter(id_number="11010519491231002X").exists()


@pytest.mark.parametrize("role", [Role.DEPARTMENT, Role.GUARDIAN, Role.PETITION_OFFICE, Role.AUDITOR])
def test_it_lets_no_read_only_role_write_a_care_tag(world: World, client_for: Any, role: Role) -> None:
    ward = world.residents["a1_1_ward"]
    category = CareCategory.objects.exclude(tags__resident=ward).first()
    assert category is not None
    response = client_for(role).post(reverse("registry:care_tag_add", args=[ward.pk]), {"category": category.pk})
    assert response.status_code == 404
    assert not CareTag.objects.filter(resident=ward, category=category).exists()


# --- masking -------------------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.DEPARTMENT, Role.GUARDIAN])
def test_it_does_not_let_a_masked_page_be_unmasked_with_the_birth_date(
    world: World, client_for: Any, role: Role
) -> None:
    """The mask keeps the area code and the last four; the birth date is the eight in between."""
    ward = world.residents["a1_1_ward"]
    body = client_for(role).get(reverse("registry:resident", args=[ward.pk])).content.decode()
    assert idnumbers.mask(ward.id_number) in body
    assert ward.id_number not in body
    assert ward.birth_date.strftime("%Y-%m-%d") not in body
    assert ward.birth_date.strftime("%Y%m%d") not in body


@pytest.mark.parametrize("role", [Role.DEPARTMENT, Role.GUARDIAN])
def test_it_does_not_unmask_through_the_api_detail(world: World, role: Role) -> None:
    ward = world.residents["a1_1_ward"]
    data = api_for(world, role).get(f"/api/v1/residents/{ward.pk}/").json()
    assert data["id_number"] == idnumbers.mask(ward.id_number)
    assert data["birth_date"] is None
    assert data["phone"] == idnumbers.mask_phone(ward.phone)
    assert data["care_categories"] is None


def test_it_masks_every_row_of_every_list(world: World) -> None:
    client = api_for(world, Role.DISTRICT_ADMIN)
    listed = rows(client.get("/api/v1/residents/"))
    listed += [m for h in rows(client.get("/api/v1/households/")) for m in h["members"]]
    listed += rows(client.get("/api/v1/search/", {"q": "王"}))
    assert listed
    for row in listed:
        assert "*" in row["id_number"], row
        assert not row["phone"] or "*" in row["phone"], row


# --- hostile text --------------------------------------------------------------------------


def hostile(world: World) -> Resident:
    resident = world.residents["a1_1_head"]
    resident.name = SCRIPT_NAME
    resident.save(update_fields=["name"])
    building = world.buildings["grid_a1_1"]
    building.name = ATTRIBUTE_BREAK
    building.save(update_fields=["name"])
    household = world.households["grid_a1_1"]
    household.room = "=1+2"
    household.save(update_fields=["room"])
    return resident


def test_it_escapes_a_script_name_and_a_markup_building_on_every_page(world: World, client_for: Any) -> None:
    resident = hostile(world)
    client = client_for(Role.GRID_WORKER)
    urls = [
        reverse("home"),
        reverse("registry:resident", args=[resident.pk]),
        reverse("registry:household", args=[resident.household_id]),
        reverse("registry:building", args=[world.buildings["grid_a1_1"].pk]),
        reverse("registry:area", args=[world.areas["grid_a1_1"].pk]),
        reverse("registry:search") + "?q=" + "script",
        reverse("registry:search") + "?q=" + "%3Cscript%3E",
    ]
    for url in urls:
        body = client.get(url).content.decode()
        assert "<script>alert(1)" not in body, url
        assert "<img src=x" not in body, url


def test_it_escapes_the_search_query_echoed_back(world: World, client_for: Any) -> None:
    body = client_for(Role.GRID_WORKER).get(reverse("registry:search"), {"q": ATTRIBUTE_BREAK}).content.decode()
    assert "<img src=x" not in body


def test_it_neutralises_formulas_in_the_export(world: World, client_for: Any) -> None:
    hostile(world)
    other = world.residents["a1_1_ward"]
    other.name = '=HYPERLINK("http://evil","x")'
    other.save(update_fields=["name"])
    response = client_for(Role.GRID_WORKER).get(reverse("registry:export"))
    table = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    for row in table[1:]:
        for cell in row:
            assert cell[:1] not in ("=", "+", "-", "@"), row


def test_it_exports_nothing_of_another_grid_when_asked_for_it(world: World, client_for: Any) -> None:
    response = client_for(Role.GRID_WORKER).get(reverse("registry:export"), {"grid": world.areas["grid_a1_2"].pk})
    table = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert len(table) == 1  # the header alone
    entry = AuditEntry.objects.filter(action=AuditEntry.Action.EXPORT).get()
    assert entry.detail["count"] == 0


# --- the map and the area pages ------------------------------------------------------------


def test_it_draws_only_the_workers_own_grid_and_buildings_on_the_map(world: World, client_for: Any) -> None:
    features = client_for(Role.GRID_WORKER).get(reverse("registry:geojson")).json()["features"]
    ids = {(f["properties"]["kind"], f["properties"]["id"]) for f in features}
    assert ("grid", world.areas["grid_a1_1"].pk) in ids
    assert ("building", world.buildings["grid_a1_1"].pk) in ids
    assert ("grid", world.areas["grid_a1_2"].pk) not in ids
    assert ("building", world.buildings["grid_a1_2"].pk) not in ids
    assert ("building", world.buildings["grid_b1_1"].pk) not in ids


@pytest.mark.parametrize("role", [Role.GUARDIAN, Role.AUDITOR])
def test_it_shows_no_household_counts_on_the_map_to_roles_without_a_registry(
    world: World, client_for: Any, role: Role
) -> None:
    response = client_for(role).get(reverse("registry:geojson"))
    features = response.json()["features"] if response.status_code == 200 else []
    assert all(not f["properties"].get("households") for f in features)


def test_it_404s_another_grids_area_and_building_pages(world: World, client_for: Any) -> None:
    client = client_for(Role.GRID_WORKER)
    assert client.get(reverse("registry:area", args=[world.areas["grid_a1_2"].pk])).status_code == 404
    assert client.get(reverse("registry:area", args=[world.areas["community_b1"].pk])).status_code == 404
    assert client.get(reverse("registry:building", args=[world.buildings["grid_a1_2"].pk])).status_code == 404
    api = api_for(world, Role.GRID_WORKER)
    assert api.get(f"/api/v1/buildings/{world.buildings['grid_a1_2'].pk}/").status_code == 404
    assert api.get(f"/api/v1/areas/{world.areas['grid_a1_2'].pk}/").status_code == 404


def test_it_shows_an_auditor_no_resident_on_an_area_or_building_page(world: World, client_for: Any) -> None:
    client = client_for(Role.AUDITOR)
    for key in ("grid_a1_1", "grid_b1_1"):
        for url in (
            reverse("registry:area", args=[world.areas[key].pk]),
            reverse("registry:building", args=[world.buildings[key].pk]),
        ):
            body = client.get(url).content.decode()
            for resident in world.residents.values():
                assert resident.name not in body, url


def test_it_audits_a_resident_page_seen_in_full(world: World, client_for: Any) -> None:
    mine = world.residents["a1_1_head"]
    client_for(Role.GRID_WORKER).get(reverse("registry:resident", args=[mine.pk]))
    assert AuditEntry.objects.filter(action=AuditEntry.Action.VIEW, object_id=str(mine.pk)).count() == 1


def test_it_makes_nothing_writable_with_a_get(world: World, client_for: Any) -> None:
    client = client_for(Role.GRID_WORKER)
    mine = world.residents["a1_1_head"]
    for url in (
        reverse("registry:resident_event", args=[mine.pk, "death"]),
        reverse("registry:care_tag_add", args=[mine.pk]),
        reverse("registry:household_register", args=[mine.household_id]),
        reverse("registry:household_add", args=[world.buildings["grid_a1_1"].pk]),
    ):
        assert client.get(url).status_code == 405, url


def test_it_lets_a_guardian_see_only_their_ward(world: World, client_for: Any) -> None:
    client = client_for(Role.GUARDIAN)
    body = client.get(reverse("home")).content.decode()
    assert "李秀英" in body
    assert "王建国" not in body
    api = api_for(world, Role.GUARDIAN)
    assert {r["id"] for r in rows(api.get("/api/v1/residents/"))} == {world.residents["a1_1_ward"].pk}
    assert rows(api.get("/api/v1/residents/", {"household": world.households["grid_a1_1"].pk})) == [
        r for r in rows(api.get("/api/v1/residents/")) if r["household"] == world.households["grid_a1_1"].pk
    ]
    # The household API shows the ward only, not the head living with them.
    members = [m["name"] for h in rows(api.get("/api/v1/households/")) for m in h["members"]]
    assert members == ["李秀英"]


def test_it_hides_the_registry_from_a_client_of_a_role_without_one(world: World) -> None:
    client = api_for(world, Role.AUDITOR)
    assert rows(client.get("/api/v1/residents/")) == []
    assert rows(client.get("/api/v1/households/")) == []
    assert client.get("/api/v1/residents/export/").status_code == 403


# --- hostile import files ----------------------------------------------------------------------


def _gbk_csv(rows: list[list[str]]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(
        [["姓名", "公民身份号码", "联系电话", "社区", "楼栋", "单元", "房号", "与户主关系", "人员类别"], *rows]
    )
    return buffer.getvalue().encode("gbk")


def _upload(client: Client, data: bytes, name: str) -> Any:
    from django.core.files.uploadedfile import SimpleUploadedFile

    from wangge.core.tasks import run_queued
    from wangge.registry.models import ResidentImport

    queued = client.post(reverse("registry:import"), {"file": SimpleUploadedFile(name, data, content_type="text/csv")})
    assert queued.status_code == 302, queued.content[:500]
    run_queued(worker="test")
    task_page = client.get(queued["Location"]).content.decode()
    assert "<script>alert(1)" not in task_page and "<img src=x" not in task_page
    # The import's own page: counts, rejected rows and the report (what the upload page showed).
    return client.get(reverse("registry:import-run", args=[ResidentImport.objects.order_by("-pk")[0].pk]))


def test_it_escapes_markup_from_an_imported_file_on_the_result_page(world: World, client_for: Any) -> None:
    import datetime as dt

    good = idnumbers.make(area_code="210304", birth_date=dt.date(1950, 1, 2), sequence=301, sex="M")
    data = _gbk_csv(
        [
            [SCRIPT_NAME, good, "13812345678", "灵西社区", ATTRIBUTE_BREAK, "1", "101", "户主", ""],
            ["壞行", "12345", "", f"社區{SCRIPT_NAME}", "1号楼", "1", "102", "户主", ATTRIBUTE_BREAK],
        ]
    )
    response = _upload(client_for(Role.COMMUNITY_STAFF), data, '"><img src=x onerror=alert(2)>.csv')
    body = response.content.decode()
    assert response.status_code == 200
    assert "<script>alert(1)" not in body
    assert "<img src=x" not in body
    resident = Resident.objects.get(id_number=good)
    page = client_for(Role.COMMUNITY_STAFF).get(reverse("registry:resident", args=[resident.pk])).content.decode()
    assert "<script>alert(1)" not in page
    assert "<img src=x" not in page


def test_it_neutralises_formulas_from_an_imported_file_in_the_export_and_the_report(
    world: World, client_for: Any
) -> None:
    import datetime as dt
    import re

    good = idnumbers.make(area_code="210304", birth_date=dt.date(1950, 1, 2), sequence=302, sex="F")
    formula = '=HYPERLINK("http://evil.example.com","点我")'
    data = _gbk_csv(
        [
            [formula, good, "13812345678", "灵西社区", "@SUM(1+1)", "-1", "+1", "户主", ""],
            ["壞行", "12345", "", "=1+2", "=1+3", "1", "102", "户主", "=1+4"],
        ]
    )
    client = client_for(Role.COMMUNITY_STAFF)
    body = _upload(client, data, "formulas.csv").content.decode()
    exported = client.get(reverse("registry:export"))
    table = list(csv.reader(io.StringIO(b"".join(exported.streaming_content).decode("utf-8-sig"))))
    assert any(formula in "".join(row) for row in table), table
    for row in table[1:]:
        for cell in row:
            assert cell[:1] not in ("=", "+", "-", "@"), row
    match = re.search(r'href="(/registry/import/reports/[^"]+)"', body)
    assert match, body[:2000]
    report = client.get(match.group(1))
    text = b"".join(report.streaming_content).decode("utf-8-sig")
    for row in list(csv.reader(io.StringIO(text)))[1:]:
        for cell in row:
            assert cell[:1] not in ("=", "+", "-", "@"), row


def test_it_keeps_an_import_report_to_its_uploader(world: World, client_for: Any) -> None:
    import re

    data = _gbk_csv([["壞行", "12345", "", "灵西社区", "1号楼", "1", "102", "户主", ""]])
    body = _upload(client_for(Role.COMMUNITY_STAFF), data, "bad.csv").content.decode()
    match = re.search(r'href="(/registry/import/reports/[^"]+)"', body)
    assert match
    assert client_for(Role.COMMUNITY_STAFF).get(match.group(1)).status_code == 200
    assert client_for(Role.STREET_STAFF).get(match.group(1)).status_code == 404
    assert client_for(Role.DISTRICT_ADMIN).get(match.group(1)).status_code == 404


def test_it_refuses_rows_for_a_community_outside_the_uploaders_areas(world: World, client_for: Any) -> None:
    import datetime as dt

    number = idnumbers.make(area_code="210304", birth_date=dt.date(1960, 3, 4), sequence=303, sex="M")
    data = _gbk_csv([["外人", number, "", "曙光社区", "1号楼", "1", "101", "户主", ""]])
    _upload(client_for(Role.COMMUNITY_STAFF), data, "other.csv")
    assert not Resident.objects.filter(id_number=number).exists()


@pytest.mark.parametrize("role", list(Role))
def test_it_gives_an_inactive_account_nothing_from_any_scoped_query(world: World, role: Role) -> None:
    """Sign-in refuses inactive accounts; the queries refuse them too, for code that runs without a request."""
    from wangge.areas.queries import areas_visible_to, buildings_visible_to
    from wangge.registry.queries import households_visible_to, residents_visible_to, search_keys_visible_to

    user = world.user(role)
    user.is_active = False
    user.save(update_fields=["is_active"])
    for query in (
        residents_visible_to,
        households_visible_to,
        search_keys_visible_to,
        areas_visible_to,
        buildings_visible_to,
    ):
        assert not query(user).exists(), (query.__name__, role)
