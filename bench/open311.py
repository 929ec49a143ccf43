"""Open311 GeoReport v2 under gunicorn: GET requests.json p50/p95 over a large case table, and
POST requests.json throughput with the CPU each POST costs the web workers (issue 13).

    python bench/open311.py --db postgres                      # 1,000,000 cases (built once, kept)
    python bench/open311.py --db sqlite --cases 100000 --posts 1000

The cases are written once into a kept data directory (``/var/tmp/wangge-bench-open311``; on
PostgreSQL the database ``wangge_bench_open311``) and reused when the table holds that many;
received over the last 365 days in all ten shipped categories, so the default 90-day window of a
GET holds ~250,000 cases of which 1,000 are answered. ``wangge serve`` starts gunicorn on a free
port with its own options and access log (2 workers of 4 threads by default; ``--threads 1`` for
sync workers); ``--concurrency`` client threads send the requests over keep-alive HTTP
connections (http.client: ~0.3 ms of CPU a call against ``requests``' ~1 ms, measured at nice 15), or with
``--client wrk`` Debian's wrk sends the POSTs for ``--seconds`` (C, one thread; a Lua script
makes each body and counts every answer's status). CPU per POST
is the gunicorn workers' user+system time (from /proc) over the POST phase divided by the POSTs;
the PostgreSQL backends' and this client process's own CPU are printed beside it. Load average is
printed before and after: prefix the command with /tmp/quietrun.sh on a shared machine.
"""

from __future__ import annotations

import argparse
import os
import random
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
from pathlib import Path
from typing import Any

import orjson

ROOT = Path(__file__).resolve().parents[1]
PG_SERVER = "postgres://postgres@127.0.0.1:5432"
PG_NAME = "wangge_bench_open311"


def loadavg() -> str:
    return " ".join(f"{v:.2f}" for v in os.getloadavg())


def configure(db: str, data_dir: Path) -> dict[str, str]:
    data_dir.mkdir(parents=True, exist_ok=True)
    os.environ["WANGGE_DATA_DIR"] = str(data_dir)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wangge.settings")
    if db == "postgres":
        import psycopg

        with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as conn:
            if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [PG_NAME]).fetchone():
                conn.execute(f"CREATE DATABASE {PG_NAME}")
        os.environ["DATABASE_URL"] = f"{PG_SERVER}/{PG_NAME}"
    else:
        os.environ.pop("DATABASE_URL", None)
    return dict(os.environ)


def square(lon: float, lat: float, size: float) -> dict[str, Any]:
    ring = [[lon, lat], [lon + size, lat], [lon + size, lat + size], [lon, lat + size], [lon, lat]]
    return {"type": "Polygon", "coordinates": [ring]}


def build(cases: int) -> None:
    """A district of 16 grids, and ``cases`` cases spread over the last year."""
    import datetime as dt

    from django.db import connection
    from django.utils import timezone

    from wangge.areas.models import Area
    from wangge.cases.models import Case, Category

    if not Area.objects.filter(level="grid").exists():
        district = Area.objects.create(
            name="立山区", level="district", boundary=square(122.9, 41.1, 0.2), code="210304"
        )
        street = Area.objects.create(
            name="友好街道", level="street", parent=district, boundary=square(122.9, 41.1, 0.2)
        )
        community = Area.objects.create(
            name="灵西社区", level="community", parent=street, boundary=square(122.9, 41.1, 0.2)
        )
        for i in range(16):
            Area.objects.create(
                name=f"第{i + 1}网格",
                level="grid",
                parent=community,
                boundary=square(122.9 + 0.05 * (i % 4), 41.1 + 0.05 * (i // 4), 0.05),
            )
    grids = list(Area.objects.filter(level="grid"))
    categories = list(Category.objects.all())
    have = Case.objects.count()
    if have >= cases * 0.99:
        print(f"reusing {have} cases", flush=True)
        return
    rng = random.Random(13)
    now = timezone.now()
    started = time.perf_counter()
    statuses = ["received", "accepted", "closed", "closed", "declined"]
    for offset in range(have, cases, 10_000):
        batch = []
        for _ in range(min(10_000, cases - offset)):
            grid, category = rng.choice(grids), rng.choice(categories)
            received = now - dt.timedelta(seconds=rng.randrange(365 * 86400))
            case = Case(
                kind=category.kind,
                category=category,
                text="楼道灯坏了",
                channel=rng.choice(["field", "phone", "open311", "web"]),
                status=rng.choice(statuses),
                received_at=received,
                accept_due=received + dt.timedelta(days=1),
                lat=41.12,
                lon=122.93,
                address="3号楼",
                grid_id=grid.pk,
                community_id=grid.community_id,
                street_id=grid.street_id,
                district_id=grid.district_id,
            )
            batch.append(case)
        Case.objects.bulk_create(batch, batch_size=2000)
        print(f"  {offset + len(batch)} cases, {time.perf_counter() - started:.0f} s", flush=True)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cpu_of(match: Any) -> float:
    """User+system seconds of the processes whose (pid, parent pid) ``match`` accepts."""
    total = 0.0
    tick = os.sysconf("SC_CLK_TCK")
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if match(int(entry.name), int(fields[1])):
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def children_cpu(pid: int) -> float:
    """The gunicorn workers (children of the master)."""
    return cpu_of(lambda _pid, parent: parent == pid)


def backends(db: str) -> set[int]:
    """PostgreSQL backends serving the benchmark database (the workers keep theirs: CONN_MAX_AGE)."""
    if db != "postgres":
        return set()
    import psycopg

    with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as conn:
        rows = conn.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s", [PG_NAME]).fetchall()
    return {int(row[0]) for row in rows}


class Connection:
    """One keep-alive HTTP/1.1 connection (http.client): a third of ``requests``' CPU per call,
    which matters when the client shares the two cores with the server."""

    def __init__(self, host: str, port: int) -> None:
        import http.client

        self.make = lambda: http.client.HTTPConnection(host, port, timeout=60)
        self.conn = self.make()

    def send(self, method: str, path: str, body: bytes | None = None) -> tuple[int, bytes]:
        headers = {"Content-Type": "application/x-www-form-urlencoded"} if body is not None else {}
        for attempt in (0, 1):
            try:
                self.conn.request(method, path, body=body, headers=headers)
                response = self.conn.getresponse()
                return response.status, response.read()
            except (ConnectionError, OSError):  # the server closed an idle keep-alive connection
                self.conn.close()
                self.conn = self.make()
                if attempt:
                    raise
        raise AssertionError("unreachable")


def hammer(send: Any, total: int, concurrency: int, port: int) -> tuple[list[float], list[int], float]:
    latencies: list[float] = []
    codes: list[int] = []
    lock = threading.Lock()
    counter = iter(range(total))

    def run() -> None:
        connection = Connection("127.0.0.1", port)
        while True:
            with lock:
                if next(counter, None) is None:
                    return
            t0 = time.perf_counter()
            status = send(connection)
            elapsed = time.perf_counter() - t0
            with lock:
                latencies.append(elapsed)
                codes.append(status)

    threads = [threading.Thread(target=run) for _ in range(concurrency)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return latencies, codes, time.perf_counter() - started


# wrk's POSTs: a fresh point in the district for each, every answer's status counted (a thread's
# counters are collected in done()); latencies in microseconds.
WRK_SCRIPT = """
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args)
  ok, bad = 0, 0
  math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16))
end
request = function()
  local body = string.format(
    "api_key=%s&service_code=facilities&lat=%.5f&long=%.5f&description=%s&phone=13912345678",
    os.getenv("OPEN311_KEY"), 41.11 + math.random() * 0.18, 122.91 + math.random() * 0.18,
    "%E8%B7%AF%E7%81%AF%E5%9D%8F%E4%BA%86")
  return wrk.format("POST", "/open311/v2/requests.json",
    {["Content-Type"] = "application/x-www-form-urlencoded"}, body)
end
function response(status, headers, body)
  if status == 200 then ok = ok + 1 else bad = bad + 1 end
end
function done(summary, latency, requests)
  local o, b = 0, 0
  for _, t in ipairs(threads) do o = o + t:get("ok"); b = b + t:get("bad") end
  local e = summary.errors
  io.write(string.format("RESULT %d %d %d %.3f %.3f %.3f %d\\n", o, b, summary.duration,
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000,
    e.connect + e.read + e.write + e.timeout))
end
"""


def wrk_posts(port: int, key: str, seconds: int, concurrency: int, data_dir: Path) -> dict[str, float]:
    """POSTs by wrk (C, one thread) for ``seconds``; its own CPU from the child's rusage."""
    import resource

    script = data_dir / "post.lua"
    script.write_text(WRK_SCRIPT)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(
        [
            "wrk",
            "-t1",
            f"-c{concurrency}",
            f"-d{seconds}s",
            "--timeout",
            "60s",
            "-s",
            str(script),
            f"http://127.0.0.1:{port}/open311/v2/requests.json",
        ],
        env={**os.environ, "OPEN311_KEY": key},
        capture_output=True,
        text=True,
        check=True,
    )
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    line = next(x for x in done.stdout.splitlines() if x.startswith("RESULT "))
    ok, bad, micros, p50, p95, p99, errors = line.split()[1:]
    return {
        "ok": int(ok),
        "bad": int(bad),
        "errors": int(errors),
        "wall": int(micros) / 1e6,
        "p50": float(p50),
        "p95": float(p95),
        "p99": float(p99),
        "client": (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime),
    }


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))] * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="postgres")
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--data-dir", type=Path, default=Path("/var/tmp/wangge-bench-open311"))
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (wangge serve: 2)")
    parser.add_argument("--threads", type=int, default=4, help="threads per worker (wangge serve: 4; 1 = sync)")
    parser.add_argument("--gets", type=int, default=200)
    parser.add_argument("--get-concurrency", type=int, default=1)
    parser.add_argument("--posts", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=8, help="client threads for the POSTs")
    parser.add_argument(
        "--client",
        choices=["http", "wrk"],
        default="http",
        help="POST load generator: http.client keep-alive threads (--posts), or wrk (Debian's, --seconds)",
    )
    parser.add_argument("--seconds", type=int, default=15, help="how long wrk POSTs")
    parser.add_argument("--build-only", action="store_true", help="write the cases and stop")
    args = parser.parse_args()

    data_dir = args.data_dir if args.db == "postgres" else args.data_dir.with_name(args.data_dir.name + "-sqlite")
    env = configure(args.db, data_dir)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    build(args.cases)
    if args.build_only:
        return 0
    from wangge.open311 import actions
    from wangge.open311.models import ClientApp

    ClientApp.objects.filter(name="bench").delete()
    _app, key = actions.client_app_create(name=f"bench-{time.time():.0f}", per_minute=10**9)
    from django.db import connection

    connection.close()

    port = free_port()
    print(f"load before: {loadavg()}", flush=True)
    # As an operator runs it: ``wangge serve`` (gunicorn with its options, the access log on;
    # the log goes to /dev/null here, its formatting is still paid).
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "wangge",
            "serve",
            "--no-migrate",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(args.workers),
            "--threads",
            str(args.threads),
        ],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
    )
    base = "/open311/v2"
    try:
        for _ in range(600):  # collectstatic first
            try:
                Connection("127.0.0.1", port).send("GET", f"{base}/services.json")
                break
            except OSError:
                time.sleep(0.2)
        # warm every worker: tree of grids, categories, connection
        for _ in range(args.workers * 4):
            Connection("127.0.0.1", port).send("GET", f"{base}/requests.json")

        sizes: list[int] = []

        def get(connection: Connection) -> int:
            status, body = connection.send("GET", f"{base}/requests.json")
            sizes.append(len(orjson.loads(body)) if status == 200 else 0)
            return status

        latencies, codes, _wall = hammer(get, args.gets, args.get_concurrency, port)
        print(
            f"GET requests.json x{args.gets} (c={args.get_concurrency}): p50 {pct(latencies, 50):.1f} ms, "
            f"p95 {pct(latencies, 95):.1f} ms, results {min(sizes)}-{max(sizes)}, "
            f"non-200 {sum(c != 200 for c in codes)}",
            flush=True,
        )

        def post(connection: Connection) -> int:
            body = urllib.parse.urlencode(
                {
                    "api_key": key,
                    "service_code": "facilities",
                    "lat": f"{41.11 + random.random() * 0.18:.5f}",
                    "long": f"{122.91 + random.random() * 0.18:.5f}",
                    "description": "路灯坏了",
                    "phone": "13912345678",
                }
            ).encode()
            return connection.send("POST", f"{base}/requests.json", body)[0]

        before = {pid: cpu_of(lambda p, _parent, pid=pid: p == pid) for pid in backends(args.db)}
        cpu0, own0 = children_cpu(server.pid), time.process_time()
        if args.client == "wrk":
            result = wrk_posts(port, key, args.seconds, args.concurrency, data_dir)
            posts, wall, own = result["ok"] + result["bad"], result["wall"], result["client"]
            p50, p95, bad = result["p50"], result["p95"], result["bad"] + result["errors"]
        else:
            latencies, codes, wall = hammer(post, args.posts, args.concurrency, port)
            posts, own = args.posts, time.process_time() - own0
            p50, p95, bad = pct(latencies, 50), pct(latencies, 95), sum(c != 200 for c in codes)
        cpu = children_cpu(server.pid) - cpu0
        # per backend (one that appeared during the run counts from zero; one that left is lost)
        db_cpu = sum(cpu_of(lambda p, _parent, pid=pid: p == pid) - before.get(pid, 0.0) for pid in backends(args.db))
        print(
            f"POST requests.json x{posts} ({args.client}, c={args.concurrency}, {args.workers} workers"
            f" x {args.threads} threads): "
            f"{posts / wall:.0f} req/s, p50 {p50:.1f} ms, p95 {p95:.1f} ms, "
            f"worker CPU {cpu / posts * 1000:.2f} ms/POST, PostgreSQL backends {db_cpu / posts * 1000:.2f}"
            f" ms/POST, client {own / posts * 1000:.2f} ms/POST, non-200 or failed {bad}",
            flush=True,
        )
    finally:
        server.terminate()
        server.wait(timeout=30)
    print(f"load after: {loadavg()}  ({args.db}, {os.cpu_count()} cores)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
