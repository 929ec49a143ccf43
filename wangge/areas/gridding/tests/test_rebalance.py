"""Rebalancing after household counts change: few moves, stable grid ids."""

from __future__ import annotations

import dataclasses

import pytest

from wangge.areas.gridding import Building, divide, evaluate, rebalance
from wangge.areas.gridding.synthetic import generate_district, perturb

from .helpers import grid_totals, non_contiguous_grids


@pytest.fixture(scope="module")
def before() -> tuple[list[Building], dict]:
    bs = generate_district(40_000, seed=21, sigma=0.7)
    return bs, divide(bs).assignment


def test_rebalance_moves_few_households_and_keeps_grid_ids(before):
    bs, prev = before
    after = perturb(bs, 0.05, seed=3)
    d = rebalance(after, prev)
    figures = evaluate(after, d.assignment)
    assert figures["within_tolerance"] >= 0.98
    assert figures["contiguous"] == 1.0
    assert non_contiguous_grids(after, d.assignment) == []
    assert set(d.grids) <= set(grid_totals(prev))
    total = sum(b.households for b in after)
    assert d.moved_households is not None
    assert d.moved_households < 0.10 * total


def test_rebalance_without_changes_moves_nothing(before):
    bs, prev = before
    d = rebalance(bs, prev)
    assert d.moved_households == 0
    assert d.assignment == {k: list(v) for k, v in prev.items()}


def test_an_out_of_band_grid_is_fixed_by_a_small_move():
    bs = [Building(f"b{i}", 116.4 + 0.0004 * (i % 6), 39.9 + 0.0003 * (i // 6), 50, "A", 3) for i in range(36)]
    prev = divide(bs).assignment
    grown = [dataclasses.replace(b, households=95) if b.id == "b0" else b for b in bs]
    d = rebalance(grown, prev)
    assert set(d.grids) == set(grid_totals(prev))
    assert all(270 <= v <= 330 for v in grid_totals(d.assignment).values())
    assert 0 < d.moved_households <= 95


def test_new_buildings_join_an_adjacent_grid(before):
    bs, prev = before
    extra = [dataclasses.replace(bs[0], id="new-1", lon=bs[0].lon + 0.00005, households=20)]
    d = rebalance([*bs, *extra], prev)
    assert d.assignment["new-1"][0][0] in grid_totals(prev)
    assert non_contiguous_grids([*bs, *extra], d.assignment) == []


def test_split_buildings_keep_their_entrance_boundaries():
    tower = Building("tower", 116.400, 39.900, 400, "T", 8)
    others = [Building(f"s{i}", 116.4 + 0.0004 * (i + 1), 39.9 + 0.0002 * (i % 2), 50, "T", 2) for i in range(4)]
    prev = divide([tower, *others]).assignment
    d = rebalance([dataclasses.replace(tower, households=408), *others], prev)
    parts = dict(d.assignment["tower"])
    assert sum(parts.values()) == 408
    assert d.moved_households == 0
    assert set(parts) == {g for g, _ in prev["tower"]}
