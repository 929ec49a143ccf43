"""The households and residents API: scoped, masked, audited, and written through actions."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from django.test import Client

from wangge.accounts.models import Role
from wangge.conftest import World, api_token
from wangge.core import idnumbers
from wangge.core.models import AuditEntry
from wangge.registry.models import LifeEvent, Resident, SearchKey

pytestmark = pytest.mark.django_db


def ids(response: Any) -> set[int]:
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["results"]}


def new_id_number(sequence: int = 40) -> str:
    import datetime as dt

    return idnumbers.make(area_code="210304", birth_date=dt.date(1985, 5, 20), sequence=sequence, sex="F")


def test_it_lists_only_the_residents_in_the_workers_grid(world: World, client_for: Any) -> None:
    response = client_for(Role.GRID_WORKER).get("/api/v1/residents/")
    assert ids(response) == {world.residents["a1_1_head"].pk, world.residents["a1_1_ward"].pk}
    assert response.json()["count"] == 2


def test_it_masks_id_numbers_and_phones_in_lists(world: World, client_for: Any) -> None:
    rows = client_for(Role.DISTRICT_ADMIN).get("/api/v1/residents/").json()["results"]
    head = world.residents["a1_1_head"]
    row = next(r for r in rows if r["id"] == head.pk)
    assert row["id_number"] == idnumbers.mask(head.id_number)
    assert head.id_number not in str(rows)
    assert row["phone"] == "138****1111"
    assert "care_categories" not in row


def test_it_filters_residents_by_grid_and_status(world: World, client_for: Any) -> None:
    client = client_for(Role.COMMUNITY_STAFF)
    grid = world.areas["grid_a1_2"].pk
    assert ids(client.get(f"/api/v1/residents/?grid={grid}")) == {world.residents["a1_2_head"].pk}
    assert ids(client.get("/api/v1/residents/?status=deceased")) == set()
    assert ids(client.get("/api/v1/residents/?grid=abc")) == set()


def test_it_shows_full_detail_to_a_grid_worker_and_audits_the_view(world: World, client_for: Any) -> None:
    ward = world.residents["a1_1_ward"]
    response = client_for(Role.GRID_WORKER).get(f"/api/v1/residents/{ward.pk}/", REMOTE_ADDR="10.1.2.3")
    assert response.status_code == 200
    body = response.json()
    assert body["full_detail"] is True
    assert body["id_number"] == ward.id_number
    assert body["phone"] == ward.phone
    assert [c["code"] for c in body["care_categories"]] == ["dementia"]
    entry = AuditEntry.objects.get(action=AuditEntry.Action.VIEW, object_id=str(ward.pk))
    assert entry.actor == world.user(Role.GRID_WORKER)
    assert entry.ip == "10.1.2.3"
    assert entry.object_type == "registry.resident"


def test_it_shows_a_masked_detail_to_a_department_without_auditing(world: World, client_for: Any) -> None:
    ward = world.residents["a1_1_ward"]
    body = client_for(Role.DEPARTMENT).get(f"/api/v1/residents/{ward.pk}/").json()
    assert body["full_detail"] is False
    assert body["id_number"] == idnumbers.mask(ward.id_number)
    assert body["care_categories"] is None
    assert body["birth_date"] is None
    assert not AuditEntry.objects.filter(action=AuditEntry.Action.VIEW).exists()


def test_it_answers_out_of_scope_exactly_like_a_missing_resident(world: World, client_for: Any) -> None:
    client = client_for(Role.GRID_WORKER)
    neighbour = client.get(f"/api/v1/residents/{world.residents['a1_2_head'].pk}/")
    missing = client.get("/api/v1/residents/999999/")
    assert neighbour.status_code == missing.status_code == 404
    assert neighbour.json() == missing.json()


def test_it_lists_households_with_only_the_members_a_guardian_may_see(world: World, client_for: Any) -> None:
    response = client_for(Role.GUARDIAN).get("/api/v1/households/")
    rows = response.json()["results"]
    assert [row["id"] for row in rows] == [world.households["grid_a1_1"].pk]
    assert [m["id"] for m in rows[0]["members"]] == [world.residents["a1_1_ward"].pk]
    assert rows[0]["head"] is None  # the head is the housemate the guardian may not see
    assert "王建国" not in response.content.decode()


def test_it_masks_household_members(world: World, client_for: Any) -> None:
    household = world.households["grid_a1_1"]
    body = client_for(Role.GRID_WORKER).get(f"/api/v1/households/{household.pk}/").json()
    assert body["head"] == world.residents["a1_1_head"].pk
    assert {m["id_number"] for m in body["members"]} == {
        idnumbers.mask(r.id_number) for r in (world.residents["a1_1_head"], world.residents["a1_1_ward"])
    }


def test_it_registers_a_resident_into_a_household(world: World, client_for: Any) -> None:
    number = new_id_number()
    response = client_for(Role.GRID_WORKER).post(
        "/api/v1/residents/",
        {
            "household": world.households["grid_a1_1"].pk,
            "name": "王小红",
            "id_number": number.lower(),
            "phone": "13812345678",
            "relationship": "child",
        },
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    resident = Resident.objects.get(id_number=number)
    assert resident.grid == world.areas["grid_a1_1"]
    assert resident.sex == "F"
    assert response.json()["id_number"] == idnumbers.mask(number)
    assert LifeEvent.objects.filter(resident=resident, kind=LifeEvent.Kind.MOVE_IN).exists()
    assert SearchKey.objects.filter(resident=resident, key="王小红").exists()
    entry = AuditEntry.objects.get(action=AuditEntry.Action.CREATE, object_id=str(resident.pk))
    assert entry.actor == world.user(Role.GRID_WORKER)


def test_it_rejects_a_bad_check_digit_with_a_translated_message(world: World, client_for: Any) -> None:
    number = new_id_number()
    wrong = number[:17] + ("0" if number[17] != "0" else "1")
    response = client_for(Role.GRID_WORKER).post(
        "/api/v1/residents/",
        {"household": world.households["grid_a1_1"].pk, "name": "王小红", "id_number": wrong},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert "校验位" in response.json()["id_number"][0]
    english = client_for(Role.GRID_WORKER).post(
        "/api/v1/residents/",
        {"household": world.households["grid_a1_1"].pk, "name": "", "id_number": "123"},
        content_type="application/json",
        HTTP_ACCEPT_LANGUAGE="zh-hans",
    )
    assert set(english.json()) == {"name", "id_number"}


def test_it_rejects_a_duplicate_id_number_per_field(world: World, client_for: Any) -> None:
    response = client_for(Role.GRID_WORKER).post(
        "/api/v1/residents/",
        {
            "household": world.households["grid_a1_1"].pk,
            "name": "重复",
            "id_number": world.residents["a1_1_head"].id_number,
        },
        content_type="application/json",
    )
    assert response.status_code == 400
    assert "id_number" in response.json()


def test_it_will_not_register_into_a_household_out_of_scope(world: World, client_for: Any) -> None:
    client = client_for(Role.GRID_WORKER)
    payload = {"name": "王小红", "id_number": new_id_number()}
    neighbour = client.post(
        "/api/v1/residents/",
        {**payload, "household": world.households["grid_a1_2"].pk},
        content_type="application/json",
    )
    missing = client.post("/api/v1/residents/", {**payload, "household": 999999}, content_type="application/json")
    assert neighbour.status_code == missing.status_code == 400
    assert neighbour.json() == missing.json()
    assert not Resident.objects.filter(name="王小红").exists()


def test_it_forbids_writes_to_roles_that_only_read(world: World, client_for: Any) -> None:
    ward = world.residents["a1_1_ward"]
    for role in (Role.DEPARTMENT, Role.GUARDIAN, Role.PETITION_OFFICE):
        response = client_for(role).patch(
            f"/api/v1/residents/{ward.pk}/", {"phone": "13000000000"}, content_type="application/json"
        )
        assert response.status_code == 403, role
    ward.refresh_from_db()
    assert ward.phone == "13800002222"


def test_it_updates_a_phone_and_reindexes_it(world: World, client_for: Any) -> None:
    head = world.residents["a1_1_head"]
    response = client_for(Role.GRID_WORKER).patch(
        f"/api/v1/residents/{head.pk}/", {"phone": "13912349876"}, content_type="application/json"
    )
    assert response.status_code == 200, response.content
    head.refresh_from_db()
    assert head.phone == "13912349876"
    assert SearchKey.objects.filter(resident=head, key="@9876").exists()
    assert AuditEntry.objects.filter(action=AuditEntry.Action.UPDATE, object_id=str(head.pk)).exists()


def test_it_rejects_a_malformed_phone(world: World, client_for: Any) -> None:
    head = world.residents["a1_1_head"]
    response = client_for(Role.GRID_WORKER).patch(
        f"/api/v1/residents/{head.pk}/", {"phone": "call me"}, content_type="application/json"
    )
    assert response.status_code == 400
    assert "phone" in response.json()


def test_it_records_a_move_out(world: World, client_for: Any) -> None:
    head = world.residents["a1_1_head"]
    response = client_for(Role.COMMUNITY_STAFF).post(
        f"/api/v1/residents/{head.pk}/events/",
        {"kind": "move_out", "date": "2024-03-01", "destination": "沈阳市"},
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    head.refresh_from_db()
    assert head.status == Resident.Status.MOVED_OUT
    event = LifeEvent.objects.get(resident=head, kind=LifeEvent.Kind.MOVE_OUT)
    assert event.detail == {"destination": "沈阳市"}
    world.households["grid_a1_1"].refresh_from_db()
    assert world.households["grid_a1_1"].head is None


def test_it_refuses_a_death_for_someone_already_deceased(world: World, client_for: Any) -> None:
    ward = world.residents["a1_1_ward"]
    client = client_for(Role.GRID_WORKER)
    first = client.post(f"/api/v1/residents/{ward.pk}/events/", {"kind": "death"}, content_type="application/json")
    again = client.post(f"/api/v1/residents/{ward.pk}/events/", {"kind": "death"}, content_type="application/json")
    assert first.status_code == 201
    assert again.status_code == 400
    assert "status" in again.json()


def test_it_moves_a_resident_into_another_household_in_scope(world: World, client_for: Any) -> None:
    head = world.residents["a1_2_head"]
    target = world.households["grid_a1_1"]
    client = client_for(Role.COMMUNITY_STAFF)
    response = client.post(
        f"/api/v1/residents/{head.pk}/events/",
        {"kind": "move_in", "household": target.pk, "relationship": "other"},
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    head.refresh_from_db()
    assert head.household == target
    assert head.grid == world.areas["grid_a1_1"]
    missing_household = client.post(
        f"/api/v1/residents/{head.pk}/events/", {"kind": "move_in"}, content_type="application/json"
    )
    assert missing_household.status_code == 400
    assert "household" in missing_household.json()


def test_it_will_not_move_someone_into_a_household_out_of_scope(world: World, client_for: Any) -> None:
    head = world.residents["a1_1_head"]
    response = client_for(Role.GRID_WORKER).post(
        f"/api/v1/residents/{head.pk}/events/",
        {"kind": "move_in", "household": world.households["grid_a1_2"].pk},
        content_type="application/json",
    )
    assert response.status_code == 400
    head.refresh_from_db()
    assert head.household == world.households["grid_a1_1"]


def test_it_records_a_marriage_to_a_registered_spouse(world: World, client_for: Any) -> None:
    head, other = world.residents["a1_1_head"], world.residents["a1_2_head"]
    response = client_for(Role.COMMUNITY_STAFF).post(
        f"/api/v1/residents/{head.pk}/events/",
        {"kind": "marriage", "date": "2020-10-01", "spouse": other.pk},
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    assert LifeEvent.objects.filter(resident=other, kind=LifeEvent.Kind.MARRIAGE).count() == 1


def test_it_refuses_an_event_dated_in_the_future(world: World, client_for: Any) -> None:
    head = world.residents["a1_1_head"]
    response = client_for(Role.GRID_WORKER).post(
        f"/api/v1/residents/{head.pk}/events/", {"kind": "death", "date": "2999-01-01"}, content_type="application/json"
    )
    assert response.status_code == 400
    assert "date" in response.json()


def export_rows(response: Any) -> list[list[str]]:
    body = b"".join(response.streaming_content)
    assert body.startswith("\ufeff".encode())
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


def test_it_exports_masked_residents_in_scope_as_csv_with_bom(world: World, client_for: Any) -> None:
    response = client_for(Role.STREET_STAFF).get("/api/v1/residents/export/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = export_rows(response)
    assert rows[0][:2] == ["姓名", "证件号码"]
    names = {row[0] for row in rows[1:]}
    assert names == {"王建国", "李秀英", "赵志强"}
    assert all("*" in row[1] for row in rows[1:])
    assert world.residents["a1_1_head"].id_number not in str(rows)
    entry = AuditEntry.objects.get(action=AuditEntry.Action.EXPORT)
    assert entry.detail["count"] == 3
    assert entry.actor == world.user(Role.STREET_STAFF)


def test_it_exports_from_the_page_link_too(world: World, client_for: Any) -> None:
    response = client_for(Role.GRID_WORKER).get("/registry/export/")
    assert response.status_code == 200
    assert {row[0] for row in export_rows(response)[1:]} == {"王建国", "李秀英"}


def test_it_streams_the_export_in_the_order_of_an_index(world: World) -> None:
    # A district's export sorted 520,000 rows before its first byte; in index order it streams.
    from wangge.registry.export import residents_for_export

    order = [f.lstrip("-") for f in residents_for_export(by=world.user(Role.DISTRICT_ADMIN)).query.order_by]
    indexed = [[f.removesuffix("_id") for f in index.fields] for index in Resident._meta.indexes]
    assert [f.removesuffix("_id") for f in order] in indexed


def test_it_refuses_export_to_roles_without_it(world: World, client_for: Any) -> None:
    for role in (Role.DEPARTMENT, Role.PETITION_OFFICE, Role.GUARDIAN, Role.AUDITOR):
        assert client_for(role).get("/api/v1/residents/export/").status_code == 403, role
        assert client_for(role).get("/registry/export/").status_code == 403, role
    assert not AuditEntry.objects.filter(action=AuditEntry.Action.EXPORT).exists()


def test_it_neutralises_spreadsheet_formulas_in_exports(world: World, client_for: Any) -> None:
    Resident.objects.filter(pk=world.residents["a1_1_head"].pk).update(name="=HYPERLINK(1)")
    rows = export_rows(client_for(Role.GRID_WORKER).get("/api/v1/residents/export/"))
    assert "'=HYPERLINK(1)" in {row[0] for row in rows}


def test_it_accepts_token_authentication(world: World) -> None:
    token = api_token(world.user(Role.GRID_WORKER))
    response = Client().get("/api/v1/residents/", HTTP_AUTHORIZATION=f"Token {token}")
    assert ids(response) == {world.residents["a1_1_head"].pk, world.residents["a1_1_ward"].pk}


def test_it_requires_authentication(world: World) -> None:
    for url in ("/api/v1/residents/", "/api/v1/households/"):
        response = Client().get(url)
        assert response.status_code == 401
        assert response["WWW-Authenticate"] == "Token"


def add_residents(world: World, count: int) -> None:
    import datetime as dt

    household = world.households["grid_a1_1"]
    for n in range(count):
        resident = Resident(
            household=household,
            name=f"测试{n}",
            id_number=idnumbers.make(area_code="210304", birth_date=dt.date(1960, 1, 1 + n), sequence=100 + n, sex="M"),
            sex="M",
            birth_date=dt.date(1960, 1, 1 + n),
        )
        resident.copy_scope(household)
        resident.save()


def count_queries(client: Client, url: str) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
        assert response.status_code == 200
        if response.streaming:
            b"".join(response.streaming_content)
    return len(queries)


@pytest.mark.parametrize(
    "url",
    ["/api/v1/residents/", "/api/v1/households/", "/api/v1/residents/export/"],
)
def test_it_lists_without_a_query_per_row(world: World, client_for: Any, url: str) -> None:
    client = client_for(Role.DISTRICT_ADMIN)
    before = count_queries(client, url)
    add_residents(world, 5)
    assert count_queries(client, url) == before


def test_it_exports_csv_to_a_client_that_asks_for_json(world: World, client_for: Any) -> None:
    response = client_for(Role.GRID_WORKER).get("/api/v1/residents/export/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    assert {row[0] for row in export_rows(response)[1:]} == {"王建国", "李秀英"}
    refused = client_for(Role.DEPARTMENT).get("/api/v1/residents/export/", HTTP_ACCEPT="application/json")
    assert refused.status_code == 403
    assert "detail" in refused.json()
