"""Grid-division engine (issue 3): buildings -> balanced, contiguous grids.

Pure Python (numpy/scipy/shapely), no Django, so that the web app, the
``wangge grids divide`` command and the benchmark all run the same code, and
the command works on files without a database.

Python API
----------
``Building(id, lon, lat, households, community="", entrances=1)``
    Input record (WGS-84 degrees; entrances are 单元, the only places a
    building may be split).

``divide(buildings, target=300, tolerance=0.10) -> Division``
    Fresh division.  Each community is divided on its own into
    ``k ~ round(total / target)`` grids (a community below the target is one
    grid), every grid connected in the Delaunay triangulation of the
    community's buildings, households within ``target * (1 +/- tolerance)``
    wherever possible; buildings are split at entrance boundaries only when
    balance cannot be reached otherwise.

``rebalance(buildings, previous, target=300, tolerance=0.10,
previous_households=None) -> Division``
    ``previous`` maps building id -> ``[(grid_id, households), ...]`` from an
    earlier division.  Restores balance after household counts changed while
    moving as few households as possible and keeping grid ids.  New buildings
    join an adjacent grid.  ``Division.moved_households`` is the number of
    households now in a different grid than before (earlier splits are kept
    at the same entrance boundaries and re-expressed in the new counts).

``Division``
    ``assignment``: building id -> ``[(grid_id, households), ...]`` (one
    pair when whole; pairs sum to the building's households);
    ``grids``: grid id -> ``Grid(id, community, households, building_ids)``;
    ``split_buildings``, ``moved_households``, ``seconds``.
    Grid ids are ``<community>-G01``, ``<community>-G02``, ... (``G01`` when
    buildings have no community).

``evaluate(buildings, assignment, target=300, tolerance=0.10, polygons=False)
-> dict``
    Summary figures for any assignment (also a user-edited one): ``grids``,
    ``households``, ``buildings``, ``communities``, ``min``, ``max``,
    ``within_tolerance`` and ``contiguous`` (shares of grids, 0..1),
    ``split_buildings`` and, with ``polygons``, ``mean_polsby_popper``.

``polygons.grid_polygons(buildings, assignment) -> dict[grid_id, GridPolygon]``
    One polygon per grid: Voronoi cells of the district's buildings clipped
    to each community's buffered hull and dissolved per grid; polygons of
    different grids do not overlap.  Includes Polsby-Popper compactness.

``synthetic.generate_district(households, seed=0, ...)``
    Realistic synthetic districts for tests, previews and benchmarks.

Errors in input values raise ``GriddingError`` (a ``ValueError``).

Command line
------------
``wangge grids divide --buildings IN.geojson --target 300 [--tolerance 0.10]
[--existing PREV.geojson] --out OUT.geojson [--polygons]``; also
``python -m wangge.areas.gridding divide ...``.  See :mod:`.cli`.

Modules: :mod:`.model` (types), :mod:`.graph` (contiguity graph),
:mod:`.engine` (partitioning one community: entry points), with
:mod:`.state` (the partition and its cost), :mod:`.moves`,
:mod:`.construction` (bisection, repair) and :mod:`.operators` (local search);
:mod:`.divide` (API), :mod:`.metrics`, :mod:`.polygons`, :mod:`.geojson_io`,
:mod:`.cli`, :mod:`.synthetic`.
"""

from .divide import divide, grid_id, rebalance
from .metrics import evaluate
from .model import Allocation, Building, Division, Grid, GriddingError

__all__ = [
    "Allocation",
    "Building",
    "Division",
    "Grid",
    "GriddingError",
    "divide",
    "evaluate",
    "grid_id",
    "rebalance",
]
