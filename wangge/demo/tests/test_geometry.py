"""The demo's geometry: the Voronoi tiles that become community and grid outlines."""

from __future__ import annotations

import numpy as np
from shapely.geometry import Point, box

from wangge.demo import geometry

# Buildings on a regular 7.3 m lattice at the district's projected coordinates (~1.4 × 10^7 m),
# with a few standing on the same spot, as a full-scale demo (520,000 residents) placed them:
# GEOS dropped one site of the lattice and the old lookup of its cell raised IndexError.
ORIGIN = np.array([13_800_000.0, 4_900_000.0])
LATTICE = [(0, 0), (0, 1), (1, 0), (1, 2), (2, 0), (2, 1), (2, 2), (2, 3), (2, 4), (2, 5), (3, 0), (3, 1)]
LATTICE += [(3, 2), (3, 3), (3, 4), (3, 5), (4, 0), (4, 1), (4, 2), (4, 3), (4, 5), (5, 0), (5, 1), (5, 2)]
LATTICE += [(5, 3), (0, 3), (4, 4), (0, 0), (2, 3), (4, 2), (5, 3)]


def test_it_gives_every_building_of_a_regular_lattice_far_from_the_origin_a_tile() -> None:
    seeds = ORIGIN + np.array(LATTICE, dtype=float) * 7.3
    within = box(*(ORIGIN - 1), *(ORIGIN + 5 * 7.3 + 1))

    tiles = geometry.voronoi_tiles(seeds, within)

    assert len(tiles) == len(seeds)
    for (x, y), tile in zip(seeds, tiles, strict=True):
        assert tile.area > 0
        assert tile.distance(Point(x, y)) < 7.3
    distinct = {tile.wkb for tile in tiles}
    covered = sum(geometry.polygonal(tile).area for tile in {t.wkb: t for t in tiles}.values())
    assert len(distinct) >= len(set(LATTICE)) - 1
    assert abs(covered - within.area) < 1e-3 * within.area


def test_it_gives_a_lone_building_the_whole_area() -> None:
    within = box(0, 0, 100, 100)

    assert [tile.area for tile in geometry.voronoi_tiles(np.array([[5.0, 5.0]]), within)] == [within.area]
