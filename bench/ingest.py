"""Location ingest: MQTT sustained rate, HTTP endpoints under gunicorn, alert latency, naive baseline.

    python bench/ingest.py --db sqlite   --devices 100000 --messages 200000
    python bench/ingest.py --db postgres --devices 100000 --messages 200000   # 127.0.0.1:5432, user postgres

It builds its own database (a temporary WANGGE_DATA_DIR; on PostgreSQL a database
``wangge_bench_ingest`` dropped afterwards) with ``--devices`` enrolled people, each with consent,
a phone and a 300 m circular safe zone, then measures, with the worker, the publishers, gunicorn
and the HTTP clients as separate processes:

1. naive vs batch, in this process on the same messages: one ORM save per message (look up the
   device, check consent, save the location, save the device) against ``ingest()`` in batches
   of 1,000 — the baseline ratio;
2. MQTT: ``wangge worker`` subscribed to a private Mosquitto this script starts on a free port
   (``--system-broker``: the one at 127.0.0.1:1883 instead), ``--publishers`` processes
   publishing OwnTracks JSON at QoS 1 as fast as they can, one message per device per round;
   the rate is stored rows over the time from the first publish to the last row stored (every
   message is stored and checked against its person's zone);
3. alert latency: for ``--alerts`` people, two fixes outside the zone (the second meets the
   dwell rule); the time from publishing the second to the stored alert and to the first
   notification attempt (in-app to the guardian), p50/p99;
4. HTTP: gunicorn (``--gunicorn-workers`` sync workers) and ``--clients`` concurrent clients
   for ``--http-seconds`` per endpoint: OwnTracks (Basic auth) and OsmAnd (GET); requests/s,
   p50/p99 latency.

The private broker runs with ``persistence false`` and unlimited queues. Production must keep
persistence on (docs/operating.md): it is what keeps queued QoS 1 messages and the worker's
session across a broker restart. The benchmark may turn it off because it never restarts the
broker, and what it measures is the worker: Mosquitto's periodic save of its in-memory state
to disk would only add noise to a two-core machine. It allows anonymous clients for the same
reason (broker accounts are tested by ``wangge/protection/tests/test_broker.py``).

Everything it creates (the data directory with the database, the broker's configuration, the
gunicorn logs) is removed at the end, also after a failure or Ctrl-C. With ``--reuse`` (PostgreSQL)
the built phones are also kept as a template database and later runs clone it in seconds instead
of building for minutes: build once outside a benchmark window (``--skip
baseline,mqtt,alerts,http --reuse``), then measure with ``--reuse``.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import inspect
import json
import multiprocessing as mp
import os
import platform
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PG_NAME = os.environ.get("WANGGE_BENCH_PG_NAME", "wangge_bench_ingest")
PG_SERVER = "postgres://postgres@127.0.0.1:5432"
BROKER = ["127.0.0.1", 1883]
CENTRE = (41.12, 122.95)  # Lishan district, Anshan
PASSWORD = "bench-device-password"
BROKER_PID: list[int] = []  # the private Mosquitto, for its CPU time


def template_name(devices: int) -> str:
    """The kept PostgreSQL database ``--reuse`` clones: one per number of phones, schema (the
    migration files) and ``build`` code, so a checkout never clones another's schema."""
    digest = hashlib.sha256(inspect.getsource(build).encode())
    for path in sorted(ROOT.glob("wangge/**/migrations/[0-9]*.py")):
        digest.update(str(path.relative_to(ROOT)).encode())
    return f"wangge_bench_ingest_tpl_{devices}_{digest.hexdigest()[:10]}"


def setup_django(db: str, data_dir: Path, *, template: str = "") -> bool:
    """A fresh database and Django on it; with ``template`` (PostgreSQL only), cloned from that
    database if it exists. True if it was cloned (nothing left to build)."""
    os.environ["WANGGE_DATA_DIR"] = str(data_dir)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wangge.settings")
    os.environ["LOG_LEVEL"] = "ERROR"
    cloned = False
    if db == "postgres":
        import psycopg

        with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {PG_NAME} WITH (FORCE)")
            if template and conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [template]).fetchone():
                conn.execute(f"CREATE DATABASE {PG_NAME} TEMPLATE {template}")
                cloned = True
            else:
                conn.execute(f"CREATE DATABASE {PG_NAME}")
        os.environ["DATABASE_URL"] = f"{PG_SERVER}/{PG_NAME}"
    else:
        os.environ.pop("DATABASE_URL", None)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    return cloned


def keep_template(template: str) -> None:
    """Copy the freshly built database to ``template`` for later ``--reuse``."""
    from django.db import connections

    connections.close_all()  # a template must have no other connection while it is copied
    import psycopg

    with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {template} TEMPLATE {PG_NAME}")


def prepare(db: str, data_dir: Path, devices: int, *, reuse: bool) -> None:
    """Django on a database with ``devices`` enrolled phones: built, or with ``reuse`` on
    PostgreSQL cloned from a template kept by an earlier run (built and kept if there is none)."""
    if reuse and db == "postgres":
        template = template_name(devices)  # named from the schema before anything runs
        if not setup_django(db, data_dir, template=template):
            build(devices)
            keep_template(template)
        return
    setup_django(db, data_dir)
    build(devices)


def drop_postgres() -> None:
    from django.db import connections

    connections.close_all()
    import psycopg

    with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {PG_NAME} WITH (FORCE)")


def home_of(i: int) -> tuple[float, float]:
    rng = random.Random(i)
    return CENTRE[0] + rng.uniform(-0.05, 0.05), CENTRE[1] + rng.uniform(-0.05, 0.05)


def build(devices: int) -> None:
    import datetime as dt

    from django.db import transaction

    from wangge.accounts.models import AreaAssignment, Role, User
    from wangge.areas.models import Area, Building
    from wangge.core import idnumbers
    from wangge.protection.models import Consent, Device, Enrolment, SafeZone
    from wangge.registry.models import Guardianship, Household, Resident

    district = Area.objects.create(level="district", name="立山区", code="210304")
    street = Area.objects.create(level="street", name="友好街道", parent=district)
    community = Area.objects.create(level="community", name="灵西社区", parent=street)
    grid = Area.objects.create(level="grid", name="灵西第一网格", parent=community)
    building = Building.objects.create(name="1号楼", grid=grid, community=community, lon=CENTRE[1], lat=CENTRE[0])
    household = Household(building=building, room="101")
    household.copy_scope(building)
    household.save()
    birth = dt.date(1940, 1, 1)
    resident = Resident(
        household=household,
        name="李秀英",
        id_number=idnumbers.make(area_code="210304", birth_date=dt.date(1939, 1, 1), sequence=1, sex="F"),
        sex="F",
        birth_date=birth,
    )
    resident.copy_scope(household)
    resident.save()
    guardian = User.objects.create_user(username="guardian", role=Role.GUARDIAN)
    Guardianship.objects.create(guardian=guardian, resident=resident)
    worker = User.objects.create_user(username="worker", role=Role.GRID_WORKER)
    AreaAssignment.objects.create(user=worker, area=grid)
    template = Device()
    template.set_password(PASSWORD)
    password_hash = template.password_hash
    chunk = 10_000
    for start in range(0, devices, chunk):
        with transaction.atomic():
            ids = range(start, min(devices, start + chunk))
            # One person per phone: a resident has at most one active enrolment.
            people = []
            for i in ids:
                person = Resident(
                    household=household,
                    name="李秀英",
                    id_number=idnumbers.make(
                        area_code="210304", birth_date=birth + dt.timedelta(days=i // 500), sequence=i % 500, sex="F"
                    ),
                    sex="F",
                    birth_date=birth,
                )
                person.copy_scope(household)
                people.append(person)
            people = Resident.objects.bulk_create(people)
            if people[0].pk is None:
                people = list(Resident.objects.order_by("-id")[: len(ids)])[::-1]
            enrolments = []
            for person in people:
                enrolment = Enrolment(resident=person)
                enrolment.copy_scope(person)
                enrolments.append(enrolment)
            enrolments = Enrolment.objects.bulk_create(enrolments)
            if enrolments[0].pk is None:  # backends without RETURNING
                enrolments = list(Enrolment.objects.order_by("-id")[: len(ids)])[::-1]
            Consent.objects.bulk_create(
                Consent(enrolment=e, given_by_kind="guardian", given_by_name="王小红", date=dt.date(2024, 4, 1))
                for e in enrolments
            )
            Device.objects.bulk_create(
                Device(enrolment=e, identifier=f"bench{i:07d}", password_hash=password_hash)
                for i, e in zip(ids, enrolments, strict=True)
            )
            zones = []
            for i, e in zip(ids, enrolments, strict=True):
                lat, lon = home_of(i)
                zones.append(
                    SafeZone(enrolment=e, name="家", kind="circle", center_lat=lat, center_lon=lon, radius_m=300)
                )
            SafeZone.objects.bulk_create(zones)
    from django.db import connection

    if connection.vendor == "postgresql":
        # What autovacuum would do within a minute of a bulk load; without it the first
        # batches are planned on empty-table statistics.
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")


def owntracks(i: int, tst: int, *, outside: bool = False) -> bytes:
    lat, lon = home_of(i)
    if outside:
        lat += 0.01  # ~1.1 km north
    else:
        lat += random.uniform(-0.0005, 0.0005)
    return json.dumps(
        {"_type": "location", "lat": round(lat, 6), "lon": round(lon, 6), "tst": tst, "acc": 12, "batt": 80, "tid": "b"}
    ).encode()


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


# -- 1. naive vs batch ------------------------------------------------------------------------


def naive_vs_batch(count: int, devices: int) -> dict[str, float]:
    from django.db.models import Max
    from django.utils import timezone

    from wangge.protection.ingest import ingest
    from wangge.protection.models import Consent, Device, Enrolment, Location
    from wangge.protection.protocols import parse_owntracks

    base = int(time.time()) - 86400  # yesterday: not in the way of the MQTT rounds
    picks = random.Random(1).sample(range(devices), min(count, devices))

    def messages(offset: int) -> list[tuple[str, bytes]]:
        return [(f"bench{i:07d}", owntracks(i, base + offset)) for i in picks]

    now = timezone.now()
    naive = messages(0)
    started = time.perf_counter()
    for identifier, payload in naive:
        fix = parse_owntracks(payload, user=identifier, device="phone", source="owntracks_mqtt", now=now)
        device = Device.objects.select_related("enrolment").get(identifier=identifier, active=True)
        if not Consent.objects.filter(enrolment_id=device.enrolment_id, withdrawn_at__isnull=True).exists():
            continue
        Location(
            device=device,
            enrolment_id=device.enrolment_id,
            recorded_at=fix.recorded_at,
            lat=fix.lat,
            lon=fix.lon,
            accuracy=fix.accuracy,
            speed=fix.speed,
            battery=fix.battery,
            source=fix.source,
        ).save()
        device.last_seen, device.last_lat, device.last_lon, device.battery = (
            fix.recorded_at,
            fix.lat,
            fix.lon,
            fix.battery,
        )
        device.save(update_fields=["last_seen", "last_lat", "last_lon", "battery"])
    naive_seconds = time.perf_counter() - started

    batch = messages(10)
    started = time.perf_counter()
    for offset in range(0, len(batch), 1000):
        fixes = [
            parse_owntracks(payload, user=identifier, device="phone", source="owntracks_mqtt", now=now)
            for identifier, payload in batch[offset : offset + 1000]
        ]
        ingest(fixes, now=now)
    batch_seconds = time.perf_counter() - started
    assert Location.objects.count() == 2 * len(picks), Location.objects.aggregate(Max("id"))
    Location.objects.all().delete()
    Device.objects.update(last_seen=None)
    Enrolment.objects.update(outside_since=None, outside_fixes=0, inside_fixes=0)
    return {
        "messages": len(picks),
        "naive_per_s": len(picks) / naive_seconds,
        "batch_per_s": len(picks) / batch_seconds,
        "ratio": naive_seconds / batch_seconds,
    }


# -- 2. MQTT sustained ------------------------------------------------------------------------


def own_broker(data_dir: Path) -> subprocess.Popen:
    """A private Mosquitto configured as docs/operating.md recommends for ingest.

    The system broker keeps Mosquitto's defaults: at most 1,000 queued messages per client
    beyond the in-flight window, so a worker that falls more than ~66,000 messages behind the
    publishers makes the broker drop the excess — what this benchmark provokes on purpose.
    """
    port = free_port()
    conf = data_dir / "mosquitto.conf"
    conf.write_text(
        f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
        "max_queued_messages 0\nmax_inflight_messages 0\n",
        encoding="utf-8",
    )
    process = subprocess.Popen(["mosquitto", "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    BROKER_PID[:] = [process.pid]
    deadline = time.time() + 10
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.1)
    BROKER[1] = port
    return process


def broker_url() -> str:
    return f"mqtt://{BROKER[0]}:{BROKER[1]}"


def start_worker(client_id: str, *, shared: bool = False) -> subprocess.Popen:
    command = [sys.executable, "-m", "wangge", "worker", "--client-id", client_id, "--no-jobs", "--url", broker_url()]
    process = subprocess.Popen(
        [*command, "--shared"] if shared else command,
        env={**os.environ, "LOG_LEVEL": "WARNING"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 120
    assert process.stdout is not None
    while time.monotonic() < deadline:
        line = process.stdout.readline().decode()
        if "MQTT connected" in line:
            threading.Thread(target=process.stdout.read, daemon=True).start()
            return process
        if not line and process.poll() is not None:
            break
    raise RuntimeError("worker did not connect")


def _publish_packet(topic: str, payload: bytes, packet_id: int) -> bytes:
    """An MQTT 3.1.1 PUBLISH at QoS 1, encoded once before the clock starts."""
    name = topic.encode()
    body = len(name).to_bytes(2, "big") + name + packet_id.to_bytes(2, "big") + payload
    length, size = bytearray(), len(body)
    while True:
        byte, size = size % 128, size // 128
        length.append(byte | 0x80 if size else byte)
        if not size:
            break
    return b"\x32" + bytes(length) + body


def publish_share(share: list[tuple[int, int]], port: int, ready: Any, go: Any, result: Any) -> None:
    """A load generator, not a phone: pre-encoded QoS 1 PUBLISH packets written in blocks on a raw
    socket, at most ``WINDOW`` unacknowledged, PUBACKs counted by a reader thread. (paho's
    publish costs ~300 µs of CPU a message here, so a paho publisher measured itself.)"""
    window = 20_000
    packets = [
        _publish_packet(f"owntracks/bench{i:07d}/phone", owntracks(i, tst), n % 65535 + 1)
        for n, (i, tst) in enumerate(share)
    ]
    sock = socket.create_connection(("127.0.0.1", port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    client_id = f"bench-pub-{uuid.uuid4().hex[:8]}".encode()
    connect = b"\x00\x04MQTT\x04\x02\x00\x3c" + len(client_id).to_bytes(2, "big") + client_id
    sock.sendall(b"\x10" + bytes([len(connect)]) + connect)
    assert sock.recv(4)[:2] == b"\x20\x02"
    acked = [0]
    done = threading.Event()

    def reader() -> None:
        pending = b""
        while acked[0] < len(packets):
            data = sock.recv(1 << 16)
            if not data:
                break
            pending += data
            whole = len(pending) // 4  # PUBACK: 40 02 id id
            acked[0] += whole
            pending = pending[whole * 4 :]
        done.set()

    ready.set()
    go.wait()
    started = time.time()
    threading.Thread(target=reader, daemon=True).start()
    sent = 0
    while sent < len(packets):
        if sent - acked[0] >= window:
            time.sleep(0.001)
            continue
        block = min(len(packets), sent + 500, acked[0] + window)
        sock.sendall(b"".join(packets[sent:block]))
        sent = block
    done.wait(600)
    result.put((started, time.time(), acked[0]))
    sock.sendall(b"\xe0\x00")
    sock.close()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def postgres_cpu_seconds() -> float:
    """User + system CPU time of every PostgreSQL server process so far (backends that ended
    during the run are missed; the worker's and this script's connections live throughout)."""
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        if text.split("(", 1)[1].startswith("postgres)"):
            total += cpu_seconds(int(stat.parent.name))
    return total


def postgres_cpu_by_pid() -> dict[int, float]:
    """CPU seconds so far of every PostgreSQL server process, by pid."""
    found = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        if text.split("(", 1)[1].startswith("postgres)"):
            found[int(stat.parent.name)] = cpu_seconds(int(stat.parent.name))
    return found


def postgres_own_pids() -> set[int]:
    """The server processes working for this benchmark: the backends connected to its database
    and the shared writers (WAL writer, checkpointer, background writer), not other databases'
    backends (on a shared machine, other people's tests run on the same server)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "OR backend_type IN ('walwriter', 'checkpointer', 'background writer')"
        )
        return {row[0] for row in cursor.fetchall()}


def postgres_wal() -> tuple[int, int, int, int]:
    """Server-wide WAL bytes (from the insert position), records and full-page images (from
    ``pg_stat_wal``, which backends report once idle for a second) and checkpoints so far."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_current_wal_insert_lsn() - '0/0'::pg_lsn, w.wal_records, w.wal_fpi, "
            "b.checkpoints_timed + b.checkpoints_req FROM pg_stat_wal w, pg_stat_bgwriter b"
        )
        row = cursor.fetchone()
        return (int(row[0]), int(row[1]), int(row[2]), int(row[3]))


def mqtt_sustained(devices: int, messages: int, publishers: int, workers: list[int]) -> dict[str, float]:
    from wangge.protection.models import Location

    rounds = max(1, messages // devices)
    base = int(time.time()) - rounds * 10 - 60
    plan = [(i, base + r * 10) for r in range(rounds) for i in range(devices)][:messages]
    shares = [plan[k::publishers] for k in range(publishers)]
    ctx = mp.get_context("spawn")
    ready = [ctx.Event() for _ in shares]
    go = ctx.Event()
    results = ctx.Queue()
    procs = [
        ctx.Process(target=publish_share, args=(s, BROKER[1], r, go, results))
        for s, r in zip(shares, ready, strict=True)
    ]
    for p in procs:
        p.start()
    for r in ready:
        r.wait(300)
    cpu_before = sum(cpu_seconds(pid) for pid in workers)
    broker_before = sum(cpu_seconds(pid) for pid in BROKER_PID)
    from django.db import connection

    on_postgres = connection.vendor == "postgresql"
    pg_before = postgres_cpu_seconds() if on_postgres else 0.0
    pg_pids_before = postgres_cpu_by_pid() if on_postgres else {}
    wal_before = postgres_wal() if on_postgres else (0, 0, 0, 0)
    go.set()
    first_publish = time.time()
    stored, last_change, last_count = 0, time.time(), -1
    samples: list[tuple[float, int]] = []
    while stored < len(plan) and time.time() - last_change < 30:
        time.sleep(0.5)
        stored = Location.objects.count()
        samples.append((time.time(), stored))
        if stored != last_count:
            last_count, last_change = stored, time.time()
    done = last_change
    worker_cpu = sum(cpu_seconds(pid) for pid in workers) - cpu_before
    broker_cpu = sum(cpu_seconds(pid) for pid in BROKER_PID) - broker_before
    pg_cpu = postgres_cpu_seconds() - pg_before if on_postgres else float("nan")
    if on_postgres:
        own, now_by_pid = postgres_own_pids(), postgres_cpu_by_pid()
        pg_own_cpu = sum(now_by_pid.get(pid, 0.0) - pg_pids_before.get(pid, 0.0) for pid in own)
    else:
        pg_own_cpu = float("nan")
    pub = [results.get(timeout=60) for _ in procs]
    for p in procs:
        p.join(30)
    if on_postgres:
        time.sleep(2)  # the workers' backends report their WAL statistics once idle
        wal = [int(after - before) for after, before in zip(postgres_wal(), wal_before, strict=True)]
    else:
        wal = [0, 0, 0, 0]
    publish_seconds = max(end for _, end, _ in pub) - min(start for start, _, _ in pub)
    # Steady state: the middle 80% of the rows.
    lo, hi = 0.1 * len(plan), 0.9 * len(plan)
    t_lo = next((t for t, n in samples if n >= lo), None)
    t_hi = next((t for t, n in samples if n >= hi), None)
    steady = (hi - lo) / (t_hi - t_lo) if t_lo and t_hi and t_hi > t_lo else float("nan")
    return {
        "messages": len(plan),
        "devices": devices,
        "stored": stored,
        "publish_per_s": len(plan) / publish_seconds,
        "ingest_per_s": stored / (done - first_publish),
        "steady_per_s": steady,
        "workers": len(workers),
        "worker_cpu_s": round(worker_cpu, 1),
        "worker_cpu_us_per_msg": worker_cpu / max(1, stored) * 1e6,
        "published_acked": sum(n for _, _, n in pub),
        "broker_cpu_us_per_msg": broker_cpu / max(1, stored) * 1e6,
        # PostgreSQL runs: the whole server, including this script's count(*) every 0.5 s.
        "postgres_cpu_us_per_msg": pg_cpu / max(1, stored) * 1e6,
        # Only the benchmark database's backends and the WAL writer, checkpointer and background
        # writer: other databases' backends on a shared server are not counted.
        "postgres_own_cpu_us_per_msg": pg_own_cpu / max(1, stored) * 1e6,
        # Server-wide (other databases' writes included): WAL a message, full-page images, checkpoints.
        "wal_bytes_per_msg": wal[0] / max(1, stored),
        "wal_fpi": wal[2],
        "checkpoints": wal[3],
    }


def forget_session(client_id: str) -> None:
    """Drop the worker's persistent session so the broker stops queueing for it."""
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
    client.connect(*BROKER, clean_start=True)
    client.disconnect()


# -- 3. alert latency -------------------------------------------------------------------------


def alert_latency(devices: int, count: int) -> dict[str, float]:
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    from wangge.protection.models import Alert, Notification

    picks = random.Random(7).sample(range(devices), count)
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"bench-alert-{uuid.uuid4().hex[:8]}")
    client.connect(*BROKER)
    client.loop_start()
    tst = int(time.time())
    for i in picks:
        client.publish(f"owntracks/bench{i:07d}/phone", owntracks(i, tst - 20, outside=True), qos=1)
    time.sleep(2)
    sent_at: dict[str, float] = {}
    for i in picks:
        sent_at[f"bench{i:07d}"] = time.time()
        client.publish(f"owntracks/bench{i:07d}/phone", owntracks(i, tst - 5, outside=True), qos=1).wait_for_publish(5)
        time.sleep(0.02)  # a trickle, as real departures come: latency, not throughput
    deadline = time.time() + 60
    while time.time() < deadline and Alert.objects.filter(kind="left_zone").count() < count:
        time.sleep(0.5)
    time.sleep(1)
    client.loop_stop()
    client.disconnect()
    to_alert, to_notify = [], []
    for alert in Alert.objects.filter(kind="left_zone").select_related("device"):
        t0 = sent_at.get(alert.device.identifier)
        if t0 is None:
            continue
        to_alert.append(alert.raised_at.timestamp() - t0)
        first = (
            Notification.objects.filter(alert=alert, sent_at__isnull=False)
            .order_by("sent_at")
            .values_list("sent_at", flat=True)
            .first()
        )
        if first:
            to_notify.append(first.timestamp() - t0)
    return {
        "alerts": len(to_alert),
        "alert_p50_ms": pct(to_alert, 50) * 1000,
        "alert_p99_ms": pct(to_alert, 99) * 1000,
        "notify_p50_ms": pct(to_notify, 50) * 1000,
        "notify_p99_ms": pct(to_notify, 99) * 1000,
    }


# -- 4. HTTP ------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def http_client(port: int, kind: str, ids: list[int], seconds: float, threads: int, out: Any) -> None:
    import http.client

    latencies: list[float] = []
    errors = [0]
    stop = time.time() + seconds
    auth = {i: "Basic " + base64.b64encode(f"bench{i:07d}:{PASSWORD}".encode()).decode() for i in ids}

    def loop(seed: int) -> None:
        rng = random.Random(seed)
        tst = int(time.time()) - 3600
        while time.time() < stop:
            i = rng.choice(ids)
            tst += 1
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            t0 = time.perf_counter()
            try:
                if kind == "owntracks":
                    conn.request(
                        "POST",
                        "/api/v1/locations/owntracks",
                        body=owntracks(i, tst),
                        headers={
                            "Authorization": auth[i],
                            "Content-Type": "application/json",
                            "X-Limit-U": f"bench{i:07d}",
                        },
                    )
                else:
                    lat, lon = home_of(i)
                    conn.request(
                        "GET",
                        f"/api/v1/locations/osmand?id=bench{i:07d}&lat={lat:.6f}&lon={lon:.6f}&timestamp={tst}&batt=80&accuracy=10",
                    )
                response = conn.getresponse()
                response.read()
                if response.status != 200:
                    errors[0] += 1
            except OSError:
                errors[0] += 1
            latencies.append(time.perf_counter() - t0)
            conn.close()

    pool = [threading.Thread(target=loop, args=(k,)) for k in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    out.put((latencies, errors[0]))


def http_bench(devices: int, clients: int, seconds: float, workers: int) -> dict[str, dict[str, float]]:
    port = free_port()
    gunicorn = subprocess.Popen(
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
    try:
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.3)
        # 2,000 phones post in turn; a short warm-up loads the code paths of every worker.
        ids = random.Random(3).sample(range(devices), min(2000, devices))
        ctx = mp.get_context("spawn")
        figures = {}
        for kind in ("owntracks", "osmand"):
            if kind == "owntracks":
                warm = ctx.Queue()
                ctx.Process(target=http_client, args=(port, kind, ids, 3.0, clients, warm)).start()
                warm.get(timeout=120)
            out = ctx.Queue()
            procs = [
                ctx.Process(target=http_client, args=(port, kind, ids, seconds, clients // 2, out)) for _ in range(2)
            ]
            for p in procs:
                p.start()
            latencies: list[float] = []
            errors = 0
            for _ in procs:
                lat, err = out.get(timeout=seconds + 120)
                latencies += lat
                errors += err
            for p in procs:
                p.join()
            figures[kind] = {
                "requests": len(latencies),
                "per_s": len(latencies) / seconds,
                "p50_ms": pct(latencies, 50) * 1000,
                "p99_ms": pct(latencies, 99) * 1000,
                "errors": errors,
            }
        return figures
    finally:
        gunicorn.terminate()
        gunicorn.wait(30)


REUSE_HELP = (
    "PostgreSQL: clone the phones from a database kept by an earlier run (wangge_bench_ingest_tpl_*, "
    "one per --devices and schema; built and kept if missing; drop them with DROP DATABASE when done)"
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--devices", type=int, default=100_000)
    parser.add_argument("--messages", type=int, default=200_000)
    parser.add_argument("--publishers", type=int, default=2)
    parser.add_argument("--baseline", type=int, default=5000, help="messages for naive vs batch")
    parser.add_argument("--alerts", type=int, default=200)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--http-seconds", type=float, default=15)
    parser.add_argument("--gunicorn-workers", type=int, default=3)
    parser.add_argument(
        "--workers", type=int, default=1, help="ingest workers; more than one share $share/wangge/owntracks/+/+"
    )
    parser.add_argument(
        "--system-broker", action="store_true", help="use the Mosquitto at 127.0.0.1:1883 instead of a private one"
    )
    parser.add_argument("--skip", default="", help="comma list of: baseline,mqtt,alerts,http")
    parser.add_argument("--reuse", action="store_true", help=REUSE_HELP)
    args = parser.parse_args()
    data_dir = Path(tempfile.mkdtemp(prefix="wangge-bench-ingest-"))
    try:
        run(args, data_dir)
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)  # the database alone is ~100 MB at 100,000 phones


def run(args: argparse.Namespace, data_dir: Path) -> None:
    skip = set(filter(None, args.skip.split(",")))
    print(f"# {platform.node()} {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, {args.db}")
    t0 = time.time()
    prepare(args.db, data_dir, args.devices, reuse=args.reuse)
    print(f"built {args.devices} enrolled phones with zones in {time.time() - t0:.0f} s")
    worker = None
    broker = None if args.system_broker or not {"mqtt", "alerts"} - skip else own_broker(data_dir)
    try:
        if "baseline" not in skip:
            print("naive vs batch:", json.dumps(naive_vs_batch(args.baseline, args.devices), default=round))
        client_ids = [f"bench-worker-{uuid.uuid4().hex[:8]}" for _ in range(args.workers)]
        workers = []
        if not {"mqtt", "alerts"} <= skip:
            workers = [start_worker(client_id, shared=args.workers > 1) for client_id in client_ids]
            worker = workers[0]
        if "mqtt" not in skip:
            figures = mqtt_sustained(args.devices, args.messages, args.publishers, [w.pid for w in workers])
            print("mqtt:", json.dumps(figures, default=round))
        if "alerts" not in skip:
            print("alert latency:", json.dumps(alert_latency(args.devices, args.alerts), default=round))
        if worker is not None:
            for process in workers:
                process.terminate()
                process.wait(30)
            worker = None
            for client_id in client_ids:
                forget_session(client_id)
        if "http" not in skip:
            figures = http_bench(args.devices, args.clients, args.http_seconds, args.gunicorn_workers)
            for kind, values in figures.items():
                print(f"http {kind}:", json.dumps(values, default=round))
    finally:
        if worker is not None:
            for process in workers:
                process.kill()
        if broker is not None:
            broker.terminate()
        if args.db == "postgres":
            drop_postgres()
    print(f"total {time.time() - t0:.0f} s")


if __name__ == "__main__":
    main()
