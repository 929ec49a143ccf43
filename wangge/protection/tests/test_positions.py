"""Every position a person is shown comes in words, with links that open a map app there."""

from __future__ import annotations

import json
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client

from wangge.core.coords import wgs84_to_bd09, wgs84_to_gcj02
from wangge.protection import incidents
from wangge.protection.models import Alert
from wangge.protection.positions import describe, metres_label
from wangge.protection.tests.conftest import HOME, Protected, arrive

METRE_LAT = 1 / 111_195.0  # on the mean sphere the distances are measured on


def _surroundings(html: str) -> list[tuple[str, str]]:
    found = re.search(r'<script id="map-surroundings" type="application/json">(.*?)</script>', html)
    assert found, "no surroundings on the page"
    return [(f["properties"]["kind"], f["properties"]["name"]) for f in json.loads(found.group(1))["features"]]


def login(protected: Protected, role: str) -> Client:
    client = Client()
    client.force_login(protected.world.user(role))
    return client


def test_it_says_where_a_position_is_and_links_to_the_map_apps(protected: Protected) -> None:
    home = protected.world.buildings["grid_a1_1"]
    lat, lon = home.lat + 120 * METRE_LAT, home.lon
    position = describe(lat, lon, home=(home.lat, home.lon), label="李秀英 最后位置")
    assert (position.building, position.community) == ("1号楼", "灵西社区")
    assert position.to_building == "120 米" and position.from_home == "120 米"
    assert position.geo_uri.startswith(f"geo:{lat:.6f},{lon:.6f}?q={lat:.6f},{lon:.6f}(")
    amap = parse_qs(urlsplit(position.amap_url).query)
    g_lat, g_lon = wgs84_to_gcj02(lat, lon)
    assert amap["position"] == [f"{g_lon:.6f},{g_lat:.6f}"] and amap["coordinate"] == ["gaode"]
    baidu = parse_qs(urlsplit(position.baidu_url).query)
    b_lat, b_lon = wgs84_to_bd09(lat, lon)
    assert baidu["location"] == [f"{b_lat:.6f},{b_lon:.6f}"] and baidu["coord_type"] == ["bd09ll"]


def test_it_rounds_distances_as_a_walker_needs_them() -> None:
    assert [metres_label(m) for m in (8.4, 96, 354, 1234)] == ["8 米", "96 米", "350 米", "1.2 公里"]


def test_the_incident_page_shows_the_last_position_and_sightings_in_words(protected: Protected) -> None:
    arrive([protected.fix(metres_north=500)])
    guardian = protected.world.user("guardian")
    incident = incidents.incident_report(by=guardian, enrolment=protected.enrolment)
    incidents.incident_log_update(
        by=guardian,
        incident=incident,
        text="超市门口",
        kind="sighting",
        lat=HOME[0] + 200 * METRE_LAT,
        lon=HOME[1],
        seen_at=None,
    )
    html = login(protected, "guardian").get(f"/protection/incidents/{incident.pk}/").content.decode()
    last = html[html.index('id="last-known"') : html.index('id="responders"')]
    assert "灵西社区1号楼附近（相距 200 米）" in last and "离家 200 米" in last  # the sighting is newest
    assert 'href="geo:' in last and "uri.amap.com/marker" in last and "api.map.baidu.com/marker" in last
    updates = html[html.index('id="updates"') :]
    assert "灵西社区1号楼附近（相距 200 米）" in updates
    assert ("community", "灵西社区") in _surroundings(html)


def test_the_alerts_page_says_where_the_alert_happened(protected: Protected) -> None:
    arrive([protected.fix(metres_north=600, seconds=0), protected.fix(metres_north=650, seconds=90)])
    assert Alert.objects.filter(kind="left_zone").exists()
    html = login(protected, "grid_worker").get("/protection/alerts/").content.decode()
    assert re.search(r"灵西社区1号楼附近（相距 6[0-9]0 米）", html), html
    assert 'href="geo:' in html


@pytest.mark.parametrize("with_zone", [False, True])
def test_the_zone_editor_starts_as_a_300_metre_circle_around_home(protected: Protected, with_zone: bool) -> None:
    if not with_zone:
        protected.zone.delete()
    html = login(protected, "guardian").get(f"/protection/{protected.enrolment.pk}/zones/").content.decode()
    home = protected.world.buildings["grid_a1_1"]
    assert f'name="center_lat" value="{home.lat}"' in html or f'value="{round(home.lat, 6)}"' in html
    assert 'name="radius_m" value="300"' in html
    assert ('name="name" value="家"' in html) is not with_zone
    assert ("building", "1号楼") in _surroundings(html)


def test_the_enrolment_page_shows_the_last_fix_in_words_to_those_entitled_and_audits_it(
    protected: Protected,
) -> None:
    from wangge.core.models import AuditEntry

    arrive([protected.fix(metres_north=150)])
    html = login(protected, "guardian").get(f"/protection/{protected.enrolment.pk}/").content.decode()
    card = html[html.index('id="last-fix"') :]
    assert "灵西社区1号楼附近（相距 150 米）" in card and "离家 150 米" in card and 'href="geo:' in card
    assert AuditEntry.objects.filter(summary__contains="last fix").exists()
    # community staff manage the enrolment but read no locations without an open search
    staff_html = login(protected, "community_staff").get(f"/protection/{protected.enrolment.pk}/").content.decode()
    assert 'id="last-fix"' not in staff_html
