"""A lease's tenants changed on its own page and through the API: a tenant moves in or out.

The grid worker of the world (``wangge/conftest.py``) works grid_a1_1, where the lease is; 赵志强
(a1_2_head) lives in grid_a1_2 next door, which community staff see and the worker does not. The
petition office and departments read the registry and change nothing in it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import DatabaseError
from django.test import Client

from wangge.accounts.models import Role
from wangge.conftest import World
from wangge.core import idnumbers
from wangge.core.models import AuditEntry
from wangge.registry import room_actions
from wangge.registry.models import Rental, Resident
from wangge.registry.search import index_residents
from wangge.registry.tests.test_rooms import let, today
from wangge.registry.tests.test_scope_matrix import worker_with_broken_audit

pytestmark = pytest.mark.django_db


def newcomer(world: World, grid_key: str = "grid_a1_1", *, name: str = "马小红", sequence: int = 301) -> Resident:
    """A floating resident (流动人口) registered in ``grid_key``'s household, findable by search."""
    household = world.households[grid_key]
    birth = dt.date(1999, 8, 20)
    resident = Resident(
        household=household,
        name=name,
        id_number=idnumbers.make(area_code="411621", birth_date=birth, sequence=sequence, sex="F"),
        population_type_id="floating",
        sex="F",
        birth_date=birth,
        relationship=Resident.Relationship.OTHER,
    )
    resident.copy_scope(household)
    resident.save()
    index_residents([resident])
    return resident


def tenants_of(rental: Rental) -> set[str]:
    return set(rental.tenants.values_list("name", flat=True))


def tenant_entries(rental: Rental) -> list[AuditEntry]:
    """The audit entries of tenant changes to ``rental`` (its registration aside)."""
    return list(
        AuditEntry.objects.filter(
            object_type="registry.rental", object_id=str(rental.pk), action="update", detail__has_key="added"
        ).order_by("id")
    )


def add(client: Client, rental: Rental, resident: Resident, **extra: str) -> Any:
    return client.post(f"/rentals/{rental.pk}/tenants/add/", {"resident": resident.pk, **extra})


def remove(client: Client, rental: Rental, resident: Resident, **extra: str) -> Any:
    return client.post(f"/rentals/{rental.pk}/tenants/remove/", {"resident": resident.pk, **extra})


def test_a_grid_worker_finds_a_newcomer_by_id_number_and_adds_them_as_a_tenant(world: World, client_for: Any) -> None:
    rental = let(world, "grid_a1_1")
    person = newcomer(world)
    client = client_for(Role.GRID_WORKER)

    found = client.get(f"/rentals/{rental.pk}/", {"find": person.id_number})
    html = found.content.decode()
    assert found.status_code == 200
    assert f'name="resident" value="{person.pk}"' in html  # the add control of the hit
    hit = html.split('class="biglist tenant-hits"', 1)[1].split("</ul>", 1)[0]
    assert f'<span class="mono">{idnumbers.mask(person.id_number)}</span> · 流动人口 · 1号楼1单元101' in hit  # masked
    search = AuditEntry.objects.filter(action="search").latest("id")
    assert search.detail["q"] == person.id_number

    response = add(client, rental, person, find=person.id_number)
    assert response.status_code == 302
    assert response["Location"] == f"/rentals/{rental.pk}/"
    assert tenants_of(rental) == {"王建国", "马小红"}
    (entry,) = tenant_entries(rental)
    head = world.residents["a1_1_head"]
    assert entry.actor == world.user(Role.GRID_WORKER)
    assert entry.detail == {
        "before": [head.pk],
        "after": sorted([head.pk, person.pk]),
        "added": [person.pk],
        "removed": [],
    }
    assert "马小红" in entry.summary

    page = client.get(f"/rentals/{rental.pk}/").content.decode()
    assert "已添加承租人 马小红" in page
    tenants = page.split('id="tenants"', 1)[1].split('id="add-tenant"', 1)[0]
    assert "马小红" in tenants and idnumbers.mask(person.id_number) in tenants and "流动人口" in tenants


def test_a_grid_worker_finds_a_tenant_by_name_too(world: World, client_for: Any) -> None:
    rental = let(world, "grid_a1_1")
    person = newcomer(world)
    html = client_for(Role.GRID_WORKER).get(f"/rentals/{rental.pk}/", {"find": "马小红"}).content.decode()
    assert f'name="resident" value="{person.pk}"' in html


def test_a_grid_worker_cannot_add_a_resident_of_the_neighbouring_grid(world: World, client_for: Any) -> None:
    rental = let(world, "grid_a1_1")
    neighbour = world.residents["a1_2_head"]
    client = client_for(Role.GRID_WORKER)

    html = client.get(f"/rentals/{rental.pk}/", {"find": neighbour.id_number}).content.decode()
    assert neighbour.name not in html
    assert f'value="{neighbour.pk}"' not in html
    assert "没有找到符合条件、且在您管辖范围内的居民。" in html

    response = add(client, rental, neighbour)
    assert response.status_code == 404
    assert neighbour.name not in response.content.decode()
    assert tenants_of(rental) == {"王建国"}
    assert tenant_entries(rental) == []
    # Nor an id that is no number at all, nor none.
    assert client.post(f"/rentals/{rental.pk}/tenants/add/", {"resident": "x"}).status_code == 404
    assert client.post(f"/rentals/{rental.pk}/tenants/add/", {}).status_code == 404


def test_community_staff_add_a_tenant_registered_in_either_grid(world: World, client_for: Any) -> None:
    rental = let(world, "grid_a1_1")
    neighbour = world.residents["a1_2_head"]
    client = client_for(Role.COMMUNITY_STAFF)
    html = client.get(f"/rentals/{rental.pk}/", {"find": neighbour.id_number}).content.decode()
    assert f'name="resident" value="{neighbour.pk}"' in html
    assert add(client, rental, neighbour).status_code == 302
    assert tenants_of(rental) == {"王建国", "赵志强"}


@pytest.mark.parametrize("role", [Role.PETITION_OFFICE, Role.DEPARTMENT])
def test_a_role_that_only_reads_the_registry_sees_the_tenants_but_no_controls(
    world: World, client_for: Any, role: str
) -> None:
    rental = let(world, "grid_a1_1")
    person = newcomer(world)
    client = client_for(role)
    page = client.get(f"/rentals/{rental.pk}/", {"find": person.id_number})
    html = page.content.decode()
    assert page.status_code == 200
    assert "王建国" in html
    assert "/tenants/add/" not in html and "/tenants/remove/" not in html and 'id="add-tenant"' not in html
    assert not AuditEntry.objects.filter(action="search").exists()  # ?find= is no search for them

    assert add(client, rental, person).status_code == 404
    assert remove(client, rental, world.residents["a1_1_head"], confirmed="1").status_code == 404
    assert tenants_of(rental) == {"王建国"}
    assert tenant_entries(rental) == []


def test_a_guardian_and_an_auditor_reach_no_tenant_controls(world: World, client_for: Any) -> None:
    rental = let(world, "grid_a1_1")
    for role in (Role.GUARDIAN, Role.AUDITOR):
        client = client_for(role)
        assert add(client, rental, world.residents["a1_1_ward"]).status_code == 404
        assert remove(client, rental, world.residents["a1_1_head"], confirmed="1").status_code == 404
    assert tenants_of(rental) == {"王建国"}


def test_the_tenant_controls_take_posts_only(world: World, client_for: Any) -> None:
    rental = let(world, "grid_a1_1")
    client = client_for(Role.GRID_WORKER)
    ward = world.residents["a1_1_ward"]
    assert client.get(f"/rentals/{rental.pk}/tenants/add/", {"resident": ward.pk}).status_code == 405
    assert tenants_of(rental) == {"王建国"}


def test_removing_a_tenant_asks_first_then_removes_them_and_is_audited(world: World, client_for: Any) -> None:
    rental = let(world, "grid_a1_1")
    head = world.residents["a1_1_head"]
    client = client_for(Role.GRID_WORKER)
    page = client.get(f"/rentals/{rental.pk}/").content.decode()
    assert f'action="/rentals/{rental.pk}/tenants/remove/"' in page

    asked = remove(client, rental, head)
    html = asked.content.decode()
    assert asked.status_code == 200
    assert "确定将 王建国 从 1号楼1单元101 的承租人中移除？" in html
    assert 'name="confirmed" value="1"' in html and f'name="resident" value="{head.pk}"' in html
    assert f'href="/rentals/{rental.pk}/#tenants"' in html  # the way back
    assert tenants_of(rental) == {"王建国"}
    assert tenant_entries(rental) == []

    done = remove(client, rental, head, confirmed="1")
    assert done.status_code == 302
    assert tenants_of(rental) == set()
    (entry,) = tenant_entries(rental)
    assert entry.detail == {"before": [head.pk], "after": [], "added": [], "removed": [head.pk]}
    page = client.get(f"/rentals/{rental.pk}/").content.decode()
    assert "已移除承租人 王建国" in page
    assert "未登记承租人" in page
    head.refresh_from_db()
    assert head.status == Resident.Status.LIVING  # the person is still registered as before


def test_adding_someone_who_is_a_tenant_already_says_so_and_changes_nothing(world: World, client_for: Any) -> None:
    rental = let(world, "grid_a1_1")
    head = world.residents["a1_1_head"]
    client = client_for(Role.GRID_WORKER)
    html = client.get(f"/rentals/{rental.pk}/", {"find": head.id_number}).content.decode()
    hits = html.split('class="biglist tenant-hits"', 1)[1]
    assert "已是承租人" in hits and "/tenants/add/" not in hits

    response = add(client, rental, head, find=head.id_number)
    assert response.status_code == 302
    assert response["Location"] == f"/rentals/{rental.pk}/?find={head.id_number}"
    page = client.get(response["Location"])
    assert page.status_code == 200
    assert "王建国 已是该租约的承租人" in page.content.decode()
    assert tenants_of(rental) == {"王建国"}
    assert tenant_entries(rental) == []


@pytest.mark.parametrize(
    ("status", "chinese", "english"),
    [
        (Resident.Status.MOVED_OUT, "马小红 已迁出，不能登记为承租人", "马小红 has moved out and cannot be a tenant"),
        (Resident.Status.DECEASED, "马小红 已故，不能登记为承租人", "马小红 has died and cannot be a tenant"),
    ],
)
def test_a_resident_who_moved_out_or_died_is_refused_with_the_reason(
    world: World, client_for: Any, status: str, chinese: str, english: str
) -> None:
    rental = let(world, "grid_a1_1")
    person = newcomer(world)
    Resident.objects.filter(pk=person.pk).update(status=status)
    client = client_for(Role.GRID_WORKER)
    html = client.get(f"/rentals/{rental.pk}/", {"find": person.id_number}).content.decode()
    hits = html.split('class="biglist tenant-hits"', 1)[1]
    assert f"badge-{status}" in hits and "/tenants/add/" not in hits  # no control that cannot work

    response = add(client, rental, person)
    assert response.status_code == 302
    assert chinese in client.get(response["Location"]).content.decode()
    client.cookies["django_language"] = "en"
    add(client, rental, person)
    assert english in client.get(f"/rentals/{rental.pk}/").content.decode()
    assert tenants_of(rental) == {"王建国"}
    assert tenant_entries(rental) == []


def test_a_tenant_the_worker_cannot_see_stays_on_the_lease(world: World, client_for: Any) -> None:
    rental = let(world, "grid_a1_1")
    neighbour = world.residents["a1_2_head"]
    rental.tenants.add(neighbour)  # registered in the next grid, linked by community staff
    client = client_for(Role.GRID_WORKER)
    assert neighbour.name not in client.get(f"/rentals/{rental.pk}/").content.decode()

    assert add(client, rental, world.residents["a1_1_ward"]).status_code == 302
    assert remove(client, rental, world.residents["a1_1_head"], confirmed="1").status_code == 302
    assert tenants_of(rental) == {"李秀英", "赵志强"}
    assert remove(client, rental, neighbour, confirmed="1").status_code == 404
    assert tenants_of(rental) == {"李秀英", "赵志强"}


def test_a_lease_whose_move_out_is_recorded_keeps_its_tenants(world: World, client_for: Any) -> None:
    rental = let(world, "grid_a1_1")
    room_actions.rental_end(by=None, rental=rental, date=today())
    client = client_for(Role.GRID_WORKER)
    html = client.get(f"/rentals/{rental.pk}/", {"find": "李秀英"}).content.decode()
    assert "/tenants/" not in html and "王建国" in html
    response = add(client, rental, world.residents["a1_1_ward"])
    assert "该租约已退租，承租人不能再修改" in client.get(response["Location"]).content.decode()
    assert tenants_of(rental) == {"王建国"}


def test_the_action_refuses_a_change_that_changes_nothing_or_contradicts_itself(world: World) -> None:
    rental = let(world, "grid_a1_1")
    head = world.residents["a1_1_head"]
    with pytest.raises(ValidationError) as nothing:
        room_actions.rental_tenants_change(by=None, rental=rental)
    assert "tenants" in nothing.value.message_dict
    with pytest.raises(ValidationError):
        room_actions.rental_tenants_change(by=None, rental=rental, add=[head], remove=[head])
    with pytest.raises(ValidationError) as absent:
        room_actions.rental_tenants_change(by=None, rental=rental, remove=[world.residents["a1_1_ward"]])
    assert absent.value.message_dict["tenants"] == ["李秀英 不是该租约的承租人"]
    assert tenants_of(rental) == {"王建国"}
    assert tenant_entries(rental) == []


def test_an_audit_failure_rolls_back_a_tenant_change(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    rental = let(world, "grid_a1_1")

    def refuse(**kwargs: Any) -> None:
        raise DatabaseError("audit log unavailable")

    monkeypatch.setattr(AuditEntry.objects, "create", refuse)
    with pytest.raises(DatabaseError):
        room_actions.rental_tenants_change(
            by=None, rental=rental, add=[world.residents["a1_1_ward"]], remove=[world.residents["a1_1_head"]]
        )
    assert tenants_of(rental) == {"王建国"}


def test_an_audit_failure_on_the_page_leaves_the_tenants_as_they_were(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    rental = let(world, "grid_a1_1")
    client = worker_with_broken_audit(world, monkeypatch)
    assert add(client, rental, world.residents["a1_1_ward"]).status_code == 500
    assert remove(client, rental, world.residents["a1_1_head"], confirmed="1").status_code == 500
    assert tenants_of(rental) == {"王建国"}


def test_the_tenants_read_in_english(world: World, client_for: Any) -> None:
    rental = let(world, "grid_a1_1")
    person = newcomer(world)
    client = client_for(Role.GRID_WORKER)
    client.cookies["django_language"] = "en"
    page = client.get(f"/rentals/{rental.pk}/", {"find": person.id_number})
    html = page.content.decode()
    assert page.headers["Content-Language"] == "en"
    for text in ("Tenants", "Add a tenant", "Remove", "Registered (hukou here)", "Floating population", ">Add<"):
        assert text in html, text
    assert add(client, rental, person).status_code == 302
    assert "Tenant added: 马小红" in client.get(f"/rentals/{rental.pk}/").content.decode()
    asked = remove(client, rental, person).content.decode()
    assert "Remove 马小红 from the tenants of" in asked
    assert "Confirm removal" in asked


def test_the_api_adds_and_removes_tenants_in_the_callers_areas_only(world: World, client_for: Any) -> None:
    rental = let(world, "grid_a1_1")
    ward, head, neighbour = (world.residents[k] for k in ("a1_1_ward", "a1_1_head", "a1_2_head"))
    client = client_for(Role.GRID_WORKER)
    url = f"/api/v1/rentals/{rental.pk}/tenants/"

    response = client.post(url, {"add": [ward.pk], "remove": [head.pk]}, content_type="application/json")
    assert response.status_code == 200, response.content
    assert response.json()["tenants"] == [ward.pk]
    (entry,) = tenant_entries(rental)
    assert (entry.detail["before"], entry.detail["after"]) == ([head.pk], [ward.pk])

    outside = client.post(url, {"add": [neighbour.pk]}, content_type="application/json")
    assert outside.status_code == 400
    assert outside.json() == {"add": ["对象不存在或不在您的管辖范围内。"]}
    again = client.post(url, {"add": [ward.pk]}, content_type="application/json")
    assert again.status_code == 400
    assert again.json() == {"tenants": ["李秀英 已是该租约的承租人"]}
    reader = client_for(Role.PETITION_OFFICE).post(url, {"add": [head.pk]}, content_type="application/json")
    assert reader.status_code == 403
    assert tenants_of(rental) == {"李秀英"}
    assert len(tenant_entries(rental)) == 1
