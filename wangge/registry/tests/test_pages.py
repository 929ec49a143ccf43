"""Household and resident pages through HTTP: scope, masking, audit of full views, life events."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client

from wangge.accounts.models import AreaAssignment, Role, User
from wangge.conftest import World
from wangge.core import idnumbers
from wangge.core.models import AuditEntry
from wangge.registry.models import CareCategory, LifeEvent, Resident

pytestmark = pytest.mark.django_db


def neighbour(world: World) -> Client:
    user = User.objects.create_user(username="neighbour", role=Role.GRID_WORKER, full_name="邻格网格员")
    AreaAssignment.objects.create(user=user, area=world.areas["grid_a1_2"])
    client = Client()
    client.force_login(user)
    return client


def test_it_shows_the_household_with_masked_id_numbers(world: World, client_for) -> None:
    household = world.households["grid_a1_1"]
    head = world.residents["a1_1_head"]
    response = client_for(Role.GRID_WORKER).get(f"/households/{household.pk}/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "王建国" in page and "李秀英" in page
    assert idnumbers.mask(head.id_number) in page
    assert head.id_number not in page
    assert "灵西第一网格" in page


def test_it_hides_the_household_from_the_neighbouring_grids_worker(world: World) -> None:
    client = neighbour(world)
    assert client.get(f"/households/{world.households['grid_a1_1'].pk}/").status_code == 404
    assert client.get(f"/residents/{world.residents['a1_1_head'].pk}/").status_code == 404
    assert client.get(f"/households/{world.households['grid_a1_2'].pk}/").status_code == 200


def test_it_shows_the_resident_in_full_to_the_grid_worker_and_audits_it(world: World, client_for) -> None:
    ward = world.residents["a1_1_ward"]
    before = AuditEntry.objects.filter(action=AuditEntry.Action.VIEW).count()
    response = client_for(Role.GRID_WORKER).get(f"/residents/{ward.pk}/")
    assert response.status_code == 200
    page = response.content.decode()
    assert ward.id_number in page
    assert ward.phone in page
    assert "认知障碍" in page or ward.care_tags.first().category.name in page
    entries = AuditEntry.objects.filter(action=AuditEntry.Action.VIEW, object_type="registry.resident")
    assert entries.count() == before + 1
    entry = entries.latest("id")
    assert entry.object_id == str(ward.pk)
    assert entry.actor == world.user(Role.GRID_WORKER)


def test_it_masks_the_resident_for_a_department_and_writes_no_full_view(world: World, client_for) -> None:
    ward = world.residents["a1_1_ward"]
    response = client_for(Role.DEPARTMENT).get(f"/residents/{ward.pk}/")
    assert response.status_code == 200
    page = response.content.decode()
    assert ward.id_number not in page
    assert idnumbers.mask(ward.id_number) in page
    assert ward.phone not in page
    assert ward.care_tags.first().category.name not in page
    assert not AuditEntry.objects.filter(action=AuditEntry.Action.VIEW, object_id=str(ward.pk)).exists()


def test_it_shows_a_guardian_their_ward_but_not_the_housemate(world: World, client_for) -> None:
    client = client_for(Role.GUARDIAN)
    assert client.get(f"/residents/{world.residents['a1_1_ward'].pk}/").status_code == 200
    assert client.get(f"/residents/{world.residents['a1_1_head'].pk}/").status_code == 404
    page = client.get(f"/households/{world.households['grid_a1_1'].pk}/").content.decode()
    assert "李秀英" in page and "王建国" not in page


def test_it_gives_an_auditor_no_registry_pages(world: World, client_for) -> None:
    client = client_for(Role.AUDITOR)
    assert client.get(f"/households/{world.households['grid_a1_1'].pk}/").status_code == 404
    assert client.get(f"/residents/{world.residents['a1_1_head'].pk}/").status_code == 404


def test_it_records_a_move_out_from_the_resident_page(world: World, client_for) -> None:
    head = world.residents["a1_1_head"]
    client = client_for(Role.GRID_WORKER)
    url = f"/residents/{head.pk}/events/move_out/"
    asked = client.post(url, {"date": "2024-05-01", "destination": "铁西区"})
    html = asked.content.decode()
    assert asked.status_code == 200 and "确认登记 王建国 迁出？" in html
    assert "迁往铁西区" in html and "该住户将没有户主" in html
    assert 'name="confirmed" value="1"' in html and 'name="destination" value="铁西区"' in html
    head.refresh_from_db()
    assert head.status == Resident.Status.LIVING  # asking changed nothing
    response = client.post(url, {"date": "2024-05-01", "destination": "铁西区", "confirmed": "1"})
    assert response.status_code == 302
    head.refresh_from_db()
    assert head.status == Resident.Status.MOVED_OUT
    event = LifeEvent.objects.get(resident=head, kind=LifeEvent.Kind.MOVE_OUT)
    assert event.date == dt.date(2024, 5, 1)
    assert event.detail["destination"] == "铁西区"


def test_it_records_a_death_and_then_offers_no_more_events(world: World, client_for) -> None:
    ward = world.residents["a1_1_ward"]
    client = client_for(Role.GRID_WORKER)
    asked = client.post(f"/residents/{ward.pk}/events/death/", {"date": "2024-06-01"}).content.decode()
    assert "确认登记 李秀英 死亡？" in asked and "登记后无法撤销" in asked
    response = client.post(f"/residents/{ward.pk}/events/death/", {"date": "2024-06-01", "confirmed": "1"})
    assert response.status_code == 302
    ward.refresh_from_db()
    assert ward.status == Resident.Status.DECEASED
    assert "/events/death/" not in client.get(f"/residents/{ward.pk}/").content.decode()


def test_it_records_a_marriage_to_a_spouse_in_scope(world: World, client_for) -> None:
    head = world.residents["a1_1_head"]
    ward = world.residents["a1_1_ward"]
    response = client_for(Role.GRID_WORKER).post(
        f"/residents/{head.pk}/events/marriage/", {"date": "2024-02-14", "spouse_id_number": ward.id_number.lower()}
    )
    assert response.status_code == 302
    assert LifeEvent.objects.filter(resident=ward, kind=LifeEvent.Kind.MARRIAGE).exists()


def test_it_refuses_a_spouse_outside_the_workers_scope(world: World, client_for) -> None:
    head = world.residents["a1_1_head"]
    other = world.residents["b1_1_head"]
    response = client_for(Role.GRID_WORKER).post(
        f"/residents/{head.pk}/events/marriage/", {"date": "2024-02-14", "spouse_id_number": other.id_number}
    )
    assert response.status_code == 400
    assert not LifeEvent.objects.filter(kind=LifeEvent.Kind.MARRIAGE).exists()


def test_it_registers_a_birth_into_the_household(world: World, client_for) -> None:
    household = world.households["grid_a1_1"]
    number = idnumbers.make(area_code="210304", birth_date=dt.date(2024, 3, 3), sequence=77, sex="F")
    response = client_for(Role.GRID_WORKER).post(
        f"/households/{household.pk}/register/",
        {"kind": "birth", "name": "王小雨", "id_number": number, "relationship": "grandchild"},
    )
    assert response.status_code == 302
    baby = Resident.objects.get(id_number=number)
    assert baby.household == household and baby.grid_id == household.grid_id
    assert LifeEvent.objects.get(resident=baby).kind == LifeEvent.Kind.BIRTH


def test_it_shows_the_reason_when_an_id_number_is_wrong(world: World, client_for) -> None:
    household = world.households["grid_a1_1"]
    response = client_for(Role.GRID_WORKER).post(
        f"/households/{household.pk}/register/",
        {"kind": "move_in", "name": "张三", "id_number": "210304199001011234", "relationship": "other"},
    )
    assert response.status_code == 400
    assert "校验位" in response.content.decode()


def test_it_moves_a_known_resident_into_another_household(world: World, client_for) -> None:
    mover = world.residents["a1_2_head"]
    target = world.households["grid_a1_1"]
    response = client_for(Role.COMMUNITY_STAFF).post(
        f"/households/{target.pk}/move-in/",
        {"id_number": mover.id_number, "relationship": "other", "date": "2024-07-01"},
    )
    assert response.status_code == 302
    mover.refresh_from_db()
    assert mover.household == target and mover.grid_id == target.grid_id


def test_it_cannot_move_in_someone_from_outside_the_workers_scope(world: World, client_for) -> None:
    outsider = world.residents["a1_2_head"]
    response = client_for(Role.GRID_WORKER).post(
        f"/households/{world.households['grid_a1_1'].pk}/move-in/",
        {"id_number": outsider.id_number, "relationship": "other", "date": "2024-07-01"},
    )
    assert response.status_code == 400
    outsider.refresh_from_db()
    assert outsider.household == world.households["grid_a1_2"]


def test_it_adds_and_removes_a_care_tag(world: World, client_for) -> None:
    head = world.residents["a1_1_head"]
    category = CareCategory.objects.exclude(tags__resident=head).first()
    client = client_for(Role.GRID_WORKER)
    assert client.post(f"/residents/{head.pk}/care/", {"category": category.pk}).status_code == 302
    assert head.care_tags.filter(category=category).exists()
    asked = client.post(f"/residents/{head.pk}/care/{category.code}/remove/")
    assert asked.status_code == 200 and "确定取消 王建国 的人员类别" in asked.content.decode()
    assert head.care_tags.filter(category=category).exists()
    assert client.post(f"/residents/{head.pk}/care/{category.code}/remove/", {"confirmed": "1"}).status_code == 302
    assert not head.care_tags.filter(category=category).exists()


def test_it_gives_a_department_no_event_forms_and_refuses_their_posts(world: World, client_for) -> None:
    head = world.residents["a1_1_head"]
    client = client_for(Role.DEPARTMENT)
    assert "/events/move_out/" not in client.get(f"/residents/{head.pk}/").content.decode()
    assert client.post(f"/residents/{head.pk}/events/move_out/", {"date": "2024-05-01"}).status_code == 404
    head.refresh_from_db()
    assert head.status == Resident.Status.LIVING


def test_a_big_building_is_grouped_by_entrance_with_a_jump_bar(world: World, client_for) -> None:
    import re

    from wangge.registry.models import Household

    building = world.buildings["grid_a1_1"]
    for entrance in ("1", "2", "10", ""):
        for floor in range(1, 21):
            if entrance == "1" and floor == 1:
                continue  # 1单元101 is the world's household
            household = Household(building=building, entrance=entrance, room=f"{floor}01")
            household.copy_scope(building)
            household.save()
    html = client_for(Role.GRID_WORKER).get(f"/buildings/{building.pk}/").content.decode()
    bar = re.search(r'<nav class="jumpbar" id="entrances".*?</nav>', html, re.S)
    assert bar is not None
    jumps = re.findall(r'<a href="#(entrance-\d+)">(.*?) <span class="count">(\d+)</span>', bar.group(0))
    # natural order (2 before 10), each entrance's count, and the households without one last
    assert [(label, n) for _, label, n in jumps] == [
        ("1单元", "20"),
        ("2单元", "20"),
        ("10单元", "20"),
        ("未填单元", "20"),
    ]
    for anchor, _, _ in jumps:
        assert f'<h2 class="entrance" id="{anchor}">' in html
    assert html.count('href="#entrances"') == 4  # back to the bar from every entrance


def test_a_building_with_one_entrance_needs_no_jump_bar(world: World, client_for) -> None:
    html = client_for(Role.GRID_WORKER).get(f"/buildings/{world.buildings['grid_a1_1'].pk}/").content.decode()
    assert 'class="jumpbar"' not in html and "1单元" in html
