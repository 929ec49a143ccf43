"""A tenant not yet in the registry registered on the lease's page, in one form and one transaction.

The grid worker of the world (``wangge/conftest.py``) works grid_a1_1, where the lease of
1号楼1单元101 is (王建国's household, 王建国 its tenant); 李秀英 lives there too. 赵志强 lives in
grid_a1_2 next door, which the worker does not see.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import DatabaseError
from django.test import Client

from wangge.accounts.models import Role
from wangge.conftest import World
from wangge.core import idnumbers
from wangge.core.models import AuditEntry
from wangge.registry import room_actions
from wangge.registry.models import FloatingDetail, ForeignDetail, Household, Rental, Resident
from wangge.registry.tests.test_rental_tenant_changes import tenants_of
from wangge.registry.tests.test_rooms import let, today
from wangge.registry.tests.test_scope_matrix import worker_with_broken_audit

pytestmark = pytest.mark.django_db

BIRTH = dt.date(1998, 5, 4)
NUMBER = idnumbers.make(area_code="411621", birth_date=BIRTH, sequence=88, sex="F")


def door(**changes: str) -> dict[str, str]:
    """What a grid worker types for 马小红, a floating tenant from 河南 with a national ID."""
    data = {
        "name": "马小红",
        "document_type": "resident_id_card",
        "id_number": NUMBER,
        "phone": "13512345678",
        "population_type": "floating",
        "permit_number": "411621202400123",
        "origin": "河南省周口市扶沟县",
        "arrival_date": "2024-03-01",
        "reason": "务工",
        "expected_stay": "一年",
    }
    data.update(changes)
    return data


def register(client: Client, rental: Rental, data: dict[str, str]) -> Any:
    return client.post(f"/rentals/{rental.pk}/tenants/register/", data)


def entries_since(before: int) -> list[tuple[str, str, str]]:
    return [
        (e.action, e.object_type, e.object_id)
        for e in AuditEntry.objects.filter(pk__gt=before).order_by("pk")
        if e.action != "view"
    ]


def last_audit_id() -> int:
    return AuditEntry.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


def test_a_grid_worker_registers_a_floating_tenant_at_the_door(world: World, client_for: Any) -> None:
    rental = let(world, "grid_a1_1")
    client = client_for(Role.GRID_WORKER)
    page = client.get(f"/rentals/{rental.pk}/").content.decode()
    assert 'id="register-tenant"' in page and f'action="/rentals/{rental.pk}/tenants/register/' in page
    form = page.split('id="register-tenant"', 1)[1].split("</details>", 1)[0]
    assert '<option value="floating" selected>' in form  # 流动人口 unless the worker says otherwise
    before = last_audit_id()

    response = register(client, rental, door())

    assert response.status_code == 302
    assert response["Location"] == f"/rentals/{rental.pk}/#top"  # the message, not the form's fragment
    person = Resident.objects.get(id_number=NUMBER)
    assert person.name == "马小红" and person.sex == "F" and person.birth_date == BIRTH  # read from the number
    assert person.population_type_id == "floating" and person.phone == "13512345678"
    assert person.household == world.households["grid_a1_1"]
    assert person.household.dwelling_id == rental.room_id
    assert person.grid_id == rental.grid_id == world.areas["grid_a1_1"].pk
    assert person.status == Resident.Status.LIVING
    detail = FloatingDetail.objects.get(resident=person)
    assert (detail.permit_number, detail.origin, detail.arrival_date, detail.reason, detail.expected_stay) == (
        "411621202400123",
        "河南省周口市扶沟县",
        dt.date(2024, 3, 1),
        "务工",
        "一年",
    )
    assert tenants_of(rental) == {"王建国", "马小红"}
    assert entries_since(before) == [
        ("create", "registry.resident", str(person.pk)),
        ("update", "registry.resident", str(person.pk)),  # the floating details
        ("update", "registry.rental", str(rental.pk)),
    ]
    change = AuditEntry.objects.filter(object_type="registry.rental", object_id=str(rental.pk)).latest("pk")
    assert change.detail["added"] == [person.pk]
    shown = client.get(f"/rentals/{rental.pk}/").content.decode()
    assert "已登记居民 马小红 并添加为承租人" in shown
    tenants = shown.split('id="tenants"', 1)[1].split('id="add-tenant"', 1)[0]
    assert "马小红" in tenants and "流动人口" in tenants


def test_a_room_nobody_is_registered_in_gets_its_household_at_its_address(world: World, client_for: Any) -> None:
    building = world.buildings["grid_a1_1"]
    room = room_actions.room_create(by=None, building=building, entrance="2", number="502")
    rental = room_actions.rental_register(
        by=None,
        room=room,
        start=today() - dt.timedelta(days=3),
        end=today() + dt.timedelta(days=360),
        landlord_name="刘德明",
    )
    before = last_audit_id()

    assert register(client_for(Role.GRID_WORKER), rental, door()).status_code == 302

    household = Household.objects.get(building=building, entrance="2", room="502")
    assert household.dwelling_id == room.pk and household.grid_id == rental.grid_id
    person = Resident.objects.get(id_number=NUMBER)
    assert person.household == household
    assert tenants_of(rental) == {"马小红"}
    assert ("create", "registry.household", str(household.pk)) in entries_since(before)


def test_a_passport_holder_needs_sex_and_birth_date_and_keeps_what_was_typed(world: World, client_for: Any) -> None:
    rental = let(world, "grid_a1_1")
    client = client_for(Role.GRID_WORKER)
    typed = door(
        name="Anna Petrova", document_type="passport", id_number="75 1234567", population_type="foreign",
        nationality="俄罗斯", visa_type="工作", visa_expiry="2027-01-31",
    )  # fmt: skip

    refused = register(client, rental, typed)
    html = refused.content.decode()
    assert refused.status_code == 400
    form = html.split('id="register-tenant"', 1)[1].split("</details>", 1)[0]
    assert 'register-tenant" open' in html
    assert "该证件号码不含性别，请选择性别" in form and "该证件号码不含出生日期，请填写出生日期" in form
    assert 'value="Anna Petrova"' in form and 'value="75 1234567"' in form and 'value="俄罗斯"' in form
    assert not Resident.objects.filter(name="Anna Petrova").exists()
    assert tenants_of(rental) == {"王建国"}

    done = register(client, rental, {**typed, "sex": "F", "birth_date": "1990-02-03"})
    assert done.status_code == 302
    person = Resident.objects.get(id_number="751234567")
    assert person.document_type_id == "passport" and person.population_type_id == "foreign"
    assert (person.sex, person.birth_date) == ("F", dt.date(1990, 2, 3))
    assert ForeignDetail.objects.get(resident=person).nationality == "俄罗斯"
    assert not FloatingDetail.objects.filter(resident=person).exists()  # typed under the wrong type
    assert tenants_of(rental) == {"王建国", "Anna Petrova"}


def test_a_national_id_one_check_digit_off_is_refused_with_the_form_kept(world: World, client_for: Any) -> None:
    rental = let(world, "grid_a1_1")
    wrong = NUMBER[:-1] + ("0" if NUMBER[-1] != "0" else "1")
    client = client_for(Role.GRID_WORKER)  # signing in is audited: before counting
    before = last_audit_id()

    refused = register(client, rental, door(id_number=wrong))

    html = refused.content.decode()
    assert refused.status_code == 400
    form = html.split('id="register-tenant"', 1)[1].split("</details>", 1)[0]
    assert "校验" in form  # the registry's own message for a wrong check character
    assert f'value="{wrong}"' in form and 'value="河南省周口市扶沟县"' in form and 'value="2024-03-01"' in form
    assert not Resident.objects.filter(name="马小红").exists()
    assert entries_since(before) == []


def test_a_number_of_someone_in_the_workers_grid_offers_to_add_them(world: World, client_for: Any) -> None:
    rental = let(world, "grid_a1_1")
    ward = world.residents["a1_1_ward"]
    head = world.residents["a1_1_head"]
    client = client_for(Role.GRID_WORKER)

    offered = register(client, rental, door(name="李秀英", id_number=ward.id_number.lower()))
    html = offered.content.decode()
    assert offered.status_code == 400
    block = html.split('id="register-tenant"', 1)[1].split("</details>", 1)[0]
    assert "该证件号码已登记为 李秀英，不能重复登记；请用“添加承租人”添加。" in block
    assert f'action="/rentals/{rental.pk}/tenants/add/"' in block and f'name="resident" value="{ward.pk}"' in block
    assert Resident.objects.filter(id_number=ward.id_number).count() == 1
    assert tenants_of(rental) == {"王建国"}

    already = register(client, rental, door(name="王建国", id_number=head.id_number)).content.decode()
    block = already.split('id="register-tenant"', 1)[1].split("</details>", 1)[0]
    assert "已是承租人" in block and "/tenants/add/" not in block


def test_a_number_registered_in_the_neighbouring_grid_gets_only_the_registrys_words(
    world: World, client_for: Any
) -> None:
    rental = let(world, "grid_a1_1")
    neighbour = world.residents["a1_2_head"]
    client = client_for(Role.GRID_WORKER)

    refused = register(client, rental, door(name="赵志强", id_number=neighbour.id_number))
    html = refused.content.decode()
    assert refused.status_code == 400
    block = html.split('id="register-tenant"', 1)[1].split("</details>", 1)[0]
    assert "该证件号码已登记" in block
    assert "该证件号码已登记为" not in block and f'value="{neighbour.pk}"' not in block
    assert "灵西第二网格" not in html and '/tenants/add/"' not in block
    # The household page says exactly the same for the same number.
    household = world.households["grid_a1_1"]
    same = client.post(
        f"/households/{household.pk}/register/",
        {"kind": "move_in", "name": "赵志强", "id_number": neighbour.id_number, "relationship": "other"},
    ).content.decode()
    assert "该证件号码已登记" in same and "该证件号码已登记为" not in same
    assert Resident.objects.filter(id_number=neighbour.id_number).count() == 1
    assert tenants_of(rental) == {"王建国"}


@pytest.mark.parametrize("role", [Role.PETITION_OFFICE, Role.DEPARTMENT])
def test_a_role_that_only_reads_the_registry_sees_no_form_and_cannot_post_one(
    world: World, client_for: Any, role: str
) -> None:
    rental = let(world, "grid_a1_1")
    client = client_for(role)
    html = client.get(f"/rentals/{rental.pk}/").content.decode()
    assert 'id="register-tenant"' not in html and "/tenants/register/" not in html
    assert register(client, rental, door()).status_code == 404
    assert not Resident.objects.filter(id_number=NUMBER).exists()


def test_a_guardian_and_an_auditor_cannot_post_one(world: World, client_for: Any) -> None:
    rental = let(world, "grid_a1_1")
    for role in (Role.GUARDIAN, Role.AUDITOR):
        assert register(client_for(role), rental, door()).status_code == 404
    assert not Resident.objects.filter(id_number=NUMBER).exists()


def test_a_lease_in_the_neighbouring_grid_is_not_found(world: World, client_for: Any) -> None:
    rental = let(world, "grid_a1_2")
    client = client_for(Role.GRID_WORKER)
    assert register(client, rental, door()).status_code == 404
    assert client.get(f"/rentals/{rental.pk}/tenants/register/").status_code == 405
    assert not Resident.objects.filter(id_number=NUMBER).exists()
    # Community staff, who see both grids, register there.
    assert register(client_for(Role.COMMUNITY_STAFF), rental, door()).status_code == 302
    assert Resident.objects.get(id_number=NUMBER).grid_id == world.areas["grid_a1_2"].pk


def test_a_lease_whose_move_out_is_recorded_takes_no_new_tenant(world: World, client_for: Any) -> None:
    rental = let(world, "grid_a1_1")
    room_actions.rental_end(by=None, rental=rental, date=today())
    client = client_for(Role.GRID_WORKER)
    assert 'id="register-tenant"' not in client.get(f"/rentals/{rental.pk}/").content.decode()

    response = register(client, rental, door())
    assert response.status_code == 302
    assert "该租约已退租，承租人不能再修改" in client.get(response["Location"]).content.decode()
    assert not Resident.objects.filter(id_number=NUMBER).exists()
    assert tenants_of(rental) == {"王建国"}


def test_a_lease_past_its_end_without_a_move_out_still_takes_one(world: World, client_for: Any) -> None:
    rental = let(world, "grid_a1_1", start=today() - dt.timedelta(days=400), end=today() - dt.timedelta(days=1))
    assert register(client_for(Role.GRID_WORKER), rental, door()).status_code == 302
    assert tenants_of(rental) == {"王建国", "马小红"}


def test_an_audit_failure_at_the_tenant_change_rolls_back_the_resident_and_household_too(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    building = world.buildings["grid_a1_1"]
    room = room_actions.room_create(by=None, building=building, entrance="2", number="502")
    rental = room_actions.rental_register(
        by=None, room=room, start=today(), end=today() + dt.timedelta(days=30), landlord_name="刘德明"
    )
    create = AuditEntry.objects.create

    def refuse_the_last(**kwargs: Any) -> Any:  # the household, resident and details are audited first
        if kwargs.get("object_type") == "registry.rental":
            raise DatabaseError("audit log unavailable")
        return create(**kwargs)

    monkeypatch.setattr(AuditEntry.objects, "create", refuse_the_last)
    with pytest.raises(DatabaseError):
        room_actions.rental_tenant_register(
            by=world.user(Role.GRID_WORKER),
            rental=rental,
            name="马小红",
            id_number=NUMBER,
            floating={"origin": "河南省周口市扶沟县"},
        )
    assert not Resident.objects.filter(id_number=NUMBER).exists()
    assert not FloatingDetail.objects.exists()
    assert not Household.objects.filter(building=building, entrance="2", room="502").exists()
    assert tenants_of(rental) == set()
    assert not AuditEntry.objects.filter(object_type__in=["registry.resident", "registry.household"]).exists()


def test_an_audit_failure_on_the_page_registers_no_one(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    rental = let(world, "grid_a1_1")
    client = worker_with_broken_audit(world, monkeypatch)
    assert register(client, rental, door()).status_code == 500
    assert not Resident.objects.filter(id_number=NUMBER).exists()
    assert tenants_of(rental) == {"王建国"}


def test_the_form_reads_in_english(world: World, client_for: Any) -> None:
    rental = let(world, "grid_a1_1")
    client = client_for(Role.GRID_WORKER)
    client.cookies["django_language"] = "en"
    html = client.get(f"/rentals/{rental.pk}/").content.decode()
    form = html.split('id="register-tenant"', 1)[1].split("</details>", 1)[0]
    for text in (
        "Register a new tenant",
        "Residence permit number",
        "Place of household registration",
        "Floating population details",
        "Foreign national details",
        "Register and add",
    ):
        assert text in form, text
    assert register(client, rental, door()).status_code == 302
    assert "Registered 马小红 and added them as a tenant" in client.get(f"/rentals/{rental.pk}/").content.decode()
    taken = register(client, rental, door(id_number=world.residents["a1_1_ward"].id_number)).content.decode()
    assert "This number is already registered to 李秀英" in taken
