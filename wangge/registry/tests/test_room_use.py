"""A room's use agrees with its leases: while a lease runs (not moved out, not past its end; one
starting later included) the room is 出租 and cannot be marked vacant, owner-occupied or anything
else, through the action, the API or the rooms import; the move-out (退租) frees it.

The grid worker of the world (``wangge/conftest.py``) works grid_a1_1.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core.exceptions import ValidationError

from wangge.accounts.models import Role
from wangge.conftest import World
from wangge.core.models import AuditEntry
from wangge.registry import room_actions
from wangge.registry.models import Rental, Room
from wangge.registry.tests.test_rooms import let, today
from wangge.registry.tests.test_rooms_import import room as room_row
from wangge.registry.tests.test_rooms_import import run as rooms_run
from wangge.registry.tests.test_rooms_import import table as rooms_table
from wangge.registry.tests.test_scope_matrix import worker_with_broken_audit

pytestmark = pytest.mark.django_db

RUNNING = "该房屋有在租的租约"


def leased(world: World, *, start: dt.date, end: dt.date) -> Room:
    rental = let(world, "grid_a1_1", start=start, end=end)
    rental.room.refresh_from_db()
    assert rental.room.use_id == "rented"
    return rental.room


@pytest.mark.parametrize("use", ["vacant", "residence", "business"])
def test_a_room_whose_lease_ends_today_cannot_be_given_another_use(world: World, use: str) -> None:
    room = leased(world, start=today() - dt.timedelta(days=300), end=today())
    with pytest.raises(ValidationError) as error:
        room_actions.room_update(by=None, room=room, use=use)
    message = error.value.message_dict["use"][0]
    assert message.startswith(RUNNING) and today().isoformat() in message
    room.refresh_from_db()
    assert room.use_id == "rented"
    assert not AuditEntry.objects.filter(object_type="registry.room", action="update").exists()


def test_a_lease_starting_tomorrow_holds_the_room_too(world: World) -> None:
    room = leased(world, start=today() + dt.timedelta(days=1), end=today() + dt.timedelta(days=365))
    with pytest.raises(ValidationError):
        room_actions.room_update(by=None, room=room, use="vacant")


def test_a_room_whose_lease_ended_yesterday_may_be_marked_vacant(world: World) -> None:
    room = leased(world, start=today() - dt.timedelta(days=30), end=today())
    Rental.objects.filter(room=room).update(end=today() - dt.timedelta(days=1))  # a day later: it is over
    room_actions.room_update(by=None, room=room, use="vacant")
    room.refresh_from_db()
    assert room.use_id == "vacant"


def test_after_the_move_out_the_room_may_be_owner_occupied(world: World) -> None:
    room = leased(world, start=today() - dt.timedelta(days=30), end=today() + dt.timedelta(days=300))
    room_actions.rental_end(by=None, rental=Rental.objects.get(room=room), date=today())
    room_actions.room_update(by=None, room=room, use="residence")
    room.refresh_from_db()
    assert room.use_id == "residence"


def test_the_rest_of_a_leased_room_may_change_and_its_use_stay_rented(world: World) -> None:
    room = leased(world, start=today() - dt.timedelta(days=30), end=today() + dt.timedelta(days=300))
    room_actions.room_update(by=None, room=room, use="rented", floor=3, owner_name="刘德明")
    room.refresh_from_db()
    assert (room.use_id, room.floor, room.owner_name) == ("rented", 3, "刘德明")


def test_a_lease_over_yesterday_leaves_the_use_and_one_ending_today_marks_the_room_rented(world: World) -> None:
    room = room_actions.room_create(by=None, building=world.buildings["grid_a1_1"], number="501", use="vacant")
    yesterday = today() - dt.timedelta(days=1)
    old_start = yesterday - dt.timedelta(days=200)
    room_actions.rental_register(by=None, room=room, start=old_start, end=yesterday, landlord_name="刘德明")
    room.refresh_from_db()
    assert room.use_id == "vacant"  # an old lease entered late
    room_actions.rental_register(by=None, room=room, start=today(), end=today(), landlord_name="刘德明")
    room.refresh_from_db()
    assert room.use_id == "rented"


def test_the_api_answers_400_with_the_reason_and_leaves_the_room(world: World, client_for: Any) -> None:
    room = leased(world, start=today() - dt.timedelta(days=30), end=today() + dt.timedelta(days=300))
    response = client_for(Role.GRID_WORKER).patch(
        f"/api/v1/rooms/{room.pk}/", {"use": "vacant", "floor": 2}, content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json()["use"][0].startswith(RUNNING)
    room.refresh_from_db()
    assert (room.use_id, room.floor) == ("rented", 1)  # nothing of the request was written


def test_the_api_error_is_in_english_for_an_english_client(world: World, client_for: Any) -> None:
    room = leased(world, start=today() - dt.timedelta(days=30), end=today() + dt.timedelta(days=300))
    client = client_for(Role.GRID_WORKER)
    client.cookies["django_language"] = "en"
    response = client.patch(f"/api/v1/rooms/{room.pk}/", {"use": "vacant"}, content_type="application/json")
    assert response.status_code == 400
    assert "running lease" in response.json()["use"][0]


def test_the_rooms_import_refuses_a_row_marking_a_leased_room_vacant_and_imports_the_others(world: World) -> None:
    leased(world, start=today() - dt.timedelta(days=30), end=today() + dt.timedelta(days=300))  # 1号楼 1单元 101
    result = rooms_run(
        rooms_table(
            room_row(**{"单元": "1", "房号": "101", "房屋用途代码": "vacant"}),
            room_row(**{"房号": "302", "房屋用途代码": "vacant"}),
        ),
        by=world.user(Role.GRID_WORKER),
    )
    assert (result.created, result.updated, result.rejected) == (1, 0, 1), result.problems
    refused = result.rejections[0]
    assert (refused.row, refused.column) == (2, "房屋用途") and refused.reason.startswith(RUNNING)
    assert Room.objects.get(entrance="1", number="101").use_id == "rented"


def test_a_refused_use_change_rolls_back_when_the_audit_fails_for_an_allowed_one(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    room = leased(world, start=today() - dt.timedelta(days=30), end=today())
    Rental.objects.filter(room=room).update(end=today() - dt.timedelta(days=1))
    client = worker_with_broken_audit(world, monkeypatch)
    response = client.patch(f"/api/v1/rooms/{room.pk}/", {"use": "vacant"}, content_type="application/json")
    assert response.status_code == 500
    room.refresh_from_db()
    assert room.use_id == "rented"


def test_the_room_form_keeps_what_was_typed_and_shows_why_a_leased_room_cannot_be_vacant(
    world: World, client_for: Any
) -> None:
    room = leased(world, start=today() - dt.timedelta(days=30), end=today() + dt.timedelta(days=300))
    client = client_for(Role.GRID_WORKER)
    plan = client.get(f"/buildings/{room.building_id}/plan/").content.decode()
    assert f"/rooms/{room.pk}/edit/" in plan
    page = client.get(f"/rooms/{room.pk}/edit/")
    assert page.status_code == 200 and f"/rentals/{Rental.objects.get().pk}/" in page.content.decode()

    response = client.post(f"/rooms/{room.pk}/edit/", {"use": "vacant", "floor": "7", "area": "88.5", "owner_name": ""})
    assert response.status_code == 400
    html = response.content.decode()
    assert RUNNING in html
    form = response.context["form"]
    assert (form["use"].value(), form["floor"].value(), form["area"].value()) == ("vacant", "7", "88.5")
    room.refresh_from_db()
    assert (room.use_id, room.floor, room.area) == ("rented", 1, None)


def test_the_room_form_saves_a_change_and_returns_to_the_plan(world: World, client_for: Any) -> None:
    room = leased(world, start=today() - dt.timedelta(days=30), end=today() + dt.timedelta(days=300))
    room_actions.rental_end(by=None, rental=Rental.objects.get(room=room), date=today())
    client = client_for(Role.GRID_WORKER)
    response = client.post(
        f"/rooms/{room.pk}/edit/", {"use": "residence", "floor": "1", "area": "88.5", "owner_name": "刘德明"}
    )
    assert response.status_code == 302
    assert response["Location"] == f"/buildings/{room.building_id}/plan/#room-{room.pk}"
    room.refresh_from_db()
    assert (room.use_id, str(room.area), room.owner_name) == ("residence", "88.50", "刘德明")
    entry = AuditEntry.objects.filter(object_type="registry.room", object_id=str(room.pk), action="update").get()
    assert entry.detail["before"]["use"] == "vacant"


def test_the_room_form_is_404_outside_the_workers_grid_and_for_a_reader(world: World, client_for: Any) -> None:
    next_door = room_actions.household_settle(by=None, household=world.households["grid_a1_2"])
    assert client_for(Role.GRID_WORKER).get(f"/rooms/{next_door.pk}/edit/").status_code == 404
    assert client_for(Role.COMMUNITY_STAFF).get(f"/rooms/{next_door.pk}/edit/").status_code == 200
    for role in (Role.AUDITOR, Role.GUARDIAN, Role.PETITION_OFFICE):
        client = client_for(role)
        assert client.post(f"/rooms/{next_door.pk}/edit/", {"use": "vacant"}).status_code == 404
        plan = client.get(f"/buildings/{next_door.building_id}/plan/").content.decode()
        assert f"/rooms/{next_door.pk}/edit/" not in plan
    next_door.refresh_from_db()
    assert next_door.use_id == "residence"


def test_the_room_form_speaks_english(world: World, client_for: Any) -> None:
    room = leased(world, start=today() - dt.timedelta(days=30), end=today() + dt.timedelta(days=300))
    client = client_for(Role.GRID_WORKER)
    client.cookies["django_language"] = "en"
    html = client.post(f"/rooms/{room.pk}/edit/", {"use": "vacant"}).content.decode()
    assert "running lease" in html and "Room use" in html and "Save" in html
