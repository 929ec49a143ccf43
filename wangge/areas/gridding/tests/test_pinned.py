"""The engine's exact output on a fixed district, pinned so a refactor cannot change it unnoticed.

The other tests check properties (balance, contiguity, few moves), which a refactor can keep while
quietly changing which buildings go where.  These pin a digest of the whole assignment of one
fixed-seed district with towers and many small communities (splits, chains, restarts) and of its
rebalance after households grew by about 30 % (grids are added).  A deliberate change to the
search changes the digests: check the benchmark figures in ``docs/benchmarks.md`` still hold,
then update them here in the same commit, saying why.  (A new numpy/scipy could move a cut too.)
"""

from __future__ import annotations

import dataclasses
import hashlib
import json

import pytest

from wangge.areas.gridding import Allocation, Building, divide, rebalance
from wangge.areas.gridding.synthetic import generate_district, perturb

DIVIDE_DIGEST = "933e1bcefe7abd26"
REBALANCE_DIGEST = "4933fc51293ae321"


def _digest(assignment: dict[str, Allocation]) -> str:
    doc = sorted((building, [list(part) for part in parts]) for building, parts in assignment.items())
    return hashlib.sha256(json.dumps(doc, separators=(",", ":")).encode()).hexdigest()[:16]


@pytest.fixture(scope="module")
def district() -> list[Building]:
    return generate_district(12_000, seed=40, sigma=0.9, towers=0.08, community_households=(400, 3000))


def test_it_divides_a_fixed_district_exactly_as_before(district):
    division = divide(district)
    assert (len(division.grids), division.split_buildings) == (40, 9)
    assert _digest(division.assignment) == DIVIDE_DIGEST


def test_it_rebalances_a_fixed_district_exactly_as_before(district):
    previous = divide(district).assignment
    grown = [dataclasses.replace(b, households=round(b.households * 1.3)) for b in perturb(district, 0.1, seed=7)]
    result = rebalance(grown, previous)
    assert (len(result.grids), result.split_buildings, result.moved_households) == (50, 12, 5537)
    assert _digest(result.assignment) == REBALANCE_DIGEST
