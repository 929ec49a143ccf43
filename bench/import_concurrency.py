"""Location fixes while a long import runs: OwnTracks HTTP latency during an import in the worker.

    python bench/import_concurrency.py --db sqlite   --residents 100000
    python bench/import_concurrency.py --db postgres --residents 100000   # 127.0.0.1:5432, user postgres

It builds its own database (a temporary WANGGE_DATA_DIR; on PostgreSQL a database
``wangge_bench_import_concurrency`` dropped afterwards) with ``--devices`` enrolled phones
(bench/ingest.py's ``build``), writes a CSV of ``--residents`` residents
(bench/import_residents.py's generator, all in one community), queues it as the upload page does
(``registry.imports.import_enqueue``) and starts, as separate processes, gunicorn
(``--gunicorn-workers`` sync workers) and a worker draining the task queue
(``core.tasks.run_queued``, the code ``wangge worker`` runs). While the import runs,
``--clients`` threads post OwnTracks fixes (Basic auth, the phones' own passwords) to
``/api/v1/locations/owntracks`` without pause; each request's latency and status is recorded
from the first chunk to the import's end. Prints the import's time and chunks, the number of
fixes, their p50/p95/p99/max latency and every non-200 answer, the machine and its load.

The issue's target is p99 < 1 s and no error during a 520,000-resident import on SQLite.
"""

from __future__ import annotations

import argparse
import base64
import os
import platform
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
os.environ.setdefault("WANGGE_BENCH_PG_NAME", "wangge_bench_import_concurrency")

import ingest  # noqa: E402  (bench/ingest.py: database set-up, phones, OwnTracks payloads)
from import_residents import generate_csv, machine  # noqa: E402

WORKER = """
import logging, os
import django
django.setup()
from wangge.core.tasks import run_queued
if os.environ.get("BENCH_CHUNK_LOG"):  # each chunk's lock wait and hold, from the importer's debug log
    chunks = logging.getLogger("wangge.registry.importing.residents")
    chunks.addHandler(logging.FileHandler(os.environ["BENCH_CHUNK_LOG"]))
    chunks.setLevel(logging.DEBUG)
    chunks.propagate = False
run_queued(worker="bench-worker")
"""


def start_gunicorn(port: int, workers: int) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "wangge.wsgi:application",
            "-w",
            str(workers),
            "-b",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
        ],
        env={**os.environ, "LOG_LEVEL": "ERROR"},
    )
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return process
        except OSError:
            time.sleep(0.3)
    raise RuntimeError("gunicorn did not start")


class Poster:
    """``threads`` clients posting OwnTracks fixes until stopped; latencies and failures kept."""

    def __init__(self, port: int, devices: int, threads: int) -> None:
        self.port = port
        self.ids = list(range(min(devices, 2000)))
        self.threads = threads
        self.recording = threading.Event()
        self.stopping = threading.Event()
        self.latencies: list[float] = []
        self.slowest: list[tuple[float, float, float]] = []  # (latency, seconds since recording began, epoch)
        self.began = 0.0
        self.done = 0
        self.failures: dict[str, int] = {}
        self.lock = threading.Lock()
        self.pool = [threading.Thread(target=self.loop, args=(k,), daemon=True) for k in range(threads)]

    def loop(self, seed: int) -> None:
        import http.client

        rng = random.Random(seed)
        tst = int(time.time()) - 86_400 + seed * 10_000  # in the past, each client its own seconds
        while not self.stopping.is_set():
            i = rng.choice(self.ids)
            tst += 1
            auth = "Basic " + base64.b64encode(f"bench{i:07d}:{ingest.PASSWORD}".encode()).decode()
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
            started = time.perf_counter()
            epoch = time.time()
            try:
                conn.request(
                    "POST",
                    "/api/v1/locations/owntracks",
                    body=ingest.owntracks(i, tst),
                    headers={"Authorization": auth, "Content-Type": "application/json", "X-Limit-U": f"bench{i:07d}"},
                )
                response = conn.getresponse()
                response.read()
                outcome = "" if response.status == 200 else str(response.status)
            except OSError as exc:
                outcome = type(exc).__name__
            elapsed = time.perf_counter() - started
            conn.close()
            self.done += 1
            if self.recording.is_set():
                with self.lock:
                    self.latencies.append(elapsed)
                    if elapsed > 0.5:
                        self.slowest.append((elapsed, started - self.began, epoch))
                    if outcome:
                        self.failures[outcome] = self.failures.get(outcome, 0) + 1

    def record(self) -> None:
        with self.lock:
            self.latencies, self.failures, self.slowest = [], {}, []
            self.began = time.perf_counter()
        self.recording.set()

    def start(self) -> None:
        for thread in self.pool:
            thread.start()

    def stop(self) -> None:
        self.stopping.set()
        for thread in self.pool:
            thread.join(70)


CHUNK_LINE = re.compile(
    r"chunk (\d+): (\d+) rows, gathered ([\d.]+) s, lock wait ([\d.]+) s, "
    r"held ([\d.]+) s \(commit ([\d.]+) s\) at ([\d.]+)"
)


def chunk_summary(path: Path, slowest: list[tuple[float, float, float]]) -> None:
    """Percentiles of the chunks' lock holds, and which chunk each of the slowest posts met."""
    chunks = [tuple(float(x) for x in m.groups()) for m in map(CHUNK_LINE.search, path.read_text().splitlines()) if m]
    if not chunks:
        print("  chunk log: no chunk lines")
        return
    for label, i in (("gathered (validation, no lock)", 2), ("lock wait", 3), ("lock held", 4), ("commit", 5)):
        values = sorted(c[i] for c in chunks)
        p50, p95, p99 = (ingest.pct(values, q) * 1000 for q in (50, 95, 99))
        print(
            f"  chunks, {label}: p50 {p50:.0f} ms, p95 {p95:.0f} ms, p99 {p99:.0f} ms, "
            f"max {values[-1] * 1000:.0f} ms, total {sum(values):.1f} s"
        )
    for latency, _at, epoch in slowest:
        # the chunks whose lock hold [end - held, end] overlaps the post [epoch, epoch + latency]
        met = [c for c in chunks if c[6] - c[4] < epoch + latency and c[6] > epoch]
        text = ", ".join(f"#{c[0]:.0f} held {c[4] * 1000:.0f} ms (commit {c[5] * 1000:.0f})" for c in met)
        print(f"  post of {latency * 1000:.0f} ms met: {text or 'no chunk'}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--residents", type=int, default=5_000)
    parser.add_argument("--devices", type=int, default=500)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--gunicorn-workers", type=int, default=2)
    parser.add_argument("--baseline-seconds", type=float, default=20, help="posting without an import first")
    parser.add_argument("--csv", help="the residents file: reused if it exists, else written there (keep it)")
    parser.add_argument("--generate-only", action="store_true", help="write --csv and stop (outside the lock)")
    parser.add_argument(
        "--chunk-log", help="file for the importer's per-chunk debug log (lock wait, hold, commit); summarised"
    )
    args = parser.parse_args()

    data_dir = Path(tempfile.mkdtemp(prefix="wangge-bench-import-concurrency-"))
    gunicorn = worker = None
    try:
        ingest.setup_django(args.db, data_dir)
        from django.db import connections

        from wangge.core.models import Task
        from wangge.registry import imports
        from wangge.registry.models import ResidentImport

        ingest.build(args.devices)
        path = Path(args.csv) if args.csv else data_dir / "residents.csv"
        if not path.exists():
            generate_csv(path, rows=args.residents, communities=["灵西社区"])
        if args.generate_only:
            print(f"wrote {path}")
            return 0
        run, task = imports.import_enqueue(by=None, data=path.read_bytes(), file_name=path.name)
        connections.close_all()

        port = ingest.free_port()
        gunicorn = start_gunicorn(port, args.gunicorn_workers)
        poster = Poster(port, args.devices, args.clients)
        poster.start()
        # Warm-up: gunicorn's workers load Django after the socket opens (slowly on a busy machine).
        while poster.done < 100:
            time.sleep(0.2)
        poster.record()
        time.sleep(args.baseline_seconds)
        poster.recording.clear()
        baseline = sorted(poster.latencies), dict(poster.failures)
        load_before = os.getloadavg()
        poster.record()
        started = time.perf_counter()
        worker_env = {**os.environ, "LOG_LEVEL": "ERROR"}
        if args.chunk_log:
            Path(args.chunk_log).unlink(missing_ok=True)
            worker_env["BENCH_CHUNK_LOG"] = str(Path(args.chunk_log).resolve())
        worker = subprocess.Popen([sys.executable, "-c", WORKER], env=worker_env)
        worker.wait()
        seconds = time.perf_counter() - started
        poster.recording.clear()
        load_after = os.getloadavg()
        poster.stop()

        task.refresh_from_db()
        run.refresh_from_db()
        latencies = sorted(poster.latencies)
        print(
            f"baseline, {args.baseline_seconds:.0f} s without an import: {len(baseline[0]):,} posts, "
            f"p50 {ingest.pct(baseline[0], 50) * 1000:.0f} ms, p99 {ingest.pct(baseline[0], 99) * 1000:.0f} ms, "
            f"max {baseline[0][-1] * 1000 if baseline[0] else 0:.0f} ms, failures {baseline[1] or 'none'}"
        )
        print(f"machine: {machine()}, {platform.platform()}")
        print(f"load average before / after: {load_before[0]:.2f} / {load_after[0]:.2f}")
        assert task.started_at is not None and task.finished_at is not None
        in_task = (task.finished_at - task.started_at).total_seconds()
        print(
            f"database: {args.db}; import of {args.residents:,} residents in the worker: {in_task:.1f} s in the task "
            f"({seconds:.1f} s with the worker's start), "
            f"{run.chunks_done} chunks, task {task.status} ({Task.Status.DONE}), import {run.status} "
            f"({ResidentImport.Status.DONE}), created {run.counts.get('created')}"
        )
        print(
            f"OwnTracks posts during the import: {len(latencies):,} ({len(latencies) / seconds:.1f}/s) "
            f"from {args.clients} clients to {args.gunicorn_workers} gunicorn workers"
        )
        for q in (50, 95, 99):
            print(f"  p{q}: {ingest.pct(latencies, q) * 1000:.0f} ms")
        print(f"  max: {latencies[-1] * 1000:.0f} ms" if latencies else "  no requests")
        print(f"  failures: {poster.failures or 'none'}")
        slowest = sorted(poster.slowest, reverse=True)[:5]
        listed = ", ".join(f"{lat * 1000:.0f} @ {at:.1f}" for lat, at, _e in slowest)
        print(f"  slowest (ms @ s into the import): {listed}")
        if args.chunk_log:
            chunk_summary(Path(args.chunk_log), sorted(poster.slowest, reverse=True)[:10])
        return 0 if task.status == Task.Status.DONE else 1
    finally:
        for process in (worker, gunicorn):
            if process is not None and process.poll() is None:
                process.terminate()
                process.wait(30)
        if args.db == "postgres":
            ingest.drop_postgres()
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
