import pytest

from wangge.areas.models import Area
from wangge.areas.queries import areas_within, grid_at


@pytest.mark.django_db
def test_it_finds_the_grid_that_contains_a_coordinate(world):
    assert grid_at(lon=122.91, lat=41.12) == world.areas["grid_a1_1"]
    assert grid_at(lon=122.96, lat=41.12) == world.areas["grid_a1_2"]
    assert grid_at(lon=123.01, lat=41.12) == world.areas["grid_b1_1"]


@pytest.mark.django_db
def test_a_coordinate_outside_every_grid_has_no_grid(world):
    assert grid_at(lon=100.0, lat=30.0) is None


@pytest.mark.django_db
def test_the_lookup_sees_a_boundary_edited_after_the_first_lookup(world):
    grid = world.areas["grid_a1_2"]
    assert grid_at(lon=122.96, lat=41.12) == grid
    grid.boundary = {"type": "Polygon", "coordinates": [[[110, 30], [111, 30], [111, 31], [110, 31], [110, 30]]]}
    grid.save()
    assert grid_at(lon=122.96, lat=41.12) is None
    assert grid_at(lon=110.5, lat=30.5) == grid


@pytest.mark.django_db
def test_it_limits_the_lookup_to_the_areas_given(world):
    mine = areas_within(world.user("grid_worker"))
    assert grid_at(lon=122.91, lat=41.12, within=mine) == world.areas["grid_a1_1"]
    assert grid_at(lon=123.01, lat=41.12, within=mine) is None


@pytest.mark.django_db
def test_every_area_knows_its_ancestors(world):
    grid = world.areas["grid_a1_1"]
    assert grid.community == world.areas["community_a1"]
    assert grid.street == world.areas["street_a"]
    assert grid.district == world.areas["district"]
    street = Area.objects.get(pk=world.areas["street_a"].pk)
    assert street.district == world.areas["district"] and street.community is None


@pytest.mark.django_db
def test_it_keeps_each_levels_boundaries_parsed_when_a_page_measures_from_two_levels(world, monkeypatch):
    # An incident's searchers serve grids and communities: measuring from one level must not
    # throw away the other's parsed tree (at 520k residents that rebuild cost ~1.5 s a call).
    from wangge.areas import geometry

    parsed = []
    real = geometry.repair_geojson
    monkeypatch.setattr(geometry, "repair_geojson", lambda boundary: parsed.append(1) or real(boundary))
    grid, community = world.areas["grid_a1_1"], world.areas["community_a1"]
    for _ in range(3):
        assert geometry.distance_to_area(level="grid", area_id=grid.pk, lat=41.12, lon=122.91) == 0
        assert geometry.distance_to_area(level="community", area_id=community.pk, lat=41.12, lon=122.91) == 0
    first_time = Area.objects.filter(level__in=["grid", "community"]).exclude(boundary=None).count()
    assert len(parsed) <= first_time
