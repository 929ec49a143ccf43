"""Invalid boundaries (bow-tie, self-touching ring, duplicate points, sliver) are repaired, not fatal."""

from __future__ import annotations

import pytest
import shapely
from shapely.errors import GEOSException
from shapely.geometry import Polygon, mapping

from wangge.areas.gridding.repair import UnrepairableGeometry, repair, repair_geojson

BOW_TIE = Polygon([(0, 0), (1, 1), (1, 0), (0, 1), (0, 0)])
SELF_TOUCHING = Polygon([(0, 0), (2, 0), (2, 2), (1, 0), (0, 2), (0, 0)])
DUPLICATE_POINTS = Polygon([(0, 0), (1, 0), (1, 0), (1, 0), (1, 1), (0, 1), (0, 1), (0, 0)])
# a spike of zero width sticking out of a square: a sliver
SLIVER = Polygon([(0, 0), (1, 0), (1, 0.5), (3, 0.5), (1, 0.5), (1, 1), (0, 1), (0, 0)])


def test_it_reproduces_the_side_location_conflict_that_failed_the_district_preview() -> None:
    # What grid_polygons used to do with an invalid polygon: set_precision alone raises.
    with pytest.raises(GEOSException, match="side location conflict"):
        shapely.set_precision(BOW_TIE, 1e-9)


@pytest.mark.parametrize(
    ("geom", "area"), [(BOW_TIE, 0.5), (SELF_TOUCHING, 2.0), (DUPLICATE_POINTS, 1.0), (SLIVER, 1.0)]
)
def test_it_repairs_invalid_polygons_into_valid_polygons_of_the_same_area(geom: Polygon, area: float) -> None:
    assert not geom.is_valid or geom.geom_type == "Polygon"
    fixed = repair(geom, grid_size=1e-9)
    assert fixed is not None
    assert fixed.is_valid
    assert fixed.geom_type in ("Polygon", "MultiPolygon")
    assert fixed.area == pytest.approx(area)
    # and set_precision, which failed on the original, now succeeds
    assert shapely.set_precision(fixed, 1e-9).is_valid


def test_it_refuses_geometry_with_no_area_left() -> None:
    line_like = Polygon([(0, 0), (1, 1), (2, 2), (0, 0)])
    assert repair(line_like) is None
    with pytest.raises(UnrepairableGeometry):
        repair_geojson(mapping(line_like))
    with pytest.raises(UnrepairableGeometry):
        repair_geojson({"type": "Polygon", "coordinates": "nonsense"})
    with pytest.raises(UnrepairableGeometry):
        repair_geojson({"type": "Polygon", "coordinates": []})


def test_it_reads_and_repairs_a_geojson_bow_tie_in_degrees() -> None:
    ring = [(122.99, 41.10), (123.01, 41.12), (123.01, 41.10), (122.99, 41.12), (122.99, 41.10)]
    fixed = repair_geojson({"type": "Polygon", "coordinates": [ring]})
    assert fixed.is_valid and fixed.area == pytest.approx(0.0002, rel=1e-3)
