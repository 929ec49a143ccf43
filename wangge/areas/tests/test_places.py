"""Positions in words: the nearest building, its community, and the map around a point."""

from __future__ import annotations

import pytest

from wangge.areas.models import Building
from wangge.areas.places import distance_m, nearest_building, surroundings
from wangge.conftest import World

METRE_LAT = 1 / 111_195.0  # on the mean sphere the distances are measured on


def test_it_measures_distances_like_the_reference() -> None:
    # one degree of latitude is 111.2 km on the mean sphere; Beijing to Shanghai is ~1,067 km
    assert distance_m(41.0, 123.0, 42.0, 123.0) == pytest.approx(111_195, rel=1e-4)
    assert distance_m(39.9042, 116.4074, 31.2304, 121.4737) == pytest.approx(1_067_000, rel=0.01)


def test_it_finds_the_nearest_building_and_its_community(world: World) -> None:
    home = world.buildings["grid_a1_1"]  # 1号楼 of 灵西社区, at (41.12, 122.91)
    assert home.lat is not None and home.lon is not None
    near = nearest_building(lat=home.lat + 40 * METRE_LAT, lon=home.lon)
    assert near is not None and near.building == home
    assert near.building.community.name == "灵西社区"
    assert near.distance_m == pytest.approx(40, abs=0.5)


def test_it_prefers_the_truly_nearest_over_the_first_found(world: World) -> None:
    home = world.buildings["grid_a1_1"]
    assert home.lat is not None and home.lon is not None
    closer = Building.objects.create(
        name="7号楼",
        grid=home.grid,
        community=home.community,
        street=home.street,
        district=home.district,
        lat=home.lat + 300 * METRE_LAT,
        lon=home.lon,
    )
    near = nearest_building(lat=home.lat + 260 * METRE_LAT, lon=home.lon)
    assert near is not None and near.building == closer
    assert near.distance_m == pytest.approx(40, abs=0.5)


def test_it_finds_a_building_a_few_kilometres_away_and_nothing_farther(world: World) -> None:
    home = world.buildings["grid_a1_1"]
    assert home.lat is not None and home.lon is not None
    near = nearest_building(lat=home.lat + 3000 * METRE_LAT, lon=home.lon)
    assert near is not None and near.building == home and near.distance_m == pytest.approx(3000, abs=2)
    assert nearest_building(lat=0.5, lon=100.0) is None


def test_it_gathers_the_outlines_and_buildings_around_a_point(world: World) -> None:
    home = world.buildings["grid_a1_1"]
    assert home.lat is not None and home.lon is not None
    found = surroundings(lat=home.lat, lon=home.lon, radius_m=500)
    kinds = [(f["properties"]["kind"], f["properties"]["name"]) for f in found["features"]]
    assert ("street", "友好街道") in kinds and ("community", "灵西社区") in kinds
    assert ("building", "1号楼") in kinds
    assert kinds.index(("street", "友好街道")) < kinds.index(("community", "灵西社区"))
    assert not any(name == "解放社区" for _kind, name in kinds)  # another district, far away
