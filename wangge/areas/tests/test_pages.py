"""Area pages through HTTP: the tree, area and building pages, the map and its GeoJSON."""

from __future__ import annotations

import pytest
from django.test import Client

from wangge.accounts.models import AreaAssignment, Role, User
from wangge.areas.models import Area, Building
from wangge.conftest import World

pytestmark = pytest.mark.django_db


def neighbour(world: World) -> Client:
    """The worker of the neighbouring grid (A1-2) in the same community."""
    user = User.objects.create_user(username="neighbour", role=Role.GRID_WORKER, full_name="邻格网格员")
    AreaAssignment.objects.create(user=user, area=world.areas["grid_a1_2"])
    client = Client()
    client.force_login(user)
    return client


def test_it_shows_the_grid_page_with_its_buildings_to_the_grid_worker(world: World, client_for) -> None:
    response = client_for(Role.GRID_WORKER).get(f"/areas/{world.areas['grid_a1_1'].pk}/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "灵西第一网格" in page
    assert f"/buildings/{world.buildings['grid_a1_1'].pk}/" in page


def test_it_hides_the_neighbouring_grid_page_from_a_grid_worker(world: World) -> None:
    client = neighbour(world)
    assert client.get(f"/areas/{world.areas['grid_a1_1'].pk}/").status_code == 404
    assert client.get(f"/areas/{world.areas['grid_a1_2'].pk}/").status_code == 200


def test_it_shows_the_community_page_with_grid_counts_to_community_staff(world: World, client_for) -> None:
    response = client_for(Role.COMMUNITY_STAFF).get(f"/areas/{world.areas['community_a1'].pk}/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "灵西第一网格" in page and "灵西第二网格" in page
    assert client_for(Role.COMMUNITY_STAFF).get(f"/areas/{world.areas['community_b1'].pk}/").status_code == 404


def test_it_lists_the_households_of_a_building(world: World, client_for) -> None:
    building = world.buildings["grid_a1_1"]
    response = client_for(Role.GRID_WORKER).get(f"/buildings/{building.pk}/")
    assert response.status_code == 200
    assert f"/households/{world.households['grid_a1_1'].pk}/" in response.content.decode()
    assert "王建国" in response.content.decode()


def test_it_hides_the_neighbouring_grids_building(world: World) -> None:
    assert neighbour(world).get(f"/buildings/{world.buildings['grid_a1_1'].pk}/").status_code == 404


def test_it_shows_the_tree_limited_to_the_users_areas(world: World, client_for) -> None:
    page = client_for(Role.STREET_STAFF).get("/areas/").content.decode()
    assert "灵西社区" in page
    assert "曙光社区" not in page
    assert "铁东区" not in page


def test_it_serves_the_map_geojson_of_the_users_scope(world: World, client_for) -> None:
    response = client_for(Role.COMMUNITY_STAFF).get("/map/geojson/")
    assert response.status_code == 200
    features = response.json()["features"]
    grids = {f["properties"]["name"] for f in features if f["properties"]["kind"] == "grid"}
    buildings = [f for f in features if f["properties"]["kind"] == "building"]
    assert grids == {"灵西第一网格", "灵西第二网格"}
    assert len(buildings) == 2
    assert all(f["geometry"]["type"] == "Point" for f in buildings)


def test_it_gives_a_grid_worker_only_their_grid_on_the_map(world: World, client_for) -> None:
    features = client_for(Role.GRID_WORKER).get("/map/geojson/").json()["features"]
    assert {f["properties"]["name"] for f in features if f["properties"]["kind"] == "grid"} == {"灵西第一网格"}


def test_it_gives_a_guardian_no_map(world: World, client_for) -> None:
    client = client_for(Role.GUARDIAN)
    assert client.get("/map/").status_code == 404
    assert client.get("/map/geojson/").json()["features"] == []


def test_it_renders_the_map_page_with_leaflet(world: World, client_for) -> None:
    page = client_for(Role.GRID_WORKER).get("/map/").content.decode()
    assert "leaflet/leaflet.js" in page
    assert 'data-geojson="/map/geojson/"' in page


def test_it_adds_a_tile_layer_only_when_configured(world: World, client_for, settings) -> None:  # type: ignore[no-untyped-def]
    settings.MAP_TILE_URL = "https://tiles.example.org/{z}/{x}/{y}.png"
    page = client_for(Role.GRID_WORKER).get("/map/").content.decode()
    assert 'data-tile-url="https://tiles.example.org/{z}/{x}/{y}.png"' in page


def test_it_lets_a_grid_worker_add_a_household_to_their_building(world: World, client_for) -> None:
    building = world.buildings["grid_a1_1"]
    response = client_for(Role.GRID_WORKER).post(
        f"/buildings/{building.pk}/households/", {"entrance": "2", "room": "301"}
    )
    assert response.status_code == 302
    assert building.households.filter(entrance="2", room="301").exists()


def test_it_asks_anonymous_visitors_to_log_in(world: World) -> None:
    response = Client().get(f"/areas/{world.areas['grid_a1_1'].pk}/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_it_clusters_buildings_when_too_many_are_in_view_and_sends_points_inside_a_box(
    world: World, client_for
) -> None:
    from wangge.areas import mapview

    grid = world.areas["grid_a1_1"]
    Building.objects.bulk_create(
        Building(
            name=f"地图{i}号楼",
            grid=grid,
            community=grid.community,
            street=grid.street,
            district=grid.district,
            lon=122.95 + (i % 50) * 0.0004,
            lat=41.10 + (i // 50) * 0.0004,
        )
        for i in range(mapview.POINT_LIMIT + 100)
    )
    client = client_for(Role.DISTRICT_ADMIN)
    whole = client.get("/map/geojson/", HTTP_ACCEPT_ENCODING="gzip")
    assert whole.status_code == 200 and whole["Content-Encoding"] == "gzip"
    data = client.get("/map/geojson/").json()
    kinds = {f["properties"]["kind"] for f in data["features"]}
    assert "cluster" in kinds and "building" not in kinds
    clusters = [f for f in data["features"] if f["properties"]["kind"] == "cluster"]
    assert sum(f["properties"]["buildings"] for f in clusters) >= mapview.POINT_LIMIT + 100
    assert data["extent"] and data["zoom"] >= mapview.MIN_ZOOM
    # zoomed in on a corner: the buildings there, as points with their household counts
    box = client.get("/map/geojson/", {"zoom": 18, "bbox": "122.9499,41.0999,122.9522,41.1012"}).json()
    points = [f for f in box["features"] if f["properties"]["kind"] == "building"]
    assert 0 < len(points) < 100
    assert all(122.94 < f["geometry"]["coordinates"][0] < 122.96 for f in points)
    assert "extent" not in box


def test_it_simplifies_outlines_for_the_zoom_and_repairs_a_bow_tie(world: World, client_for) -> None:
    import math

    grid = world.areas["grid_a1_1"]
    circle = [
        [122.9 + 0.01 * math.cos(t / 500 * 2 * math.pi), 41.1 + 0.01 * math.sin(t / 500 * 2 * math.pi)]
        for t in range(500)
    ]
    circle.append(circle[0])
    bow_tie = [[122.8, 41.0], [122.81, 41.01], [122.81, 41.0], [122.8, 41.01], [122.8, 41.0]]
    Area.objects.filter(pk=grid.pk).update(boundary={"type": "Polygon", "coordinates": [circle]})
    Area.objects.filter(pk=world.areas["grid_a1_2"].pk).update(boundary={"type": "Polygon", "coordinates": [bow_tie]})
    client = client_for(Role.DISTRICT_ADMIN)

    def vertices(zoom: int) -> int:
        features = client.get("/map/geojson/", {"zoom": zoom}).json()["features"]
        shape = next(f["geometry"] for f in features if f["properties"]["id"] == grid.pk)
        return len(shape["coordinates"][0])

    assert vertices(10) < 40 < vertices(18)
    features = client.get("/map/geojson/", {"zoom": 14}).json()["features"]
    repaired = next(f["geometry"] for f in features if f["properties"]["id"] == world.areas["grid_a1_2"].pk)
    assert repaired["type"] == "MultiPolygon"


def test_it_ignores_a_nonsense_box_and_zoom(world: World, client_for) -> None:
    client = client_for(Role.DISTRICT_ADMIN)
    for query in ({"bbox": "1,2,3"}, {"bbox": "nan,0,1,1"}, {"zoom": "x"}, {"zoom": "1e999"}, {"bbox": "9,9,1,1"}):
        assert client.get("/map/geojson/", query).status_code == 200


def test_the_tree_nests_every_area_under_its_parent_with_balanced_lists(world: World, client_for) -> None:
    import re
    from html.parser import HTMLParser

    class Nesting(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.stack: list[list[object]] = []  # open tags, each [tag, area id of an <li>]
            self.parent: dict[int, int | None] = {}

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            href = dict(attrs).get("href") or ""
            match = re.fullmatch(r"/areas/(\d+)/", href)
            if tag == "a" and match and self.stack and self.stack[-1][0] in ("li", "summary"):
                items = [entry for entry in self.stack if entry[0] == "li"]
                items[-1][1] = int(match.group(1))
                self.parent[int(match.group(1))] = items[-2][1] if len(items) > 1 else None  # type: ignore[assignment]
            if tag in ("ul", "li", "details", "summary"):
                self.stack.append([tag, None])

        def handle_endtag(self, tag: str) -> None:
            if tag in ("ul", "li", "details", "summary"):
                assert self.stack.pop()[0] == tag

    page = client_for(Role.DISTRICT_ADMIN).get("/areas/")
    nesting = Nesting()
    nesting.feed(page.content.decode().split('<div class="card">', 1)[1])
    district = world.areas["district"]
    expected = {a.pk: a.parent_id for a in Area.objects.filter(district=district) | Area.objects.filter(pk=district.pk)}
    expected[district.pk] = None
    assert nesting.parent == expected
    assert page.content.decode().count("<details open>") == 1  # the root opens, the rest stay shut


def test_the_map_repairs_each_outline_once_and_reads_boundaries_only_when_not_cached(
    world: World, client_for, monkeypatch
) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from wangge.areas import mapview

    monkeypatch.setattr(mapview, "_shapes", {})
    monkeypatch.setattr(mapview, "_outlines", {})
    repaired: list[object] = []
    repair = mapview.repair_geojson
    monkeypatch.setattr(mapview, "repair_geojson", lambda b: repaired.append(b) or repair(b))
    client = client_for(Role.DISTRICT_ADMIN)
    first = client.get("/map/geojson/").json()
    drawn = [f for f in first["features"] if f["properties"]["kind"] != "building"]
    assert drawn and len(repaired) == len(drawn)  # once each, for the extent and the drawing
    with CaptureQueriesContext(connection) as queries:
        again = client.get("/map/geojson/").json()
    assert again == first
    assert not any('"boundary" FROM' in q["sql"] for q in queries.captured_queries)  # not selected
    client.get("/map/geojson/", {"zoom": 16})  # another zoom: simplified again, not repaired again
    assert len(repaired) == len(drawn)
