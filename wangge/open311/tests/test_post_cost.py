"""What one POST requests.json costs the database, and how old this process's copies of the
categories and grids may be (bench/open311.py measures the throughput)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from wangge.cases.models import Case, Category
from wangge.conftest import World, grid_lon
from wangge.open311 import actions, queries

URL = "/open311/v2/requests.json"


def _fields(world: World, key: str, grid: str = "grid_a1_1") -> dict[str, str]:
    return {
        "api_key": key,
        "service_code": "facilities",
        "description": "路灯坏了",
        "lat": "41.12",
        "long": str(grid_lon(world.areas[grid])),
    }


def test_a_post_costs_the_rate_count_and_four_inserts(
    world: World, api_key: str, django_assert_max_num_queries: Any
) -> None:
    client = Client()
    assert client.post(URL, _fields(world, api_key)).status_code == 200  # reads key, category, grids
    # Then: the app's count of the last minute, the case, its step, its audit entry, the report
    # (no category or grid query, no savepoint of the nested actions); the report's transaction is
    # a savepoint pair here, inside the test's own transaction (BEGIN/COMMIT when served).
    with django_assert_max_num_queries(7):
        assert client.post(URL, _fields(world, api_key, "grid_b1_1")).status_code == 200
    second = Case.objects.latest("id")
    assert second.grid == world.areas["grid_b1_1"] and second.community_id == world.areas["grid_b1_1"].community_id


def test_a_switched_off_category_stops_taking_reports_when_the_copy_expires(
    world: World, api_key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = Client()
    assert client.post(URL, _fields(world, api_key)).status_code == 200
    Category.objects.filter(code="facilities").update(active=False)  # as another server process would
    monkeypatch.setattr(queries, "STALE_SECONDS", 0.0)
    response = client.post(URL, _fields(world, api_key))
    assert response.status_code == 400 and response.json()[0]["code"] == 400


def test_a_redrawn_grid_takes_reports_when_the_copy_expires(
    world: World, api_key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = Client()
    grid = world.areas["grid_a1_1"]
    assert client.post(URL, _fields(world, api_key)).status_code == 200
    far = {**_fields(world, api_key), "lat": "45.5", "long": "125.5"}
    square = [[125.4, 45.4], [125.6, 45.4], [125.6, 45.6], [125.4, 45.6], [125.4, 45.4]]
    grid.boundary = {"type": "Polygon", "coordinates": [square]}
    grid.save()
    monkeypatch.setattr(actions, "STALE_SECONDS", 0.0)
    assert client.post(URL, far).status_code == 200
    assert Case.objects.latest("id").grid_id == grid.pk
