"""Fresh division: contiguity, balance, splits only when needed, degenerate inputs."""

from __future__ import annotations

import dataclasses

import pytest

from wangge.areas.gridding import Building, GriddingError, divide, evaluate
from wangge.areas.gridding.synthetic import generate_district

from .helpers import grid_totals, non_contiguous_grids


@pytest.fixture(scope="module")
def district() -> list[Building]:
    return generate_district(60_000, seed=11, sigma=0.7)


@pytest.fixture(scope="module")
def division(district):
    return divide(district, target=300, tolerance=0.10)


def test_it_keeps_every_grid_contiguous(district, division):
    assert non_contiguous_grids(district, division.assignment, metric=True) == []
    assert non_contiguous_grids(district, division.assignment, metric=False) == []
    assert evaluate(district, division.assignment)["contiguous"] == 1.0


def test_it_balances_grids_within_tolerance(district, division):
    figures = evaluate(district, division.assignment)
    assert figures["within_tolerance"] >= 0.98
    assert figures["split_buildings"] <= 0.10 * len(district)


def test_assignment_parts_sum_to_households_and_never_cross_communities(district, division):
    community_of_grid: dict[str, str] = {}
    for b in district:
        parts = division.assignment[b.id]
        assert sum(h for _, h in parts) == b.households
        assert len({g for g, _ in parts}) == len(parts)
        for gid, _ in parts:
            assert community_of_grid.setdefault(gid, b.community) == b.community
            assert gid.startswith(f"{b.community}-G")
    assert set(grid_totals(division.assignment)) == set(division.grids)


def test_a_community_below_the_target_is_one_grid():
    bs = [Building(f"b{i}", 116.4 + i * 0.0004, 39.9 + (i % 2) * 0.0003, 30, "small", 2) for i in range(5)]
    d = divide(bs)
    assert {g for parts in d.assignment.values() for g, _ in parts} == {"small-G01"}
    assert d.split_buildings == 0


def test_a_tower_is_split_at_entrance_boundaries_only_when_needed():
    tower = Building("tower", 116.400, 39.900, 400, "T", 8)  # 50 households per entrance
    others = [Building(f"s{i}", 116.4 + 0.0004 * (i + 1), 39.9 + 0.0002 * (i % 2), 50, "T", 2) for i in range(4)]
    d = divide([tower, *others])
    parts = d.assignment["tower"]
    assert len(parts) == 2
    assert all(h % 50 == 0 for _, h in parts)  # whole entrances
    assert sorted(grid_totals(d.assignment).values()) == [300, 300]
    assert d.split_buildings == 1


def test_it_does_not_split_when_whole_buildings_balance():
    bs = [Building(f"b{i}", 116.4 + 0.0004 * (i % 6), 39.9 + 0.0003 * (i // 6), 50, "A", 3) for i in range(36)]
    d = divide(bs)
    assert d.split_buildings == 0
    assert sorted(grid_totals(d.assignment).values()) == [300] * 6


@pytest.mark.parametrize(
    "coords",
    [
        [(116.4, 39.9)],
        [(116.4, 39.9), (116.401, 39.9)],
        [(116.4, 39.9), (116.401, 39.9), (116.4005, 39.9008)],
        [(116.4 + 0.0003 * i, 39.9 + 0.0002 * i) for i in range(12)],  # collinear
        [(116.4, 39.9)] * 4 + [(116.401, 39.9)] * 4 + [(116.4005, 39.9008)] * 4,  # duplicates
    ],
)
def test_degenerate_communities_still_get_contiguous_grids(coords):
    bs = [Building(f"b{i}", lon, lat, 75, "D", 3) for i, (lon, lat) in enumerate(coords)]
    d = divide(bs)
    assert non_contiguous_grids(bs, d.assignment) == []
    total = 75 * len(bs)
    assert sum(grid_totals(d.assignment).values()) == total
    if total >= 600:
        assert min(grid_totals(d.assignment).values()) >= 270


def test_it_handles_buildings_without_community_and_zero_households():
    bs = generate_district(3000, seed=2)
    bs = [dataclasses.replace(b, community="", households=0 if i % 7 == 0 else b.households) for i, b in enumerate(bs)]
    d = divide(bs)
    assert all(g.startswith("G") for g in d.grids)
    assert non_contiguous_grids(bs, d.assignment) == []


def test_it_rejects_bad_values():
    with pytest.raises(GriddingError, match="duplicate"):
        divide([Building("a", 116.4, 39.9, 10), Building("a", 116.5, 39.9, 10)])
    with pytest.raises(GriddingError, match="entrances"):
        divide([Building("a", 116.4, 39.9, 10, entrances=0)])
