"""The areas and buildings API: the tree a user may see, boundaries, and point-in-grid lookup."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from wangge.accounts.models import Role
from wangge.conftest import World

pytestmark = pytest.mark.django_db


def names(response: Any) -> set[str]:
    assert response.status_code == 200, response.content
    return {row["name"] for row in response.json()["results"]}


def test_it_shows_a_grid_worker_their_grid_and_the_path_above(world: World, client_for: Any) -> None:
    response = client_for(Role.GRID_WORKER).get("/api/v1/areas/")
    assert names(response) == {"立山区", "友好街道", "灵西社区", "灵西第一网格"}


def test_it_shows_a_street_everything_below_it(world: World, client_for: Any) -> None:
    response = client_for(Role.STREET_STAFF).get("/api/v1/areas/?level=grid")
    assert names(response) == {"灵西第一网格", "灵西第二网格"}


def test_it_filters_areas_by_parent(world: World, client_for: Any) -> None:
    community = world.areas["community_a1"].pk
    response = client_for(Role.DISTRICT_ADMIN).get(f"/api/v1/areas/?parent={community}")
    assert names(response) == {"灵西第一网格", "灵西第二网格"}


def test_it_lists_children_of_an_area(world: World, client_for: Any) -> None:
    district = world.areas["district"].pk
    response = client_for(Role.DISTRICT_ADMIN).get(f"/api/v1/areas/{district}/children/")
    assert names(response) == {"友好街道", "曙光街道"}


def test_it_lists_only_visible_children(world: World, client_for: Any) -> None:
    community = world.areas["community_a1"].pk
    response = client_for(Role.GRID_WORKER).get(f"/api/v1/areas/{community}/children/")
    assert names(response) == {"灵西第一网格"}


def test_it_includes_the_boundary_only_in_detail(world: World, client_for: Any) -> None:
    client = client_for(Role.GRID_WORKER)
    grid = world.areas["grid_a1_1"]
    listed = client.get("/api/v1/areas/").json()["results"]
    assert all("boundary" not in row for row in listed)
    detail = client.get(f"/api/v1/areas/{grid.pk}/").json()
    assert detail["boundary"]["type"] == "Polygon"
    assert detail["boundary"]["coordinates"] == grid.boundary["coordinates"]
    assert detail["community"] == world.areas["community_a1"].pk


def test_it_hides_a_neighbouring_grid_from_a_grid_worker(world: World, client_for: Any) -> None:
    client = client_for(Role.GRID_WORKER)
    neighbour = client.get(f"/api/v1/areas/{world.areas['grid_a1_2'].pk}/")
    missing = client.get("/api/v1/areas/999999/")
    assert neighbour.status_code == missing.status_code == 404
    assert neighbour.json() == missing.json()


def test_it_shows_no_areas_to_a_guardian(world: World, client_for: Any) -> None:
    assert names(client_for(Role.GUARDIAN).get("/api/v1/areas/")) == set()


def test_it_locates_the_grid_containing_a_point(world: World, client_for: Any) -> None:
    response = client_for(Role.COMMUNITY_STAFF).get("/api/v1/areas/locate/?lon=122.97&lat=41.12")
    assert response.status_code == 200, response.content
    assert response.json()["id"] == world.areas["grid_a1_2"].pk


def test_it_does_not_locate_a_grid_the_user_cannot_see(world: World, client_for: Any) -> None:
    client = client_for(Role.GRID_WORKER)
    assert client.get("/api/v1/areas/locate/?lon=122.91&lat=41.12").json()["id"] == world.areas["grid_a1_1"].pk
    assert client.get("/api/v1/areas/locate/?lon=122.97&lat=41.12").status_code == 404
    assert client.get("/api/v1/areas/locate/?lon=100&lat=20").status_code == 404


def test_it_rejects_a_locate_without_coordinates(world: World, client_for: Any) -> None:
    response = client_for(Role.GRID_WORKER).get("/api/v1/areas/locate/?lon=abc")
    assert response.status_code == 400
    assert set(response.json()) == {"lon", "lat"}


def test_it_lists_buildings_in_scope_and_filters_them(world: World, client_for: Any) -> None:
    client = client_for(Role.COMMUNITY_STAFF)
    all_rows = client.get("/api/v1/buildings/").json()["results"]
    assert {row["id"] for row in all_rows} == {world.buildings["grid_a1_1"].pk, world.buildings["grid_a1_2"].pk}
    grid = world.areas["grid_a1_2"].pk
    filtered = client.get(f"/api/v1/buildings/?grid={grid}").json()["results"]
    assert [row["id"] for row in filtered] == [world.buildings["grid_a1_2"].pk]
    other = world.buildings["grid_b1_1"].pk
    assert client.get(f"/api/v1/buildings/{other}/").status_code == 404


def test_it_requires_authentication_for_areas(world: World) -> None:
    assert Client().get("/api/v1/areas/").status_code == 401
