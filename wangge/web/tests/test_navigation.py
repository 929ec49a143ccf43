"""The navigation holds every section a role may use and only those (issue 16): each section it
offers opens for that role, the registry's lists are offered to those who read them by area, and
special groups only to a role some register's policy lets see its people."""

from __future__ import annotations

from typing import Any

import pytest

from wangge.accounts.models import Role
from wangge.conftest import World
from wangge.groups.codes import ensure_defaults as ensure_registers
from wangge.groups.models import Register
from wangge.places.codes import ensure_defaults as ensure_place_codes
from wangge.web.context import nav_items

pytestmark = pytest.mark.django_db


def urls(world: World, role: str) -> list[str]:
    return [item.url for item in nav_items(world.user(role), "/")]


def test_every_section_a_role_is_offered_opens_for_that_role(world: World, client_for: Any) -> None:
    ensure_registers()
    ensure_place_codes()
    for role in Role.values:
        client = client_for(role)
        for url in urls(world, role):
            assert client.get(url).status_code == 200, (role, url)


def test_the_district_admin_is_offered_rentals_groups_places_and_units(world: World) -> None:
    ensure_registers()
    offered = urls(world, Role.DISTRICT_ADMIN)
    for url in ("/rentals/", "/groups/", "/places/", "/units/"):
        assert url in offered


def test_roles_that_do_not_read_the_registry_by_area_are_not_offered_its_lists(world: World) -> None:
    ensure_registers()
    for role in (Role.GUARDIAN, Role.AUDITOR):
        offered = urls(world, role)
        for url in ("/rentals/", "/groups/", "/places/", "/units/"):
            assert url not in offered, (role, url)


def test_special_groups_follow_the_registers_policy(world: World, client_for: Any) -> None:
    ensure_registers()
    assert "/groups/" not in urls(world, Role.PETITION_OFFICE)  # no shipped register names it
    assert client_for(Role.PETITION_OFFICE).get("/groups/").status_code == 404
    register = Register.objects.get(code="released")
    register.viewer_roles = [*register.viewer_roles, Role.PETITION_OFFICE]
    register.save()
    assert "/groups/" in urls(world, Role.PETITION_OFFICE)
    Register.objects.update(viewer_roles=[])
    assert "/groups/" not in urls(world, Role.GRID_WORKER)


def test_the_section_open_is_marked_current(world: World, client_for: Any) -> None:
    page = client_for(Role.GRID_WORKER).get("/units/").content.decode()
    assert page.count('href="/units/" class="active" aria-current="page"') == 2  # the row and the menu
    assert 'aria-expanded="false"' in page and 'aria-controls="navmore-menu"' in page
