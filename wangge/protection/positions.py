"""A position as people use it: the nearest building and its community, how far that is from
home, and links that open the phone's map app there (``geo:`` for any app, AMap with GCJ-02
and Baidu Maps with BD-09 coordinates, which those apps expect instead of GPS's WGS-84)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

from django.utils.translation import gettext as _

from wangge.areas.places import distance_m, nearest_building
from wangge.core.coords import wgs84_to_bd09, wgs84_to_gcj02


def metres_label(metres: float) -> str:
    """ "80 米", "350 米", "1.2 公里": rounded as far as a person walking needs."""
    if metres < 1000:
        return _("%(n)s 米") % {"n": round(metres / 10.0) * 10 if metres >= 100 else round(metres)}
    return _("%(n)s 公里") % {"n": f"{metres / 1000:.1f}"}


@dataclass(frozen=True)
class Position:
    lat: float
    lon: float
    building: str
    community: str
    to_building_m: float | None
    from_home_m: float | None
    label: str

    @property
    def to_building(self) -> str:
        return metres_label(self.to_building_m) if self.to_building_m is not None else ""

    @property
    def from_home(self) -> str:
        return metres_label(self.from_home_m) if self.from_home_m is not None else ""

    @property
    def at_building(self) -> bool:
        """Close enough to say "at" rather than "near" (GPS is good to a few tens of metres)."""
        return self.to_building_m is not None and self.to_building_m < 30

    @property
    def geo_uri(self) -> str:
        """RFC 5870, with a query Android's map apps put a labelled pin on."""
        point = f"{self.lat:.6f},{self.lon:.6f}"
        return f"geo:{point}?q={point}({quote(self.label)})"

    @property
    def amap_url(self) -> str:
        lat, lon = wgs84_to_gcj02(self.lat, self.lon)
        query = {"position": f"{lon:.6f},{lat:.6f}", "name": self.label, "coordinate": "gaode", "callnative": 1}
        return "https://uri.amap.com/marker?" + urlencode(query)

    @property
    def baidu_url(self) -> str:
        lat, lon = wgs84_to_bd09(self.lat, self.lon)
        query = {
            "location": f"{lat:.6f},{lon:.6f}",
            "title": self.label,
            "content": self.label,
            "coord_type": "bd09ll",
            "output": "html",
            "src": "webapp.wangge",
        }
        return "https://api.map.baidu.com/marker?" + urlencode(query)


def home_of(enrolment: Any) -> tuple[float, float] | None:
    """The (lat, lon) of the protected person's home building, if it is located."""
    household = enrolment.resident.household
    building = household.building if household else None
    if building is None or building.lat is None or building.lon is None:
        return None
    return building.lat, building.lon


def describe(lat: float, lon: float, *, home: tuple[float, float] | None, label: str) -> Position:
    nearest = nearest_building(lat=lat, lon=lon)
    return Position(
        lat=lat,
        lon=lon,
        building=nearest.building.name if nearest else "",
        community=nearest.building.community.name if nearest else "",
        to_building_m=nearest.distance_m if nearest else None,
        from_home_m=distance_m(lat, lon, *home) if home else None,
        label=label,
    )
