"""GCJ-02 and BD-09 conversion against published reference pairs."""

from __future__ import annotations

import pytest

from wangge.core.coords import gcj02_to_bd09, gcj02_to_wgs84, wgs84_to_bd09, wgs84_to_gcj02

# (wgs lat, wgs lon, gcj lat, gcj lon): the test vectors of googollee/eviltransform.
REFERENCE = [
    (31.1774276, 121.5272106, 31.17530398364597, 121.531541859215),  # Shanghai
    (22.543847, 113.912316, 22.540796131694766, 113.9171764808363),  # Shenzhen
    (39.911954, 116.377817, 39.91334545536069, 116.38404722455657),  # Beijing
]


@pytest.mark.parametrize(("wlat", "wlon", "glat", "glon"), REFERENCE)
def test_it_converts_wgs84_to_gcj02_like_the_reference(wlat: float, wlon: float, glat: float, glon: float) -> None:
    lat, lon = wgs84_to_gcj02(wlat, wlon)
    assert lat == pytest.approx(glat, abs=1e-9)
    assert lon == pytest.approx(glon, abs=1e-9)


@pytest.mark.parametrize(("wlat", "wlon", "glat", "glon"), REFERENCE)
def test_it_converts_gcj02_back_to_wgs84_within_a_millimetre(
    wlat: float, wlon: float, glat: float, glon: float
) -> None:
    lat, lon = gcj02_to_wgs84(glat, glon)
    assert lat == pytest.approx(wlat, abs=1e-8)
    assert lon == pytest.approx(wlon, abs=1e-8)


def test_it_leaves_coordinates_outside_china_alone() -> None:
    assert wgs84_to_gcj02(51.5, -0.12) == (51.5, -0.12)
    assert gcj02_to_wgs84(51.5, -0.12) == (51.5, -0.12)


# (gcj lat, gcj lon, bd lat, bd lon): the published example of wandergis/coordtransform (Tiananmen).
BAIDU_REFERENCE = [(39.915, 116.404, 39.92133699351021, 116.41036949371029)]


@pytest.mark.parametrize(("glat", "glon", "blat", "blon"), BAIDU_REFERENCE)
def test_it_converts_gcj02_to_baidus_bd09_like_the_reference(
    glat: float, glon: float, blat: float, blon: float
) -> None:
    lat, lon = gcj02_to_bd09(glat, glon)
    assert lat == pytest.approx(blat, abs=1e-9)
    assert lon == pytest.approx(blon, abs=1e-9)


def test_it_converts_wgs84_to_bd09_through_gcj02() -> None:
    wlat, wlon, glat, glon = REFERENCE[2]
    assert wgs84_to_bd09(wlat, wlon) == pytest.approx(gcj02_to_bd09(glat, glon), abs=1e-9)
    assert wgs84_to_bd09(51.5, -0.12) == (51.5, -0.12)
