"""Every page kind at full district scale, as every role: p50/p95 wall and CPU time, sizes, any 5xx.

    python bench/pages.py --db sqlite                     # builds or reuses the 520,000 demo
    python bench/pages.py --db postgres                   # 127.0.0.1:5432, user postgres
    python bench/pages.py --residents 12000 --per-kind 5  # a quick look

The demo is built with ``wangge demo --residents N`` into a kept data directory
(``--data-dir``, default ``/var/tmp/wangge-bench-pages-N``; on PostgreSQL the database
``wangge_bench_pages_N``) and reused by later runs when it holds that many residents (within 1%)
(``--rebuild`` forces a new one). Planner statistics are refreshed (ANALYZE) after a build.

Each demo account is signed in with Django's test client in this process and crawled with
``wangge.demo.crawl`` (every URL pattern without parameters, then the links of each page): one
unrecorded pass warms caches (after ANALYZE and a refresh of the per-area rollups, which the worker
otherwise does every five minutes), then each page kind is visited ``--per-kind`` times. Area pages are
told apart by level (``/areas/<district>/`` is the district's page). Times are server time as
the test client sees it (no network, no browser); kinds with fewer URLs than ``--per-kind`` are
visited again. The street and district division previews the crawl queued are then run as the
worker runs them, and timed; CPU time is this process's, which a shared
machine's load does not inflate the way it inflates wall time.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PG_SERVER = "postgres://postgres@127.0.0.1:5432"


def loadavg() -> str:
    try:
        return " ".join(f"{v:.2f}" for v in os.getloadavg())
    except OSError:
        return "?"


def configure(db: str, data_dir: Path, residents: int, pg_name: str) -> dict[str, str]:
    """Environment for this process and for ``wangge demo``: the kept data dir and database."""
    data_dir.mkdir(parents=True, exist_ok=True)
    os.environ["WANGGE_DATA_DIR"] = str(data_dir)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wangge.settings")
    if db == "postgres":
        import psycopg

        with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as conn:
            if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [pg_name]).fetchone():
                conn.execute(f"CREATE DATABASE {pg_name}")
        os.environ["DATABASE_URL"] = f"{PG_SERVER}/{pg_name}"
    else:
        os.environ.pop("DATABASE_URL", None)
    return dict(os.environ)


def demo_residents() -> int:
    from django.db import DatabaseError

    from wangge.registry.models import Resident

    try:
        return Resident.objects.count()
    except DatabaseError:
        return -1


def build(residents: int, env: dict[str, str]) -> float:
    started = time.perf_counter()
    command = [sys.executable, "-m", "wangge", "demo", "--residents", str(residents), "--force", "-v", "2"]
    print("$", " ".join(command[1:]), flush=True)
    subprocess.run(command, env=env, check=True, cwd=ROOT)
    return time.perf_counter() - started


def analyze() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE" if connection.vendor == "postgresql" else "ANALYZE")


def report(results: list[Any]) -> list[str]:
    from wangge.demo.crawl import percentile

    lines = [
        f"{'role':<16} {'page kind':<44} {'n':>3} {'status':<11} "
        f"{'wall p50':>8} {'p95':>7} {'cpu p50':>8} {'p95':>7} {'KB max':>7}"
    ]
    for result in results:
        for kind, visits in sorted(result.by_kind().items()):
            wall = [v.wall_ms for v in visits]
            cpu = [v.cpu_ms for v in visits]
            statuses = ",".join(str(s) for s in sorted({v.status for v in visits}))
            lines.append(
                f"{result.user:<16} {kind[:44]:<44} {len(visits):>3} {statuses:<11} "
                f"{percentile(wall, 0.5):>8.0f} {percentile(wall, 0.95):>7.0f} "
                f"{percentile(cpu, 0.5):>8.0f} {percentile(cpu, 0.95):>7.0f} "
                f"{max(v.size for v in visits) / 1024:>7.0f}"
            )
    streams = [(r.user, v) for r in results for v in r.visits if v.first_mb_ms is not None]
    if streams:
        lines.append("streamed exports: the figures above are to the first byte; to the first megabyte:")
        by_kind: dict[tuple[str, str], list[float]] = {}
        for user, visit in streams:
            by_kind.setdefault((user, visit.kind), []).append(visit.first_mb_ms or 0.0)
        for (user, kind), times in sorted(by_kind.items()):
            lines.append(
                f"{user:<16} {kind[:44]:<44} {len(times):>3} "
                f"first MB p50 {percentile(times, 0.5):.0f} ms, p95 {percentile(times, 0.95):.0f} ms"
            )
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--residents", type=int, default=520_000)
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--rebuild", action="store_true", help="build the demo even if a kept one fits")
    parser.add_argument("--per-kind", type=int, default=10, help="visits per page kind and role")
    parser.add_argument("--roles", default="", help="comma-separated demo usernames (default: all)")
    parser.add_argument("--pg-name", default=None, help="PostgreSQL database (default: wangge_bench_pages_N)")
    args = parser.parse_args(argv)

    data_dir = args.data_dir or Path(f"/var/tmp/wangge-bench-pages-{args.residents}-{args.db}")
    pg_name = args.pg_name or f"wangge_bench_pages_{args.residents}"
    env = configure(args.db, data_dir, args.residents, pg_name)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.db import connections

    print(f"machine: {platform.node()} {platform.machine()} {os.cpu_count()} cpus, python {platform.python_version()}")
    print(f"database: {args.db} ({data_dir if args.db == 'sqlite' else pg_name}); load average {loadavg()}")
    have = demo_residents()
    if args.rebuild or have < 0 or abs(have - args.residents) > args.residents // 100:
        connections.close_all()
        seconds = build(args.residents, env)
        print(f"built the demo with {args.residents} residents in {seconds:.0f} s; load average {loadavg()}")
    else:
        print(f"reusing the kept demo ({have} residents)")
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)  # a kept database may predate a migration
    started = time.perf_counter()
    analyze()
    print(f"ANALYZE took {time.perf_counter() - started:.1f} s")
    from wangge.registry import rollups
    from wangge.worklist import rollups as worklist_rollups

    started = time.perf_counter()
    rows = rollups.refresh()
    print(
        f"rollups refreshed ({rows} areas) in {time.perf_counter() - started:.1f} s, as the worker does every "
        f"{rollups.EVERY} s"
    )
    started, cpu = time.perf_counter(), time.process_time()
    rows = worklist_rollups.refresh()
    print(
        f"visit coverage refreshed ({rows} areas) in {time.perf_counter() - started:.1f} s wall, "
        f"{time.process_time() - cpu:.1f} s CPU, as the worker does every {worklist_rollups.EVERY} s"
    )

    from django.test import Client

    from wangge.accounts.models import User
    from wangge.areas.models import Area
    from wangge.demo import accounts as demo_accounts
    from wangge.demo.crawl import area_kinds, crawl, revisit

    classify = area_kinds(dict(Area.objects.values_list("pk", "level")))
    usernames = [u for u in args.roles.split(",") if u] or list(demo_accounts.SHOWCASE)
    results = []
    crawl_started, cpu_started = time.perf_counter(), time.process_time()
    for username in usernames:
        client = Client()
        client.force_login(User.objects.get(username=username))
        crawl(client, user=username, per_kind=1, classify=classify)  # warm caches, not recorded
        result = crawl(client, user=username, per_kind=args.per_kind, classify=classify)
        revisit(client, result, per_kind=args.per_kind)
        results.append(result)
        print(f"  {username}: {len(result.visits)} requests, load average {loadavg()}", flush=True)
    print()
    for line in report(results):
        print(line)
    from wangge.core.models import Task
    from wangge.core.tasks import run_queued

    # the street and district previews the crawl queued, computed as the worker would
    queued = Task.objects.filter(status=Task.Status.QUEUED, kind="division.preview").count()
    started, cpu = time.perf_counter(), time.process_time()
    ran = run_queued(worker="bench")
    if ran:
        print(
            f"worker: {ran} division previews (of {queued} queued) in {time.perf_counter() - started:.1f} s wall, "
            f"{time.process_time() - cpu:.1f} s CPU; load average {loadavg()}"
        )
    failed = Task.objects.filter(kind="division.preview").exclude(status=Task.Status.DONE).count()
    if failed:
        print(f"worker: {failed} division previews did not finish")
    failures = [(r.user, v) for r in results for v in r.failures]
    visits = sum(len(r.visits) for r in results)
    print()
    print(
        f"{visits} requests in {time.perf_counter() - crawl_started:.0f} s wall, "
        f"{time.process_time() - cpu_started:.0f} s CPU; load average {loadavg()}"
    )
    print(f"5xx: {len(failures)}")
    for user, visit in failures:
        print(f"  {user} {visit.url} {visit.status} {visit.error}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
