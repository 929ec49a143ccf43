"""How long "which building is nearest this point" and "what is around it" take.

    WANGGE_DATA_DIR=$(mktemp -d) python -m wangge migrate -v0
    WANGGE_DATA_DIR=<same> python bench/places.py [--buildings 10000] [--points 200]

Scatters the buildings over a 16 x 21 km box (about a district's built-up area), then times
``nearest_building`` (every position shown in words) and ``surroundings`` (the map of a safe
zone or an incident without base-map tiles) at random points in the box.
"""

from __future__ import annotations

import argparse
import os
import random
import time

import django


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--buildings", type=int, default=10_000)
    parser.add_argument("--points", type=int, default=200)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wangge.settings")
    django.setup()
    from django.db import connection

    from wangge.areas.models import Area, Building
    from wangge.areas.places import nearest_building, surroundings

    rng = random.Random(1)
    district = Area.objects.create(name="基准区", level="district")
    street = Area.objects.create(name="基准街道", level="street", parent=district)
    community = Area.objects.create(name="基准社区", level="community", parent=street)
    Building.objects.bulk_create(
        [
            Building(
                name=f"{i}号楼",
                community=community,
                street=street,
                district=district,
                lat=41.05 + rng.random() * 0.15,
                lon=122.85 + rng.random() * 0.25,
            )
            for i in range(args.buildings)
        ],
        batch_size=2000,
    )
    points = [(41.05 + rng.random() * 0.15, 122.85 + rng.random() * 0.25) for _ in range(args.points)]
    started = time.perf_counter()
    for lat, lon in points:
        nearest_building(lat=lat, lon=lon)
    nearest = (time.perf_counter() - started) / len(points) * 1000
    started = time.perf_counter()
    for lat, lon in points[:50]:
        surroundings(lat=lat, lon=lon, radius_m=1200)
    around = (time.perf_counter() - started) / min(50, len(points)) * 1000
    print(
        f"{args.buildings:,} buildings, {connection.vendor}: nearest_building {nearest:.2f} ms, "
        f"surroundings(1200 m) {around:.2f} ms per call"
    )
    Building.objects.filter(community=community).delete()
    for area in (community, street, district):
        area.delete()


if __name__ == "__main__":
    main()
