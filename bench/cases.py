"""The case pages at a district's ten years of cases, on PostgreSQL: p50/p95 server time per page.

    python bench/cases.py --cases 1000000          # builds wangge_bench_cases_1000000, then drops it
    python bench/cases.py --cases 200000 --keep    # keep the database for another run
    nice -n 15 python bench/cases.py --build-only  # build (and keep) it outside the benchmark lock
    flock /work/team/bench.lock python bench/cases.py --reuse   # measure on the kept database

``--reuse`` keeps and reuses ``wangge_bench_cases_<n>`` when it holds at least ``--cases`` cases
(migrating it first, so new indexes are built); otherwise it builds it as usual.

A district of 8 streets, 48 communities and 240 grids gets ``--cases`` cases spread evenly over
ten years (newest first by id), written by one ``INSERT … SELECT generate_series`` each: the
last 90 days are open (some past their deadlines), older ones closed or declined, with merit,
resolution and satisfaction cycling; 2 % are marked repeats and 0.5 % cross-level. Then
VACUUM and ANALYZE, the ``CaseMonth`` rollup is rebuilt as the worker does every ten minutes
(timed), the start-up heap is frozen as the WSGI module does (``wangge.core.heap``), and each
role's pages are fetched ``--per-kind`` times with Django's test client in this process (server
time, no network): the lists (mine, overdue, all), a case's detail, the statistics page
(all years, and one year), its XLSX export and the statistics API. Cases have no timeline steps
or petitioners (a detail page reads those by case id, whatever the table size).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PG_SERVER = "postgres://postgres@127.0.0.1:5432"
STREETS, COMMUNITIES, GRIDS = 8, 6, 5  # per district, street, community


def loadavg() -> str:
    return " ".join(f"{v:.2f}" for v in os.getloadavg())


def existing_cases(name: str) -> int:
    """How many cases the kept database ``name`` holds (0 if there is none or it is unfinished)."""
    import psycopg

    try:
        with psycopg.connect(f"{PG_SERVER}/{name}") as conn:
            built = conn.execute("SELECT count(*) FROM cases_casemonthrefresh").fetchone()
            if not built or not built[0]:
                return 0
            row = conn.execute("SELECT count(*) FROM cases_case").fetchone()
            return int(row[0]) if row else 0
    except psycopg.Error:
        return 0


def configure(name: str, *, fresh: bool = True) -> None:
    import psycopg

    if fresh:
        with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name}")
            conn.execute(f"CREATE DATABASE {name}")
    os.environ["DATABASE_URL"] = f"{PG_SERVER}/{name}"
    os.environ["WANGGE_DATA_DIR"] = tempfile.mkdtemp(prefix="wangge-bench-cases-")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wangge.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def drop(name: str) -> None:
    import psycopg
    from django.db import connections

    connections.close_all()
    with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name}")


def build_world() -> dict[str, Any]:
    from wangge.accounts.models import AreaAssignment, Role, User
    from wangge.areas.models import Area
    from wangge.cases.models import Department

    district = Area.objects.create(name="立山区", level="district", code="210304")
    grids = []
    first: dict[str, Area] = {"district": district}
    for s in range(STREETS):
        street = Area.objects.create(name=f"街道{s + 1}", level="street", parent=district)
        first.setdefault("street", street)
        for c in range(COMMUNITIES):
            community = Area.objects.create(name=f"社区{s + 1}-{c + 1}", level="community", parent=street)
            first.setdefault("community", community)
            for g in range(GRIDS):
                grid = Area.objects.create(name=f"网格{s + 1}-{c + 1}-{g + 1}", level="grid", parent=community)
                first.setdefault("grid", grid)
                grids.append(grid)
    scopes = {
        Role.DISTRICT_ADMIN: "district",
        Role.STREET_STAFF: "street",
        Role.COMMUNITY_STAFF: "community",
        Role.GRID_WORKER: "grid",
        Role.PETITION_OFFICE: "district",
        Role.DEPARTMENT: "district",
    }
    users = {}
    for role, level in scopes.items():
        user = User.objects.create_user(username=str(role), password="x", role=role, full_name=str(role.label))
        AreaAssignment.objects.create(user=user, area=first[level])
        users[str(role)] = user
    Department.objects.get(code="civil-affairs").members.add(users[Role.DEPARTMENT])
    return {"grids": grids, "users": users}


def insert_cases(n: int, office_id: int) -> float:
    """All cases in one statement: grid i mod 240, category i mod 10, one every 10 years / n."""
    from django.db import connection

    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(
            """
            CREATE TEMP TABLE g AS SELECT row_number() OVER (ORDER BY id) - 1 AS k, id, community_id,
                street_id, district_id FROM areas_area WHERE level = 'grid';
            CREATE TEMP TABLE c AS SELECT row_number() OVER (ORDER BY id) - 1 AS k, id, kind, department_id,
                COALESCE(respond_hours, 360) AS hours FROM cases_category;
            """
        )
        cursor.execute("SELECT count(*) FROM g")
        grids = cursor.fetchone()[0]
        cursor.execute("SELECT count(*) FROM c")
        categories = cursor.fetchone()[0]
        # Columns other helpers may add (NOT NULL, no default) get an empty value of their type.
        cursor.execute(
            """SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'cases_case'
               AND is_nullable = 'NO' AND column_default IS NULL AND is_identity = 'NO'"""
        )
        known = {
            "kind", "text", "channel", "status", "contact_name", "contact_phone", "collective_count",
            "received_at", "accept_due", "extension_days", "visit_exempt_reason", "merit", "resolution",
            "satisfaction", "community_id", "district_id", "street_id", "category_id", "address",
        }  # fmt: skip
        empty = {"boolean": "false", "integer": "0", "bigint": "0", "jsonb": "'{}'"}
        extra = {name: empty.get(kind, "''") for name, kind in cursor.fetchall() if name not in known}
        span = 10 * 365 * 86400 / n
        cursor.execute(
            f"""
            INSERT INTO cases_case (kind, text, channel, status, contact_name, contact_phone, collective_count,
                received_at, accept_due, accepted_at, handle_due, extension_days, visited_at, visit_exempt_reason,
                replied_at, merit, resolution, resolved_at, verified_at, satisfaction, closed_at,
                community_id, district_id, grid_id, street_id, category_id, lead_department_id, received_by_id,
                address{"".join(", " + name for name in extra)})
            SELECT c.kind, '反映问题 ' || x.i, 'walk_in', x.status, '', '', 1,
                x.at, x.at + make_interval(hours => c.hours),
                CASE WHEN x.status IN ('accepted', 'closed') THEN x.at + interval '2 days' END,
                CASE WHEN x.status IN ('accepted', 'closed') THEN x.at + interval '62 days' END,
                0, CASE WHEN x.status = 'closed' THEN x.at + interval '5 days' END, '',
                CASE WHEN x.status = 'closed' AND c.kind = 'petition' THEN x.at + interval '20 days' END,
                CASE WHEN x.status = 'closed' AND c.kind = 'petition'
                     THEN (ARRAY['reasonable','partly','unreasonable','unreasonable'])[x.i %% 4 + 1] ELSE '' END,
                CASE WHEN x.status = 'closed' THEN (ARRAY['solved','solved','solved','solved','solved','solved',
                     'solved','partly','not_solved','declined'])[x.i %% 10 + 1] ELSE '' END,
                CASE WHEN x.status = 'closed' THEN x.at + interval '25 days' END,
                CASE WHEN x.status = 'closed' THEN x.at + interval '28 days' END,
                CASE WHEN x.status = 'closed'
                     THEN (ARRAY['satisfied','basically','','dissatisfied'])[x.i %% 4 + 1] ELSE '' END,
                CASE WHEN x.status IN ('closed', 'declined') THEN x.at + interval '30 days' END,
                g.community_id, g.district_id, g.id, g.street_id, c.id, c.department_id, %s,
                ''{"".join(", " + value for value in extra.values())}
            FROM (SELECT i, now() - make_interval(secs => i * {span}) AS at,
                         CASE WHEN i * {span} < 90 * 86400
                              THEN (ARRAY['received','accepted','accepted'])[i %% 3 + 1]
                              WHEN i %% 20 = 0 THEN 'declined' ELSE 'closed' END AS status
                  FROM generate_series(1, %s) AS i) AS x
            JOIN g ON g.k = x.i %% {grids}
            JOIN c ON c.k = (x.i / {grids}) %% {categories}
            ORDER BY x.i DESC
            """,
            [office_id, n],
        )
        # Repeats: every 50th case repeats the case 240 before it (same grid); 0.5 % cross-level.
        cursor.execute(
            """
            INSERT INTO cases_repeatmark (case_id, earlier_id, similarity, by_id, at, note)
            SELECT c.id, e.id, 0.8, %s, c.received_at, '' FROM cases_case c
            JOIN cases_case e ON e.id = c.id - %s WHERE c.id %% 50 = 0
            """,
            [office_id, grids * categories],
        )
        cursor.execute(
            """
            INSERT INTO cases_crosslevelmark (case_id, level, by_id, at, note)
            SELECT id, 'city', %s, received_at, '' FROM cases_case WHERE id %% 200 = 0 AND kind = 'petition'
            """,
            [office_id],
        )
        # VACUUM too, not only ANALYZE: a million inserted rows are due for autovacuum, which would
        # otherwise run (at normal priority) during a later --reuse measurement; and a vacuumed
        # table's visibility map lets PostgreSQL answer counts from an index alone.
        cursor.execute("VACUUM (ANALYZE)")
    return time.perf_counter() - started


def timed(client: Any, url: str, times: int) -> tuple[list[float], int, int]:
    out = []
    status = size = 0
    client.get(url)  # warm
    for _ in range(times):
        started = time.perf_counter()
        response = client.get(url)
        body = response.content
        out.append((time.perf_counter() - started) * 1000)
        status, size = response.status_code, len(body)
    return out, status, size


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, round(0.95 * len(ordered)) - 1)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--per-kind", type=int, default=20)
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database")
    parser.add_argument(
        "--reuse", action="store_true", help="reuse the kept database if it has the cases (implies --keep)"
    )
    parser.add_argument("--build-only", action="store_true", help="build the database, keep it, measure nothing")
    args = parser.parse_args()
    name = f"wangge_bench_cases_{args.cases}"
    print(f"load before: {loadavg()}", flush=True)
    args.reused = args.reuse and existing_cases(name) >= args.cases
    args.keep = args.keep or args.reuse or args.build_only
    if args.reuse:
        print(f"reusing {name}" if args.reused else f"no complete {name} to reuse: building it", flush=True)
    configure(name, fresh=not args.reused)
    try:
        run(args)
    finally:
        if not args.keep:
            drop(name)
            print(f"dropped {name}")
    print(f"load after: {loadavg()}", flush=True)


def run(args: argparse.Namespace) -> None:
    from django.core.management import call_command
    from django.test import Client
    from django.test.utils import setup_test_environment

    from wangge.accounts.models import Role
    from wangge.cases import queries
    from wangge.cases import stats as case_stats
    from wangge.cases.models import Case

    setup_test_environment()  # the test client's response.templates etc.; no test database
    from wangge.accounts.models import User

    roles = (
        Role.DISTRICT_ADMIN,
        Role.STREET_STAFF,
        Role.COMMUNITY_STAFF,
        Role.GRID_WORKER,
        Role.PETITION_OFFICE,
        Role.DEPARTMENT,
    )
    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    print(f"migrate: {time.perf_counter() - started:.1f} s", flush=True)
    if args.reused:
        users = {user.username: user for user in User.objects.filter(username__in=[str(role) for role in roles])}
        # Bring the rollup up to date with the previous run's extra cases, as the job would.
        started = time.perf_counter()
        rows = case_stats.refresh()
        print(f"rollup (incremental) {rows:,} rows in {time.perf_counter() - started:.2f} s", flush=True)
    else:
        world = build_world()
        users = world["users"]
        took = insert_cases(args.cases, users[Role.PETITION_OFFICE].pk)
        print(f"insert {args.cases:,} cases + marks + ANALYZE: {took:.1f} s (load {loadavg()})", flush=True)
        started = time.perf_counter()
        rows = case_stats.refresh()
        print(f"rollup cases.monthly_counts: {rows:,} rows in {time.perf_counter() - started:.2f} s", flush=True)
    if args.build_only:
        return
    # As the WSGI module does in each server process (wangge.core.heap): without it, a full
    # collection of the ~320,000 start-up objects (~125 ms) lands inside some timed request.
    from wangge.core.heap import freeze_startup

    freeze_startup()

    year = "date_from=2025-01-01&date_to=2025-12-31"
    print(f"\n{'role':<16} {'page':<22} {'p50 ms':>8} {'p95 ms':>8} {'status':>6} {'bytes':>9}")
    worst = 0.0
    for role in roles:
        user = users[str(role)]
        client = Client()
        client.force_login(user)
        visible = queries.cases_visible_to(user).order_by("-received_at").values_list("pk", flat=True)[:1]
        pages = {
            "list mine": "/cases/?tab=mine",
            "list overdue": "/cases/?tab=overdue",
            "list due": "/cases/?tab=due",
            "list all": "/cases/?tab=all",
            "stats (all years)": "/cases/stats/",
            "stats (one year)": f"/cases/stats/?{year}",
            "stats export xlsx": f"/cases/stats/export.xlsx?{year}",
            "stats API": "/api/v1/cases/stats/",
        }
        if visible:
            pages["detail"] = f"/cases/{visible[0]}/"
        for label, url in pages.items():
            times, status, size = timed(client, url, args.per_kind)
            worst = max(worst, p95(times))
            print(
                f"{role!s:<16} {label:<22} {statistics.median(times):8.1f} {p95(times):8.1f} {status:>6} {size:>9,}",
                flush=True,
            )
    print(f"\nworst p95: {worst:.1f} ms; cases in table: {Case.objects.count():,}; load {loadavg()}")
    # The job's usual run: a few hundred cases received since the last one.
    from wangge.areas.models import Area
    from wangge.cases import actions
    from wangge.cases.models import Category

    grid = Area.objects.filter(level="grid").first()
    facilities = Category.objects.get(code="facilities")
    for index in range(300):
        actions.case_receive(
            by=users[Role.PETITION_OFFICE], category=facilities, text=f"路灯坏了 {index}", channel="phone", area=grid
        )
    started = time.perf_counter()
    rows = case_stats.refresh()
    took = time.perf_counter() - started
    print(f"rollup after 300 new cases (incremental): {rows:,} month rows in {took:.2f} s; load {loadavg()}")


if __name__ == "__main__":
    main()
