"""Daily task generation over the whole registry, and the grid worker's worklist page (issue 12).

    python bench/worklist.py --db sqlite --residents 520000
    python bench/worklist.py --db postgres --residents 100000   # on a busy machine

Builds (or reuses) the demo with ``wangge demo --residents N`` into a kept data directory
(``/var/tmp/wangge-bench-worklist-N-DB``; on PostgreSQL the database
``wangge_bench_worklist_N``), runs ANALYZE, deletes every task the demo made, then times
``generate`` for today from nothing (the first run) and again (the second run, which must create
nothing). The page is the worklist of the grid with the most open tasks, fetched ``--samples``
times with Django's test client after one unrecorded request: server wall and CPU time (this
process's) at p50/p95, and the bytes of the HTML. The machine's load average is printed with
every figure.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PG_SERVER = "postgres://postgres@127.0.0.1:5432"


def loadavg() -> str:
    return " ".join(f"{v:.2f}" for v in os.getloadavg())


def configure(db: str, residents: int) -> dict[str, str]:
    data_dir = Path(f"/var/tmp/wangge-bench-worklist-{residents}-{db}")
    data_dir.mkdir(parents=True, exist_ok=True)
    os.environ["WANGGE_DATA_DIR"] = str(data_dir)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wangge.settings")
    if db == "postgres":
        import psycopg

        name = f"wangge_bench_worklist_{residents}"
        with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as conn:
            if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
                conn.execute(f"CREATE DATABASE {name}")
        os.environ["DATABASE_URL"] = f"{PG_SERVER}/{name}"
    else:
        os.environ.pop("DATABASE_URL", None)
    return dict(os.environ)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def add_registers_and_rentals(grid_id: int, listings: int, today: Any) -> None:
    """Listings due this week and rentals due for inspection in the grid (once: kept on re-runs)."""
    import datetime as dt

    from wangge.groups import actions as group_actions
    from wangge.groups.codes import ensure_defaults
    from wangge.groups.models import Listing, Register
    from wangge.registry import room_actions
    from wangge.registry.models import Household, Rental, Resident

    ensure_defaults()
    register = Register.objects.get(code="released")
    have = Listing.objects.filter(grid_id=grid_id, ended__isnull=True).count()
    people = Resident.objects.filter(grid_id=grid_id, status=Resident.Status.LIVING, group_listings__isnull=True)
    for number, resident in enumerate(people.order_by("pk")[: max(0, listings - have)]):
        start = today - dt.timedelta(days=register.follow_up_days - number % 7)
        group_actions.listing_add(by=None, register=register, resident=resident, start=start)
    homes = Household.objects.filter(grid_id=grid_id).select_related("building").order_by("pk")
    for home in homes[: max(0, listings // 3 - Rental.objects.filter(grid_id=grid_id).count())]:
        room, _created = room_actions.room_get_or_create(
            by=None, building=home.building, entrance=home.entrance, number=home.room
        )
        room_actions.rental_register(
            by=None, room=room, start=today - dt.timedelta(days=85), end=today + dt.timedelta(days=200),
            landlord_name="房东",
        )  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--residents", type=int, default=520_000)
    parser.add_argument("--samples", type=int, default=50)
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument("--seed", type=int, default=1, help="the demo's seed")
    parser.add_argument(
        "--registers",
        type=int,
        default=15,
        help="residents of the page's grid put on the special-group registers, due this week (a third as many "
        "rentals due for inspection): their tasks are read through the registers, audited, on every request",
    )
    args = parser.parse_args()
    env = configure(args.db, args.residents)
    subprocess.run([sys.executable, "-m", "wangge", "migrate", "-v", "0"], env=env, check=True, cwd=ROOT)

    import django

    django.setup()
    from django.conf import settings
    from django.db import connection
    from django.db.models import Count
    from django.test import Client
    from django.test.utils import override_settings
    from django.utils import timezone

    from wangge.accounts.models import AreaAssignment, Role, User
    from wangge.registry.models import Household, Resident
    from wangge.worklist import actions
    from wangge.worklist.models import Task

    have = Resident.objects.count()
    if args.rebuild or abs(have - args.residents) > args.residents // 100:
        started = time.perf_counter()
        command = [
            sys.executable,
            "-m",
            "wangge",
            "demo",
            "--residents",
            str(args.residents),
            "--seed",
            str(args.seed),
            "--force",
        ]
        subprocess.run(command, env=env, check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
        print(f"demo build {time.perf_counter() - started:.0f} s (load {loadavg()})", flush=True)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    print(f"{args.db}: {Resident.objects.count():,} residents, {Household.objects.count():,} households")

    Task.objects.all().delete()
    today = timezone.localdate()
    for label in ("first run", "second run"):
        load = loadavg()
        wall, cpu = time.perf_counter(), time.process_time()
        summary = actions.generate(today=today)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        print(
            f"generate {label}: {wall:.1f} s wall, {cpu:.1f} s CPU; created {summary.created:,}, "
            f"closed {summary.closed}, open {summary.open:,} (load {load})",
            flush=True,
        )

    grid_id, tasks = (
        Task.objects.filter(status=Task.Status.OPEN, grid__isnull=False)
        .values_list("grid_id")
        .annotate(n=Count("pk"))
        .order_by("-n")
        .values_list("grid_id", "n")[0]
    )
    households = Household.objects.filter(grid_id=grid_id).count()
    if args.registers:
        add_registers_and_rentals(grid_id, args.registers, today)
        summary = actions.generate(today=today)
        rented = args.registers // 3
        print(f"after listing {args.registers} and renting {rented} in the grid: created {summary.created}")
    worker, _ = User.objects.get_or_create(username="bench-worklist", defaults={"role": Role.GRID_WORKER})
    AreaAssignment.objects.get_or_create(user=worker, area_id=grid_id)
    client = Client()
    client.force_login(worker)
    with override_settings(ALLOWED_HOSTS=["*", *settings.ALLOWED_HOSTS]):
        client.get("/worklist/")
        walls: list[float] = []
        cpus: list[float] = []
        size = 0
        load = loadavg()
        for _ in range(args.samples):
            wall, cpu = time.perf_counter(), time.process_time()
            response = client.get("/worklist/")
            walls.append((time.perf_counter() - wall) * 1000)
            cpus.append((time.process_time() - cpu) * 1000)
            assert response.status_code == 200
            size = len(response.content)
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as captured:
            client.get("/worklist/")
    queries = [(float(q["time"]) * 1000, q["sql"]) for q in captured.captured_queries]
    print(f"/worklist/: {len(queries)} queries, {sum(t for t, _sql in queries):.0f} ms in SQL; slowest:", flush=True)
    for spent, sql in sorted(queries, reverse=True)[:3]:
        print(f"  {spent:.1f} ms  {sql[:300]}")
    print(
        f"/worklist/ for a grid of {households} households, {tasks} open tasks: "
        f"wall p50 {statistics.median(walls):.0f} ms p95 {percentile(walls, 0.95):.0f} ms, "
        f"CPU p50 {statistics.median(cpus):.0f} ms p95 {percentile(cpus, 0.95):.0f} ms, "
        f"{size / 1024:.1f} KB HTML (load {load})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
