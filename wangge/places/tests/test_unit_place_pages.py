"""The pages that register and correct units and key places: through HTTP as the grid worker,
scoped to their grid (the neighbouring grid's building, unit or place is a 404), with translated
errors that keep what was typed, audited edits that roll back with their audit entry."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import DatabaseError
from django.urls import reverse
from django.utils import timezone

from wangge.accounts.models import Role
from wangge.conftest import World
from wangge.core.models import AuditEntry
from wangge.places import actions, creditcode
from wangge.places.codes import ensure_defaults
from wangge.places.models import Place, Unit
from wangge.registry.models import Room

pytestmark = pytest.mark.django_db

CODE = creditcode.make("91210304MA0XYW123")
WRONG = CODE[:17] + ("0" if CODE[17] != "0" else "1")


@pytest.fixture(autouse=True)
def _codes() -> None:
    ensure_defaults()


def unit_post(**kw: Any) -> dict[str, Any]:
    values = {
        "name": "鞍山市立山区好邻居便利店",
        "kind": "individual",
        "credit_code": "",
        "room": "",
        "address": "1号楼底商3号",
        "legal_rep": "刘志刚",
        "legal_rep_phone": "13841200001",
        "staff_count": "3",
        "party_org": "none",
        "party_org_name": "",
        "party_members": "",
    }
    values.update(kw)
    return values


def place_post(**kw: Any) -> dict[str, Any]:
    values = {
        "name": "老刘家饺子馆",
        "place_type": "small_restaurant",
        "unit": "",
        "room": "",
        "address": "",
        "operator": "刘志刚",
        "operator_phone": "",
    }
    values.update(kw)
    return values


def new_unit_url(world: World, grid: str = "grid_a1_1") -> str:
    return f"{reverse('places:unit_new')}?building={world.buildings[grid].pk}"


def new_place_url(world: World, grid: str = "grid_a1_1") -> str:
    return f"{reverse('places:place_new')}?building={world.buildings[grid].pk}"


def a_unit(world: World, grid: str = "grid_a1_1", **kw: Any) -> Unit:
    values: dict[str, Any] = {"name": "鞍山市立山区好邻居便利店", "kind": "individual", "legal_rep": "刘志刚"}
    values.update(kw)
    return actions.unit_register(by=None, building=world.buildings[grid], **values)


def a_place(world: World, grid: str = "grid_a1_1", **kw: Any) -> Place:
    return actions.place_register(
        by=None, name="老刘家饺子馆", place_type="small_restaurant", building=world.buildings[grid], **kw
    )


# --- registering a unit ---------------------------------------------------------------------


def test_a_grid_worker_picks_a_building_of_their_grid_only(world: World, client_for: Any) -> None:
    page = client_for(Role.GRID_WORKER).get(reverse("places:unit_new"))
    assert page.status_code == 200
    html = page.content.decode()
    assert f"?building={world.buildings['grid_a1_1'].pk}" in html
    assert f"?building={world.buildings['grid_a1_2'].pk}" not in html


def test_a_grid_worker_registers_a_unit_in_their_grid(world: World, client_for: Any) -> None:
    room = Room(building=world.buildings["grid_a1_1"], entrance="1", number="103")
    room.copy_scope(room.building)
    room.save()
    client = client_for(Role.GRID_WORKER)
    form = client.get(new_unit_url(world))
    assert form.status_code == 200
    assert "1单元 103" in form.content.decode()
    response = client.post(new_unit_url(world), unit_post(credit_code=CODE.lower(), room=str(room.pk)))
    created = Unit.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("places:unit", args=[created.pk])
    assert created.credit_code == CODE and created.room == room
    assert created.grid_id == world.areas["grid_a1_1"].pk
    assert created.created_by == world.user(Role.GRID_WORKER)
    entry = AuditEntry.objects.filter(object_type="places.unit").get()
    assert entry.actor == world.user(Role.GRID_WORKER) and entry.action == "create"


def test_the_neighbouring_grids_building_is_a_404_for_the_form_and_the_post(world: World, client_for: Any) -> None:
    client = client_for(Role.GRID_WORKER)
    assert client.get(new_unit_url(world, "grid_a1_2")).status_code == 404
    assert client.post(new_unit_url(world, "grid_a1_2"), unit_post()).status_code == 404
    assert client.post(new_place_url(world, "grid_a1_2"), place_post()).status_code == 404
    assert client.get(f"{reverse('places:unit_new')}?building=abc").status_code == 404
    assert not Unit.objects.exists() and not Place.objects.exists()


def test_roles_that_do_not_edit_the_registry_get_404(world: World, client_for: Any) -> None:
    for role in (Role.DEPARTMENT, Role.AUDITOR, Role.GUARDIAN, Role.PETITION_OFFICE):
        client = client_for(role)
        assert client.get(reverse("places:unit_new")).status_code == 404, role
        assert client.post(new_unit_url(world), unit_post()).status_code == 404, role
        assert client.post(new_place_url(world), place_post()).status_code == 404, role
    assert not Unit.objects.exists()


def test_a_wrong_check_character_is_a_translated_error_and_keeps_what_was_typed(world: World, client_for: Any) -> None:
    client = client_for(Role.GRID_WORKER)
    response = client.post(new_unit_url(world), unit_post(credit_code=WRONG, legal_rep_phone="13841200001"))
    assert response.status_code == 400
    html = response.content.decode()
    assert "统一社会信用代码无效" in html
    assert f'value="{WRONG}"' in html and 'value="13841200001"' in html and "鞍山市立山区好邻居便利店" in html
    assert not Unit.objects.exists()
    client.cookies["django_language"] = "en"
    english = client.post(new_unit_url(world), unit_post(credit_code=WRONG))
    assert english.status_code == 400
    assert "Invalid unified social credit code" in english.content.decode()


def test_bad_input_is_refused_field_by_field(world: World, client_for: Any) -> None:
    client = client_for(Role.GRID_WORKER)
    bad = unit_post(
        name="  ", legal_rep="", legal_rep_phone="call me", staff_count="-2", kind="nonsense", party_org="x"
    )
    response = client.post(new_unit_url(world), bad)
    assert response.status_code == 400
    html = response.content.decode()
    assert html.count('class="errorlist"') >= 4
    neighbour_room = Room(building=world.buildings["grid_a1_2"], number="9")
    neighbour_room.copy_scope(neighbour_room.building)
    neighbour_room.save()
    response = client.post(new_unit_url(world), unit_post(room=str(neighbour_room.pk), legal_rep_phone="call me"))
    assert response.status_code == 400
    assert "联系电话格式不正确" in response.content.decode() or "errorlist" in response.content.decode()
    assert not Unit.objects.exists()


def test_a_bad_phone_alone_is_the_actions_translated_error(world: World, client_for: Any) -> None:
    response = client_for(Role.GRID_WORKER).post(new_unit_url(world), unit_post(legal_rep_phone="call me"))
    assert response.status_code == 400
    assert "联系电话格式不正确" in response.content.decode()
    assert not Unit.objects.exists()


def test_a_credit_code_already_registered_is_refused(world: World, client_for: Any) -> None:
    a_unit(world, grid="grid_b1_1", credit_code=CODE)  # in another street: still the same enterprise
    response = client_for(Role.GRID_WORKER).post(new_unit_url(world), unit_post(credit_code=CODE))
    assert response.status_code == 400
    assert "该统一社会信用代码已登记" in response.content.decode()
    assert Unit.objects.count() == 1


# --- correcting a unit ----------------------------------------------------------------------


def test_a_unit_is_corrected_and_the_audit_names_what_changed(world: World, client_for: Any) -> None:
    registered = a_unit(world, staff_count=3)
    client = client_for(Role.GRID_WORKER)
    url = reverse("places:unit_edit", args=[registered.pk])
    form = client.get(url)
    assert form.status_code == 200 and 'value="刘志刚"' in form.content.decode()
    response = client.post(url, unit_post(staff_count="12", party_org="branch", party_org_name="好邻居党支部"))
    assert response.status_code == 302
    registered.refresh_from_db()
    assert registered.staff_count == 12 and registered.party_org == "branch"
    entry = AuditEntry.objects.filter(object_type="places.unit", action="update").get()
    assert set(entry.detail["changed"]) == {"address", "legal_rep_phone", "staff_count", "party_org", "party_org_name"}


def test_saving_a_unit_unchanged_writes_no_audit_entry(world: World, client_for: Any) -> None:
    registered = a_unit(world, address="1号楼底商3号", legal_rep_phone="13841200001", staff_count=3)
    response = client_for(Role.GRID_WORKER).post(reverse("places:unit_edit", args=[registered.pk]), unit_post())
    assert response.status_code == 302
    assert not AuditEntry.objects.filter(action="update").exists()


def test_a_unit_keeps_its_pilot_code_when_edited(world: World) -> None:
    pilot = "91350100M0001TGQXM"
    registered = a_unit(world, credit_code=pilot, pilot_code=True)
    actions.unit_update(
        by=None, unit=registered, building=registered.building, name="新名称", kind="individual", legal_rep="刘志刚",
        credit_code=pilot,
    )  # fmt: skip
    registered.refresh_from_db()
    assert registered.name == "新名称" and registered.credit_code == pilot and not registered.credit_code_checked


def test_editing_a_unit_of_the_neighbouring_grid_is_a_404(world: World, client_for: Any) -> None:
    theirs = a_unit(world, grid="grid_a1_2")
    client = client_for(Role.GRID_WORKER)
    url = reverse("places:unit_edit", args=[theirs.pk])
    assert client.get(url).status_code == 404
    assert client.post(url, unit_post(name="改掉")).status_code == 404
    theirs.refresh_from_db()
    assert theirs.name == "鞍山市立山区好邻居便利店"


def test_a_unit_edit_is_rolled_back_when_the_audit_entry_fails(
    world: World, client_for: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    registered = a_unit(world, staff_count=3)

    def refuse(**kwargs: Any) -> None:
        raise DatabaseError("audit log unavailable")

    monkeypatch.setattr(AuditEntry.objects, "create", refuse)
    with pytest.raises(DatabaseError):
        actions.unit_update(
            by=world.user(Role.GRID_WORKER), unit=registered, building=registered.building, name="新名称",
            kind="individual", legal_rep="刘志刚", staff_count=99,
        )  # fmt: skip
    registered.refresh_from_db()
    assert registered.name == "鞍山市立山区好邻居便利店" and registered.staff_count == 3


# --- key places -----------------------------------------------------------------------------


def test_a_place_is_registered_for_a_unit_from_the_units_page(world: World, client_for: Any) -> None:
    owner = a_unit(world, legal_rep_phone="13841200001")
    client = client_for(Role.GRID_WORKER)
    unit_page = client.get(reverse("places:unit", args=[owner.pk])).content.decode()
    new_url = f"{reverse('places:place_new')}?unit={owner.pk}"
    assert new_url in unit_page
    form = client.get(new_url)
    assert form.status_code == 200
    assert f'<option value="{owner.pk}" selected>' in form.content.decode()
    response = client.post(new_url, place_post(unit=str(owner.pk), operator=""))
    created = Place.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("places:place", args=[created.pk])
    assert created.unit == owner and created.operator == "刘志刚" and created.operator_phone == "13841200001"
    assert created.inspection_due == timezone.localdate()
    assert AuditEntry.objects.filter(object_type="places.place", action="create").exists()


def test_a_unit_of_the_neighbouring_grid_cannot_be_named_as_a_places_owner(world: World, client_for: Any) -> None:
    theirs = a_unit(world, grid="grid_a1_2")
    client = client_for(Role.GRID_WORKER)
    assert client.get(f"{reverse('places:place_new')}?unit={theirs.pk}").status_code == 404
    response = client.post(new_place_url(world), place_post(unit=str(theirs.pk)))
    assert response.status_code == 400  # not a choice here: the form says so
    assert not Place.objects.exists()


def test_a_place_needs_a_name_and_a_known_type(world: World, client_for: Any) -> None:
    response = client_for(Role.GRID_WORKER).post(new_place_url(world), place_post(name="", place_type="casino"))
    assert response.status_code == 400
    assert response.content.decode().count('class="errorlist"') >= 2
    assert not Place.objects.exists()


def test_a_places_new_type_moves_its_next_inspection(world: World, client_for: Any) -> None:
    target = a_place(world)
    inspected = timezone.localdate() - dt.timedelta(days=10)
    actions.place_inspect(by=None, place=target, date=inspected)
    client = client_for(Role.GRID_WORKER)
    response = client.post(
        reverse("places:place_edit", args=[target.pk]), place_post(place_type="small_hostel", operator="")
    )
    assert response.status_code == 302
    target.refresh_from_db()
    assert target.place_type_id == "small_hostel"
    assert target.inspection_due == inspected + dt.timedelta(days=30)  # 小旅馆: every 30 days
    entry = AuditEntry.objects.filter(object_type="places.place", action="update").get()
    assert entry.detail["changed"] == ["place_type"]


def test_editing_a_place_of_the_neighbouring_grid_is_a_404(world: World, client_for: Any) -> None:
    theirs = a_place(world, grid="grid_a1_2")
    client = client_for(Role.GRID_WORKER)
    assert client.get(reverse("places:place_edit", args=[theirs.pk])).status_code == 404
    assert client.post(reverse("places:place_edit", args=[theirs.pk]), place_post(name="改掉")).status_code == 404
    assert client_for(Role.COMMUNITY_STAFF).get(reverse("places:place_edit", args=[theirs.pk])).status_code == 200


def test_a_place_edit_is_rolled_back_when_the_audit_entry_fails(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    target = a_place(world)

    def refuse(**kwargs: Any) -> None:
        raise DatabaseError("audit log unavailable")

    monkeypatch.setattr(AuditEntry.objects, "create", refuse)
    with pytest.raises(DatabaseError):
        actions.place_update(by=None, place=target, building=target.building, name="改名", place_type="small_hostel")
    target.refresh_from_db()
    assert target.name == "老刘家饺子馆" and target.place_type_id == "small_restaurant"


def test_the_inspection_form_offers_hazard_levels_in_english(world: World, client_for: Any) -> None:
    target = a_place(world)
    client = client_for(Role.GRID_WORKER)
    client.cookies["django_language"] = "en"
    page = client.get(reverse("places:place", args=[target.pk]))
    html = page.content.decode()
    assert "Record an inspection" in html or "Inspection" in html
    select = html[html.index('id="id_hazard_level"') :]
    select = select[: select.index("</select>")]
    assert "隐患" not in select


def test_a_place_moved_to_another_grid_takes_its_open_rectifications_along(world: World) -> None:
    target = a_place(world)
    today = timezone.localdate()
    actions.place_inspect(by=None, place=target, date=today, hazard_level="general", rectify="清理杂物", deadline=today)
    elsewhere = world.buildings["grid_a1_2"]
    actions.place_update(by=None, place=target, building=elsewhere, name=target.name, place_type="small_restaurant")
    target.refresh_from_db()
    assert target.grid_id == elsewhere.grid_id
    assert target.rectifications.get().grid_id == elsewhere.grid_id
