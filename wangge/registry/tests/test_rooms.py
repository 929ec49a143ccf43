"""Rooms, rentals and rental inspections: actions, scope, the pages and the API.

The grid worker of the world (``wangge/conftest.py``) works grid_a1_1; grid_a1_2 next door is
just outside their reach.
"""

from __future__ import annotations

import datetime as dt
import importlib
from decimal import Decimal
from typing import Any

import pytest
from django.apps import apps
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import timezone

from wangge.accounts.models import Role
from wangge.conftest import World
from wangge.core.models import AuditEntry
from wangge.registry import actions, room_actions, room_queries
from wangge.registry.models import Household, Rental, RentalInspection, Room, floor_of
from wangge.registry.tests.test_scope_matrix import worker_with_broken_audit

pytestmark = pytest.mark.django_db


def today() -> dt.date:
    return timezone.localdate()


def settle(world: World, grid_key: str) -> Room:
    household = world.households[grid_key]
    return room_actions.household_settle(by=None, household=household)


def let(world: World, grid_key: str, *, start: dt.date | None = None, end: dt.date | None = None, **kw: Any) -> Rental:
    room = settle(world, grid_key)
    start = start or today() - dt.timedelta(days=10)
    return room_actions.rental_register(
        by=None,
        room=room,
        start=start,
        end=end or start + dt.timedelta(days=365),
        landlord_name="刘德明",
        tenants=[world.residents[f"{grid_key[5:]}_head"]] if grid_key != "other_grid" else [],
        **kw,
    )


def test_floor_of_reads_the_usual_room_numbers() -> None:
    assert floor_of("301") == 3
    assert floor_of("1203") == 12
    assert floor_of("B102") == -1
    assert floor_of("12") is None
    assert floor_of("商铺") is None


def test_it_gives_a_new_household_its_room_from_the_address(world: World) -> None:
    worker = world.user(Role.GRID_WORKER)
    household = actions.household_create(by=worker, building=world.buildings["grid_a1_1"], entrance="2", room="1502")
    room = Room.objects.get(pk=household.dwelling_id)
    assert (room.building_id, room.entrance, room.number, room.floor) == (household.building_id, "2", "1502", 15)
    assert room.grid_id == household.grid_id
    assert room.use_id == "residence"
    assert AuditEntry.objects.filter(object_type="registry.room", object_id=str(room.pk), action="create").exists()


def test_the_data_migration_gives_every_existing_household_a_room(world: World) -> None:
    assert Household.objects.filter(dwelling__isnull=True).count() == len(world.households)
    migration = importlib.import_module("wangge.registry.migrations.0010_rooms_from_households")

    migration.rooms_from_households(apps, None)

    for household in Household.objects.select_related("dwelling"):
        assert household.dwelling is not None
        assert (household.dwelling.building_id, household.dwelling.entrance, household.dwelling.number) == (
            household.building_id,
            household.entrance,
            household.room,
        )
        assert household.dwelling.grid_id == household.grid_id
        assert household.dwelling.floor == 1


def test_registering_a_rental_marks_the_room_rented_and_sets_the_first_inspection(world: World) -> None:
    start = today() - dt.timedelta(days=10)
    rental = let(world, "grid_a1_1", start=start, hazard_level="general", rent=Decimal("1200"))
    rental.room.refresh_from_db()
    assert rental.room.use_id == "rented"
    assert rental.inspection_due == start + dt.timedelta(days=90)
    assert rental.grid_id == world.households["grid_a1_1"].grid_id
    assert list(rental.tenants.all()) == [world.residents["a1_1_head"]]
    assert AuditEntry.objects.filter(object_type="registry.rental", object_id=str(rental.pk)).exists()


def test_it_refuses_a_second_lease_of_a_room_for_the_same_time(world: World) -> None:
    first = let(world, "grid_a1_1")
    with pytest.raises(ValidationError) as error:
        room_actions.rental_register(
            by=None, room=first.room, start=first.end, end=first.end + dt.timedelta(days=30), landlord_name="刘德明"
        )
    assert "start" in error.value.message_dict
    # The day after it ends is free.
    room_actions.rental_register(
        by=None,
        room=first.room,
        start=first.end + dt.timedelta(days=1),
        end=first.end + dt.timedelta(days=30),
        landlord_name="刘德明",
    )


def test_it_refuses_a_lease_that_ends_before_it_starts_and_stores_nothing(world: World) -> None:
    room = settle(world, "grid_a1_1")
    with pytest.raises(ValidationError) as error:
        room_actions.rental_register(
            by=None, room=room, start=today(), end=today() - dt.timedelta(days=1), landlord_name="刘德明"
        )
    assert "end" in error.value.message_dict
    assert not Rental.objects.exists()


def test_an_inspection_moves_the_due_date_by_the_level_it_found(world: World) -> None:
    rental = let(world, "grid_a1_1")
    room_actions.rental_inspect(by=None, rental=rental, date=today(), findings="消防通道堆物", hazard_level="major")
    rental.refresh_from_db()
    assert rental.last_inspected == today()
    assert rental.hazard_level_id == "major"
    assert rental.inspection_due == today() + dt.timedelta(days=30)

    # An older visit entered late goes into the history without moving the due date.
    room_actions.rental_inspect(by=None, rental=rental, date=today() - dt.timedelta(days=5), hazard_level="none")
    rental.refresh_from_db()
    assert rental.inspection_due == today() + dt.timedelta(days=30)
    assert rental.inspections.count() == 2


def test_it_refuses_an_inspection_in_the_future(world: World) -> None:
    rental = let(world, "grid_a1_1")
    with pytest.raises(ValidationError):
        room_actions.rental_inspect(by=None, rental=rental, date=today() + dt.timedelta(days=1))
    assert not RentalInspection.objects.exists()


def test_ending_a_lease_leaves_the_room_vacant(world: World) -> None:
    rental = let(world, "grid_a1_1")
    room_actions.rental_end(by=None, rental=rental, date=today())
    rental.room.refresh_from_db()
    assert rental.room.use_id == "vacant"
    assert rental not in room_queries.current_rentals(world.user(Role.GRID_WORKER), today=today())


def test_the_attention_list_holds_the_rental_just_inside_each_rule_and_not_just_outside(world: World) -> None:
    worker = world.user(Role.GRID_WORKER)
    rental = let(world, "grid_a1_1", start=today() - dt.timedelta(days=10), end=today() + dt.timedelta(days=200))

    def listed(*, due: int, end: int) -> bool:
        Rental.objects.filter(pk=rental.pk).update(
            inspection_due=today() + dt.timedelta(days=due), end=today() + dt.timedelta(days=end)
        )
        return room_queries.rentals_needing_attention(worker, today=today()).filter(pk=rental.pk).exists()

    assert listed(due=room_queries.DUE_SOON_DAYS, end=200)
    assert not listed(due=room_queries.DUE_SOON_DAYS + 1, end=200)
    assert listed(due=-1, end=200)  # overdue
    assert listed(due=100, end=room_queries.EXPIRING_DAYS)
    assert not listed(due=100, end=room_queries.EXPIRING_DAYS + 1)
    assert not listed(due=-1, end=-1)  # over: no longer the worker's business


def test_a_worker_of_the_neighbouring_grid_cannot_see_a_room_or_rental(world: World, client_for: Any) -> None:
    theirs = let(world, "grid_a1_2")
    ours = let(world, "grid_a1_1")
    client: Client = client_for(Role.GRID_WORKER)

    assert client.get(f"/api/v1/rooms/{theirs.room_id}/").status_code == 404
    assert client.get(f"/api/v1/rentals/{theirs.pk}/").status_code == 404
    assert client.get(f"/api/v1/rentals/{theirs.pk}/inspections/").status_code == 404
    assert client.get(f"/rentals/{theirs.pk}/").status_code == 404
    assert client.post(f"/rentals/{theirs.pk}/inspect/", {"date": today().isoformat()}).status_code == 404
    assert client.get(f"/buildings/{world.buildings['grid_a1_2'].pk}/plan/").status_code == 404
    listed = [r["id"] for r in client.get("/api/v1/rentals/").json()["results"]]
    assert listed == [ours.pk]
    rooms = [r["id"] for r in client.get("/api/v1/rooms/").json()["results"]]
    assert rooms == [ours.room_id]
    # The community sees both.
    community = client_for(Role.COMMUNITY_STAFF)
    assert community.get(f"/rentals/{theirs.pk}/").status_code == 200


def test_a_guardian_sees_no_rooms_or_rentals(world: World, client_for: Any) -> None:
    rental = let(world, "grid_a1_1")
    client = client_for(Role.GUARDIAN)
    assert client.get(f"/api/v1/rentals/{rental.pk}/").status_code == 404
    assert client.get("/rentals/").status_code == 404


def test_a_worker_registers_a_rental_and_an_inspection_through_the_api(world: World, client_for: Any) -> None:
    room = settle(world, "grid_a1_1")
    client = client_for(Role.GRID_WORKER)
    tenant = world.residents["a1_1_ward"]
    response = client.post(
        "/api/v1/rentals/",
        {
            "room": room.pk,
            "start": (today() - dt.timedelta(days=200)).isoformat(),
            "end": (today() + dt.timedelta(days=20)).isoformat(),
            "landlord_name": "刘德明",
            "tenants": [tenant.pk],
            "registration_number": "AS2026-00017",
            "rent": "850.00",
        },
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["tenants"] == [tenant.pk]
    assert body["overdue"] is True  # 200 days in, the 180-day first inspection is past
    assert body["expiring"] is True

    response = client.post(
        f"/api/v1/rentals/{body['id']}/inspections/",
        {"date": today().isoformat(), "hazard_level": "general", "findings": "电动车室内充电，已劝离"},
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    again = client.get(f"/api/v1/rentals/{body['id']}/").json()
    assert again["overdue"] is False
    assert again["inspection_due"] == (today() + dt.timedelta(days=90)).isoformat()


def test_a_tenant_outside_the_workers_grid_reads_like_one_that_does_not_exist(world: World, client_for: Any) -> None:
    room = settle(world, "grid_a1_1")
    client = client_for(Role.GRID_WORKER)
    response = client.post(
        "/api/v1/rentals/",
        {
            "room": room.pk,
            "start": today().isoformat(),
            "end": (today() + dt.timedelta(days=20)).isoformat(),
            "landlord_name": "刘德明",
            "tenants": [world.residents["a1_2_head"].pk],
        },
        content_type="application/json",
    )
    assert response.status_code == 400
    assert "tenants" in response.json()
    assert not Rental.objects.exists()


def test_it_rolls_back_a_rental_when_the_audit_entry_fails(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    room = settle(world, "grid_a1_1")
    client = worker_with_broken_audit(world, monkeypatch)
    response = client.post(
        "/api/v1/rentals/",
        {"room": room.pk, "start": today().isoformat(), "end": "2099-01-01", "landlord_name": "刘德明"},
        content_type="application/json",
    )
    assert response.status_code == 500
    assert not Rental.objects.exists()
    room.refresh_from_db()
    assert room.use_id == "residence"


def test_it_rolls_back_an_inspection_when_the_audit_entry_fails(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    rental = let(world, "grid_a1_1")
    client = worker_with_broken_audit(world, monkeypatch)
    response = client.post(
        f"/rentals/{rental.pk}/inspect/", {"date": today().isoformat(), "hazard_level": "major", "findings": "x"}
    )
    assert response.status_code == 500
    assert not RentalInspection.objects.exists()
    rental.refresh_from_db()
    assert rental.last_inspected is None


def test_the_rentals_page_shows_an_overdue_inspection_to_the_grid_worker(world: World, client_for: Any) -> None:
    rental = let(world, "grid_a1_1", start=today() - dt.timedelta(days=400), end=today() + dt.timedelta(days=100))
    let(world, "grid_a1_2", start=today() - dt.timedelta(days=400), end=today() + dt.timedelta(days=100))
    page = client_for(Role.GRID_WORKER).get("/rentals/")
    assert page.status_code == 200
    html = page.content.decode()
    assert rental.room.address in html
    assert "检查逾期" in html
    assert world.buildings["grid_a1_2"].name not in html


def test_a_worker_records_an_inspection_on_the_rental_page(world: World, client_for: Any) -> None:
    rental = let(world, "grid_a1_1")
    client = client_for(Role.GRID_WORKER)
    response = client.post(
        f"/rentals/{rental.pk}/inspect/",
        {"date": today().isoformat(), "hazard_level": "none", "findings": "正常"},
    )
    assert response.status_code == 302
    page = client.get(f"/rentals/{rental.pk}/").content.decode()
    assert "正常" in page
    bad = client.post(f"/rentals/{rental.pk}/inspect/", {"date": "2999-01-01", "hazard_level": "none"})
    assert bad.status_code == 400


def test_the_building_plan_shows_who_lives_where_and_the_empty_rooms(world: World, client_for: Any) -> None:
    building = world.buildings["grid_a1_1"]
    settle(world, "grid_a1_1")
    room_actions.room_create(by=None, building=building, entrance="1", number="302", area=Decimal("86.5"))
    page = client_for(Role.GRID_WORKER).get(f"/buildings/{building.pk}/plan/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "王建国" in html  # the head of 1-101
    assert "plan-empty" in html  # 1-302, nobody registered
    assert html.index("302") < html.index("101")  # top floor first
    assert (
        f"/buildings/{building.pk}/plan/"
        in client_for(Role.GRID_WORKER).get(f"/buildings/{building.pk}/").content.decode()
    )


def test_rooms_and_rentals_follow_their_households_into_a_new_grid(world: World) -> None:
    rental = let(world, "grid_a1_1")
    household = world.households["grid_a1_1"]
    new_grid = world.areas["grid_a1_2"]
    actions.households_regrid(grid_of={household.pk: new_grid.pk}, community_ids=[household.community_id])
    rental.refresh_from_db()
    rental.room.refresh_from_db()
    assert rental.room.grid_id == new_grid.pk
    assert rental.grid_id == new_grid.pk


def test_the_import_puts_each_new_household_in_a_room_from_its_address(world: World) -> None:
    from wangge.registry.importing import import_residents
    from wangge.registry.imports import undo_run
    from wangge.registry.models import ResidentImport
    from wangge.registry.tests.test_import import csv_bytes, id_for

    building = world.buildings["grid_a1_1"]
    vacant = room_actions.room_create(by=None, building=building, entrance="3", number="502")
    rows = [
        ["张伟", id_for(1), "", "灵西社区", building.name, "3", "502", "户主", ""],
        ["张敏", id_for(2, sex="F"), "", "灵西社区", building.name, "3", "502", "配偶", ""],
        ["李强", id_for(3), "", "灵西社区", "88号楼", "1", "1203", "户主", ""],
    ]
    result = import_residents(data=csv_bytes(rows), file_name="居民.csv", by=None)
    assert result.created == 3, result.problems

    into_vacant = Household.objects.get(building=building, entrance="3", room="502")
    assert into_vacant.dwelling_id == vacant.pk  # the room registered before is used as it is
    made = Household.objects.get(building__name="88号楼")
    assert made.dwelling is not None
    assert (made.dwelling.entrance, made.dwelling.number, made.dwelling.floor) == ("1", "1203", 12)
    assert made.dwelling.use_id == "residence"

    summary = undo_run(ResidentImport.objects.get(pk=result.run_id))
    assert summary["rooms"] == 1  # the room the import made; the vacant flat registered before stays
    assert Room.objects.filter(pk=vacant.pk).exists()
    assert not Room.objects.filter(building__name="88号楼").exists()


def test_a_district_admin_edits_room_uses_and_hazard_periods_in_the_admin(world: World, client_for: Any) -> None:
    admin = client_for(Role.DISTRICT_ADMIN)
    assert admin.get("/admin/registry/roomuse/").status_code == 200
    page = admin.get("/admin/registry/hazardlevel/")
    assert page.status_code == 200
    assert "重大隐患" in page.content.decode()


def test_the_shipped_room_uses_and_hazard_levels_come_back_after_a_flush(world: World) -> None:
    from wangge.registry.codes import ensure_defaults
    from wangge.registry.models import HazardLevel, RoomUse

    HazardLevel.objects.filter(code="major").update(inspect_every_days=14)
    Room.objects.all().delete()
    RoomUse.objects.all().delete()
    HazardLevel.objects.exclude(code="major").delete()
    ensure_defaults()
    assert set(RoomUse.objects.values_list("code", flat=True)) >= {"residence", "rented", "vacant"}
    assert HazardLevel.objects.get(code="none").inspect_every_days == 180
    assert HazardLevel.objects.get(code="major").inspect_every_days == 14  # an edit is kept


def test_changing_the_tenants_is_audited_with_who_was_there_before(world: World) -> None:
    rental = let(world, "grid_a1_1")
    newcomer = world.residents["a1_1_ward"]
    room_actions.rental_tenants_set(by=None, rental=rental, tenants=[newcomer])
    assert list(rental.tenants.all()) == [newcomer]
    entry = AuditEntry.objects.filter(object_type="registry.rental", action="update").latest("id")
    assert entry.detail == {"before": [world.residents["a1_1_head"].pk], "after": [newcomer.pk]}


def test_the_household_page_links_to_its_room_on_the_plan_and_its_lease_but_not_for_a_guardian(
    world: World, client_for: Any
) -> None:
    rental = let(world, "grid_a1_1")
    household = world.households["grid_a1_1"]
    html = client_for(Role.GRID_WORKER).get(f"/households/{household.pk}/").content.decode()
    assert f"/buildings/{household.building_id}/plan/#room-{rental.room_id}" in html
    assert f"/rentals/{rental.pk}/" in html
    ward = client_for(Role.GUARDIAN).get(f"/households/{household.pk}/")
    assert ward.status_code == 200
    assert "/rentals/" not in ward.content.decode()


def test_the_rentals_export_is_xlsx_with_masked_phones_audited_and_scoped(world: World) -> None:
    import io

    from openpyxl import load_workbook

    let(world, "grid_a1_1", landlord_phone="13812345678", registration_number="-2024-001", rent=Decimal("1200.00"))
    let(world, "grid_a1_2")  # next door
    worker = Client()
    worker.force_login(world.user(Role.GRID_WORKER))
    response = worker.get("/rentals/export.xlsx")
    assert response.status_code == 200 and response["X-Row-Count"] == "1"
    book = load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    rows = list(book.worksheets[0].iter_rows(values_only=True))
    assert len(rows) == 2
    row = dict(zip(rows[0], rows[1], strict=True))
    assert (row["出租人"], row["出租人电话"], row["承租人数"]) == ("刘德明", "138****5678", 1)
    assert row["租赁登记备案号"] == "'-2024-001"  # formula-neutral
    assert row["月租金（元）"] == 1200
    assert row["隐患等级代码"] == "none"
    assert list(book.worksheets[1].iter_rows(values_only=True))[1][:2] == ("隐患等级", "none")
    entry = AuditEntry.objects.filter(action="export", object_type="registry.rental").latest("id")
    assert entry.detail["count"] == 1
    auditor = Client()
    auditor.force_login(world.user(Role.AUDITOR))
    assert auditor.get("/rentals/export.xlsx").status_code == 403
    assert auditor.get("/rentals/template.xlsx").status_code == 404
    template = worker.get("/rentals/template.xlsx")
    assert load_workbook(io.BytesIO(template.content)).worksheets[0].max_row == 1


def test_the_rental_page_lists_the_tenants_in_scope_without_listing_every_resident(world: World) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    rental = let(world, "grid_a1_1")
    rental.tenants.add(world.residents["a1_2_head"])  # registered in the next grid
    with CaptureQueriesContext(connection) as queries:
        tenants = room_queries.tenants_visible_to(world.user(Role.GRID_WORKER), rental)
    assert tenants == [world.residents["a1_1_head"]]
    assert "SELECT" not in queries[-1]["sql"].split("WHERE", 1)[1]  # no subquery of residents
    district = room_queries.tenants_visible_to(world.user(Role.DISTRICT_ADMIN), rental)
    assert set(district) == {world.residents["a1_1_head"], world.residents["a1_2_head"]}


def in_order(html: str, rentals: list[Rental]) -> list[Rental]:
    """The ``rentals`` linked from ``html``, in the order the page lists them."""
    return sorted((r for r in rentals if f"/rentals/{r.pk}/" in html), key=lambda r: html.index(f"/rentals/{r.pk}/"))


def test_the_rentals_page_pages_both_lists_and_keeps_the_building_and_the_other_page(
    world: World, client_for: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from wangge.registry import room_views

    monkeypatch.setattr(room_views, "PAGE_SIZE", 2)
    building = world.buildings["grid_a1_1"]
    due, calm = [], []
    for number in range(6):
        room = room_actions.room_create(by=None, building=building, entrance="2", number=f"{number + 1}01")
        start = today() - dt.timedelta(days=10)
        rental = room_actions.rental_register(
            by=None, room=room, start=start, end=start + dt.timedelta(days=365), landlord_name="刘德明", tenants=[]
        )
        overdue = number < 3
        Rental.objects.filter(pk=rental.pk).update(
            inspection_due=today() + dt.timedelta(days=-number - 1 if overdue else 100 + number)
        )
        (due if overdue else calm).append(rental)
    client = client_for(Role.GRID_WORKER)

    first = client.get(f"/rentals/?building={building.pk}")
    html = first.content.decode()
    assert first.status_code == 200
    assert in_order(html, due + calm) == [due[2], due[1], calm[0], calm[1]]  # most overdue first; then soonest end
    assert f"?building={building.pk}&amp;page=2#attention" in html
    assert f"?building={building.pk}&amp;others=2#others" in html
    assert "第 1 页" in html

    second = client.get(f"/rentals/?building={building.pk}&page=2&others=2").content.decode()
    assert in_order(second, due + calm) == [due[0], calm[2]]
    assert f"?building={building.pk}&amp;page=1&amp;others=2#attention" in second
    assert client.get("/rentals/?page=99&others=x").status_code == 200  # out of range: an empty page
