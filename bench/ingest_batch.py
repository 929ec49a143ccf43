"""One ingest worker's batch, profiled: SQL statements and CPU per batch, without MQTT.

    python bench/ingest_batch.py --db postgres              # 127.0.0.1:5432, user postgres
    python bench/ingest_batch.py --db sqlite --profile 25   # and cProfile's top 25 by own time

It builds the database of ``bench/ingest.py`` (``--devices`` people, each with consent, a phone
and a 300 m circular zone; a temporary WANGGE_DATA_DIR, on PostgreSQL a database
``wangge_bench_ingest_batch`` dropped afterwards), then, in this one process, does what a
worker's storing thread does with what the broker delivered: parse ``--batch`` OwnTracks
messages and ``ingest()`` them, for ``--batches`` batches. The phones report in rounds, one
message per phone per round in a shuffled order, at home (inside their zone, with GPS jitter)
except ``--outside`` of them, as in ``bench/ingest.py``'s MQTT part.

Reported:
- the statements of one batch (after a warm-up batch), as the database received them, with
  Django's ``CaptureQueriesContext`` (the ingest's raw psycopg cursors record theirs too);
- per message: wall time, this process's CPU (parse and ingest apart) and, on PostgreSQL, the
  server's CPU for this process's connection;
- with ``--profile N``: cProfile over all the batches, the top N functions by own time.

What it leaves out, on purpose: the MQTT socket and acknowledgements (``bench/ingest.py``
measures them) and a second worker contending for locks. Run it on a quiet machine.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import io
import json
import os
import pstats
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("WANGGE_BENCH_PG_NAME", "wangge_bench_ingest_batch")

import ingest as bench  # bench/ingest.py: the same database and messages


def batches(devices: int, batch: int, count: int, outside: int, start: int) -> list[list[tuple[str, bytes]]]:
    """``count`` batches of messages, one per phone per round, rounds one second apart."""
    rng = random.Random(7)
    far = set(rng.sample(range(devices), min(outside, devices)))
    order = list(range(devices))
    out: list[list[tuple[str, bytes]]] = []
    messages: list[tuple[str, bytes]] = []
    tst = start
    while len(out) < count:
        rng.shuffle(order)
        for i in order:
            messages.append((f"bench{i:07d}", bench.owntracks(i, tst, outside=i in far)))
            if len(messages) == batch:
                out.append(messages)
                messages = []
                if len(out) == count:
                    break
        tst += 1
    return out


def parse(messages: list[tuple[str, bytes]], now: dt.datetime) -> list:
    """As the worker parses (``IngestWorker.parse``): orjson, then the protocol's checks."""
    import orjson

    from wangge.protection.protocols import parse_owntracks

    return [
        parse_owntracks(orjson.loads(payload), user=identifier, device="phone", source="owntracks_mqtt", now=now)
        for identifier, payload in messages
    ]


def server_cpu_seconds() -> float:
    """CPU of this process's PostgreSQL backend so far (Linux /proc, same machine)."""
    return bench.cpu_seconds(backend_pid())


def backend_pid() -> int:
    from django.db import connection

    connection.ensure_connection()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (pid,) = cursor.fetchone()
    return int(pid)


def backend_cpu_ns(pid: int) -> int:
    """Time on CPU of a process so far, in nanoseconds (``/proc/<pid>/schedstat``)."""
    return int(Path(f"/proc/{pid}/schedstat").read_text().split()[0])


STATEMENT_KINDS = (
    ("SET LOCAL", "set"),
    ("SELECT o.identifier", "lock phones"),
    ("SELECT e.id", "people"),
    ("SELECT id, enrolment_id, updated_at", "zones"),
    ("SELECT enrolment_id, kind", "open alerts"),
    ("INSERT INTO", "insert locations"),
    ('UPDATE "protection_device"', "update phones"),
    ('UPDATE "protection_enrolment"', "update people"),
)


class StatementCosts:
    """The backend's CPU and the wall time of each kind of statement, by wrapping psycopg's
    ``execute`` and ``commit`` (Django's cursors and the ingest's raw ones are both psycopg
    cursors)."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.cpu: dict[str, int] = {}
        self.wall: dict[str, float] = {}
        self.calls: dict[str, int] = {}
        self.on = False

    def kind(self, query: object) -> str:
        text = str(query).lstrip()
        for prefix, name in STATEMENT_KINDS:
            if text.startswith(prefix):
                return name
        return text[:40]

    def timed(self, name: str, call: object, *args: object, **kwargs: object) -> object:
        if not self.on:
            return call(*args, **kwargs)  # type: ignore[operator]
        cpu, wall = backend_cpu_ns(self.pid), time.perf_counter()
        try:
            return call(*args, **kwargs)  # type: ignore[operator]
        finally:
            self.wall[name] = self.wall.get(name, 0.0) + time.perf_counter() - wall
            self.cpu[name] = self.cpu.get(name, 0) + backend_cpu_ns(self.pid) - cpu
            self.calls[name] = self.calls.get(name, 0) + 1

    def install(self) -> None:
        import psycopg

        execute, commit, costs = psycopg.Cursor.execute, psycopg.Connection.commit, self

        def timed_execute(cursor: object, query: object, *args: object, **kwargs: object) -> object:
            return costs.timed(costs.kind(query), execute, cursor, query, *args, **kwargs)

        def timed_commit(conn: object) -> object:
            return costs.timed("commit", commit, conn)

        psycopg.Cursor.execute = timed_execute  # type: ignore[method-assign]
        psycopg.Connection.commit = timed_commit  # type: ignore[method-assign]

    def report(self, messages: int) -> None:
        print(f"per statement, µs a message (backend CPU / wall), {messages} messages:")
        for name in sorted(self.cpu, key=lambda n: -self.cpu[n]):
            print(
                f"  {self.cpu[name] / 1000 / messages:6.2f} / {self.wall[name] * 1e6 / messages:6.2f}"
                f"  {self.calls[name]:5d}×  {name}"
            )
        total = sum(self.cpu.values()) / 1000 / messages
        print(f"  {total:6.2f} / {sum(self.wall.values()) * 1e6 / messages:6.2f}  all")


def run(args: argparse.Namespace) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from wangge.protection.ingest import ingest
    from wangge.protection.models import Location

    if not args.default_gc:
        from wangge.ops.management.commands.worker import tune_gc

        tune_gc()  # as ``wangge worker`` does before it ingests
    start = int(time.time()) - 3600  # whole seconds in the past, as phones report them
    work = batches(args.devices, args.batch, args.batches + 1, args.outside, start)
    now = timezone.now()

    # A warm-up batch (zones compiled and cached, statements planned), then one counted.
    ingest(parse(work[0], now), now=now)
    with CaptureQueriesContext(connection) as queries:
        ingest(parse(work[1], now), now=now)
    print(f"statements in a batch of {args.batch}: {len(queries.captured_queries)}")
    for query in queries.captured_queries:
        sql = " ".join(query["sql"].split())
        print(f"  {float(query['time']) * 1000:7.2f} ms  {sql[:110]}")

    on_postgres = connection.vendor == "postgresql"
    costs = None
    if on_postgres:
        pid = backend_pid()
        # The backend works for this process: as nice as it is (``nice -n 15`` on a shared machine).
        os.setpriority(os.PRIO_PROCESS, pid, os.getpriority(os.PRIO_PROCESS, 0))
        if args.statements:
            costs = StatementCosts(pid)
            costs.install()
            costs.on = True
    server_before = server_cpu_seconds() if on_postgres else 0.0
    profiler = cProfile.Profile() if args.profile else None
    parse_cpu = ingest_cpu = 0.0
    wall = time.perf_counter()
    for messages in work[2:]:
        if profiler is not None:
            profiler.enable()
        t0 = time.process_time()
        fixes = parse(messages, now)
        t1 = time.process_time()
        ingest(fixes, now=now)
        t2 = time.process_time()
        if profiler is not None:
            profiler.disable()
        parse_cpu += t1 - t0
        ingest_cpu += t2 - t1
    wall = time.perf_counter() - wall
    if costs is not None:
        costs.on = False
    server = server_cpu_seconds() - server_before if on_postgres else float("nan")
    count = sum(len(messages) for messages in work[2:])
    assert Location.objects.count() == sum(len(messages) for messages in work)
    figures = {
        "db": connection.vendor,
        "batches": len(work) - 2,
        "messages": count,
        "load": os.getloadavg()[0],
        "msg_per_s": count / wall,
        "wall_us_per_msg": wall / count * 1e6,
        "parse_cpu_us_per_msg": parse_cpu / count * 1e6,
        "ingest_cpu_us_per_msg": ingest_cpu / count * 1e6,
        "server_cpu_us_per_msg": server / count * 1e6,
        "statements_per_batch": len(queries.captured_queries),
    }
    print("batch:", json.dumps(figures, default=lambda v: round(v, 1)))
    if costs is not None:
        costs.report(count)
    if profiler is not None:
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(args.profile)
        print(out.getvalue())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--devices", type=int, default=100_000)
    parser.add_argument(
        "--batch", type=int, default=1000, help="messages per batch (the worker takes what has arrived, up to 5,000)"
    )
    parser.add_argument("--batches", type=int, default=100)
    parser.add_argument("--outside", type=int, default=0, help="phones reporting from outside their zone")
    parser.add_argument("--profile", type=int, default=0, metavar="N", help="print cProfile's top N by own time")
    parser.add_argument("--reuse", action="store_true", help=bench.REUSE_HELP)
    parser.add_argument(
        "--statements",
        action="store_true",
        help="PostgreSQL: the backend's CPU and the wall time per kind of statement (adds ~0.1 µs a message)",
    )
    parser.add_argument(
        "--default-gc", action="store_true", help="leave Python's cycle collector at its defaults (the worker tunes it)"
    )
    args = parser.parse_args()
    data_dir = Path(tempfile.mkdtemp(prefix="wangge-bench-ingest-batch-"))
    try:
        started = time.time()
        bench.prepare(args.db, data_dir, args.devices, reuse=args.reuse)
        print(f"# {args.db}: built {args.devices} enrolled phones with zones in {time.time() - started:.0f} s")
        run(args)
    finally:
        if args.db == "postgres":
            bench.drop_postgres()
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
