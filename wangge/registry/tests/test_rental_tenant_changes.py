"""A lease's tenants changed one by one (``rental_tenants_change``, the API): a tenant moves in or out.

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
from wangge.registry.tests.test_rooms import let

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
