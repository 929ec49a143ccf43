"""Creating a case with a photo from the phone page: server time per request, wall and CPU.

    python bench/case_photo_intake.py                  # SQLite in a fresh data directory
    python bench/case_photo_intake.py --db postgres    # database wangge_bench_photo on 127.0.0.1
    python bench/case_photo_intake.py --requests 60

A grid worker (the test world of ``wangge/conftest.py``) posts the field intake — category,
text, the phone's position, one resident and a 4 MB 12-megapixel JPEG with EXIF and GPS, as a
phone camera writes it — through Django's test client in this process (no network, no browser),
``--requests`` times after ``--warmup`` unrecorded ones. Each request is checked (302, one photo
stored). Reported: p50/p95/max of wall and of this process's CPU time, and the same for the photo
step alone (``photos.prepare``: decode, strip, shrink, thumbnail), with the machine's load.
Target (issue 11): wall p95 < 150 ms.
"""

from __future__ import annotations

import argparse
import io
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
PG_SERVER = "postgres://postgres@127.0.0.1:5432"


def loadavg() -> str:
    return " ".join(f"{v:.2f}" for v in os.getloadavg())


def phone_photo(target_mb: float = 4.0) -> bytes:
    """A 4032×3024 JPEG of about ``target_mb`` MB (gradients and noise, like a textured scene),
    with camera make, orientation and GPS position in its EXIF."""
    from PIL import Image, ImageFilter

    w, h = 4032, 3024
    base = Image.linear_gradient("L").resize((w, h))
    noise = Image.effect_noise((w, h), 40).filter(ImageFilter.GaussianBlur(1))
    image = Image.merge("RGB", (Image.blend(base, noise, 0.4), noise, base.rotate(90).resize((w, h))))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"
    gps = exif.get_ifd(0x8825)
    gps.update({1: "N", 2: (41.0, 7.0, 12.5), 3: "E", 4: (122.0, 57.0, 3.25)})
    best = b""
    for quality in range(85, 100):
        out = io.BytesIO()
        image.save(out, "JPEG", quality=quality, exif=exif)
        best = out.getvalue()
        if len(best) >= target_mb * 1_000_000:
            break
    return best


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def summary(name: str, wall: list[float], cpu: list[float]) -> str:
    ms = 1000
    return (
        f"| {name} | {len(wall)} | {pct(wall, 50) * ms:.0f} | {pct(wall, 95) * ms:.0f} | {max(wall) * ms:.0f} "
        f"| {pct(cpu, 50) * ms:.0f} | {pct(cpu, 95) * ms:.0f} |"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--warmup", type=int, default=3)
    args = parser.parse_args()

    data_dir = Path(tempfile.mkdtemp(prefix="wangge-bench-photo-"))
    os.environ["WANGGE_DATA_DIR"] = str(data_dir)
    os.environ["DJANGO_SETTINGS_MODULE"] = "wangge.settings"
    if args.db == "postgres":
        import psycopg

        with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as conn:
            conn.execute("DROP DATABASE IF EXISTS wangge_bench_photo")
            conn.execute("CREATE DATABASE wangge_bench_photo")
        os.environ["DATABASE_URL"] = f"{PG_SERVER}/wangge_bench_photo"
    else:
        os.environ.pop("DATABASE_URL", None)

    import django

    django.setup()
    from django.core.management import call_command
    from django.test import Client
    from django.test.utils import setup_test_environment
    from django.urls import reverse

    from wangge.accounts.models import Role
    from wangge.cases import photos
    from wangge.cases.models import Case, CasePhoto, Category
    from wangge.conftest import build_world

    setup_test_environment()  # the test client's host, and no throttling of one busy worker
    call_command("migrate", verbosity=0)
    world = build_world()
    client = Client()
    client.force_login(world.user(Role.GRID_WORKER))
    category = Category.objects.get(code="facilities")
    resident = world.residents["a1_1_head"]
    jpeg = phone_photo()
    url = f"{reverse('cases:field')}?resident={resident.pk}"
    from wangge.core.heap import freeze_startup

    freeze_startup()  # as the WSGI module does in each server process

    def post() -> tuple[float, float]:
        from django.core.files.uploadedfile import SimpleUploadedFile

        form = {
            "category": category.pk,
            "text": "3号楼楼道灯坏了，楼梯很黑",
            "lon": "122.95",
            "lat": "41.12",
            "address": "灵西小区3号楼",
            "photos": [SimpleUploadedFile("IMG_0001.JPG", jpeg, content_type="image/jpeg")],
        }
        wall, cpu = time.perf_counter(), time.process_time()
        response = client.post(url, form)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        assert response.status_code == 302, response.status_code
        return wall, cpu

    for _ in range(args.warmup):
        post()
    load_before = loadavg()
    walls, cpus = [], []
    for _ in range(args.requests):
        wall, cpu = post()
        walls.append(wall)
        cpus.append(cpu)
    load_after = loadavg()
    assert CasePhoto.objects.count() == Case.objects.count() == args.requests + args.warmup

    prep_walls, prep_cpus = [], []
    for _ in range(args.requests):
        wall, cpu = time.perf_counter(), time.process_time()
        photos.prepare(jpeg)
        prep_walls.append(time.perf_counter() - wall)
        prep_cpus.append(time.process_time() - cpu)

    from django.db import connection

    print(f"database {connection.vendor}; photo {len(jpeg) / 1e6:.2f} MB 4032×3024 JPEG with EXIF/GPS")
    print(f"Python {platform.python_version()}, {os.cpu_count()} cores; load before {load_before}, after {load_after}")
    print("| what | n | wall p50 ms | wall p95 ms | wall max ms | CPU p50 ms | CPU p95 ms |")
    print("|---|---|---|---|---|---|---|")
    print(summary("POST /cases/field/ (case + photo)", walls, cpus))
    print(summary("photos.prepare alone", prep_walls, prep_cpus))
    return 0


if __name__ == "__main__":
    sys.exit(main())
