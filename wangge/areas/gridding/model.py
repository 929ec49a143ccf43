"""Plain data types shared by the grid-division engine.

They live in their own module so that the engine, the GeoJSON reader, the
CLI and the Django app can exchange buildings and results without importing
one another (and without Django: the engine must stay usable from the command
line and from benchmarks).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

#: One building's allocation: ``[(grid_id, households), ...]``; one pair when
#: the building is whole, several when it is split at entrance boundaries.
Allocation = list[tuple[str, int]]


class GriddingError(ValueError):
    """Input that the engine cannot work with (bad values, duplicate ids, ...)."""


@dataclass(frozen=True, slots=True)
class Building:
    """A residential building, reduced to what grid division needs.

    ``lon``/``lat`` are WGS-84 degrees.  ``entrances`` (单元) are the only
    places where a building may be split; households are assumed to be spread
    evenly over them.
    """

    id: str
    lon: float
    lat: float
    households: int
    community: str = ""
    entrances: int = 1


@dataclass(slots=True)
class Grid:
    """One grid of a division."""

    id: str
    community: str
    households: int = 0
    #: ids of buildings with at least part of their households in this grid.
    building_ids: list[str] = field(default_factory=list)


@dataclass(slots=True)
class Division:
    """Result of :func:`divide` or :func:`rebalance`."""

    target: int
    tolerance: float
    #: building id -> allocation (pairs sum to the building's households).
    assignment: dict[str, Allocation]
    grids: dict[str, Grid]
    #: Households whose grid changed (rebalance only; ``None`` for divide).
    moved_households: int | None = None
    seconds: float = 0.0

    @property
    def split_buildings(self) -> int:
        return sum(1 for parts in self.assignment.values() if len(parts) > 1)


def band(target: int, tolerance: float) -> tuple[int, int]:
    """Inclusive integer household band ``[lo, hi]`` around ``target``."""
    lo = math.ceil(target * (1.0 - tolerance) - 1e-9)
    hi = math.floor(target * (1.0 + tolerance) + 1e-9)
    return lo, hi


def entrance_households(households: int, entrances: int) -> list[int]:
    """Households per entrance, spread evenly (first ones get the remainder)."""
    e = max(1, entrances)
    q, r = divmod(households, e)
    return [q + 1 if i < r else q for i in range(e)]
