"""Notifications and ingest: a webhook that never answers, a few alerts at once, other phones' fixes.

    python bench/outbox.py --db sqlite
    python bench/outbox.py --db postgres   # 127.0.0.1:5432, user postgres

It builds its own database (a temporary WANGGE_DATA_DIR; on PostgreSQL a database
``wangge_bench_outbox`` dropped afterwards; the people, phones and zones of ``bench/ingest.py``),
starts a local HTTP server that accepts every connection and never answers, points
``WANGGE_WEBHOOK_URL`` at it (``WANGGE_WEBHOOK_TIMEOUT_SECONDS``, default 5) and gives the grid
worker and the guardian a phone (an SMS adapter that records when it was called). Then, in this
process with the worker's threads, for ``--seconds``:

- a storing thread as the worker's: every ``--batch-ms`` it stores, as one ``ingest()`` batch,
  the fixes that have arrived, ``--phones`` phones each reporting every ``--period`` seconds;
- at ``--alert-at`` seconds ``--alerts`` other phones press SOS at once (each alert reaches the
  grid worker by SMS and in-app, and the webhook).

Reported: other phones' store latency (arrival to commit) p50/p99/max, and each SMS's delay
from the SOS's arrival. Two modes, each on its own phones, in the same run (``--mode``):

- ``outbox``: the worker's sender threads (``notify.sender_threads``) deliver; the storing thread
  only stores;
- ``inline``: the path before the outbox, as it was: right after a batch's commit the storing
  thread sends each alert's notifications in the order they were written (in-app, SMS, then the
  webhook, alert after alert), through the same channel code (``notify._send``) and webhook
  timeout, so the hung webhook holds up the next alert's SMS and every batch behind it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent
os.environ.setdefault("WANGGE_BENCH_PG_NAME", "wangge_bench_outbox")
sys.path.insert(0, str(ROOT))

import ingest as bench_ingest  # noqa: E402  (bench/ingest.py: database, people, phones, zones)

CLOCK = time.monotonic


class BenchSms:
    """The SMS adapter: records when each message was handed to it."""

    sent: list[tuple[str, float]] = []
    lock = threading.Lock()

    def send(self, phone: str, text: str, *, timeout: float | None = None) -> None:
        with self.lock:
            BenchSms.sent.append((phone, CLOCK()))


class HungServer:
    """Accepts every connection and never answers."""

    def __init__(self) -> None:
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}/hook"
        self.connections: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            self.connections.append(conn)

    def close(self) -> None:
        for conn in self.connections:
            conn.close()
        self.listener.close()


def send_inline(alerts: list[Any]) -> None:
    """The first attempt as the storing thread made it before the outbox (``deliver(ids)`` on
    commit, an alert's notifications in the order written)."""
    from django.utils import timezone

    from wangge.protection import notify
    from wangge.protection.models import Notification

    for alert in alerts:
        for notification in Notification.objects.filter(alert=alert).order_by("id"):
            notification.attempts += 1
            try:
                notify._send(notification)
            except Exception as exc:
                notification.status, notification.last_error = "failed", str(exc)[:500]
            else:
                notification.status, notification.sent_at = "sent", timezone.now()
            notification.save()


def run_mode(mode: str, phones: range, alert_phones: list[int], args: argparse.Namespace) -> dict[str, Any]:
    from django.db import connection
    from django.utils import timezone

    from wangge.protection import notify
    from wangge.protection.ingest import ingest
    from wangge.protection.models import Notification
    from wangge.protection.protocols import Fix

    events: list[tuple[float, int, bool]] = []  # (arrival, phone, sos)
    for n, i in enumerate(phones):
        at = 0.2 + args.period * n / len(phones)
        while at < args.seconds:
            events.append((at, i, False))
            at += args.period
    events += [(args.alert_at, i, True) for i in alert_phones]
    events.sort()

    def fix(i: int, sos: bool) -> Fix:
        lat, lon = bench_ingest.home_of(i)
        return Fix(
            identifier=f"bench{i:07d}",
            recorded_at=timezone.now(),
            lat=lat,
            lon=lon,
            source="owntracks_mqtt",
            accuracy=12.0,
            battery=80.0,
            alarm="sos" if sos else "",
            verified=True,
        )

    BenchSms.sent = []
    stop = threading.Event()
    senders = notify.sender_threads(worker=f"bench-{mode}", stop=stop) if mode == "outbox" else []
    for thread in senders:
        thread.start()
    latencies: list[float] = []
    stalls = 0
    start = CLOCK()
    nxt = 0
    try:
        while nxt < len(events):
            time.sleep(args.batch_ms / 1000)
            now = CLOCK() - start
            batch = []
            while nxt < len(events) and events[nxt][0] <= now:
                batch.append(events[nxt])
                nxt += 1
            if not batch:
                continue
            result = ingest([fix(i, sos) for _at, i, sos in batch])
            stored = CLOCK() - start
            latencies += [stored - at for at, _i, sos in batch if not sos]
            stalls += sum(1 for at, _i, sos in batch if not sos and stored - at > 1.0)
            if mode == "inline":
                send_inline(result.alerts)
        time.sleep(1.0)
    finally:
        stop.set()
        for thread in senders:
            thread.join(timeout=60)
        connection.close()
    sms = sorted(at - start - args.alert_at for _phone, at in BenchSms.sent)
    webhooks = list(Notification.objects.filter(channel="webhook").values_list("status", "attempts"))
    Notification.objects.all().delete()  # the next mode starts with an empty outbox
    return {
        "mode": mode,
        "fixes": len(latencies),
        "store_p50_ms": round(bench_ingest.pct(latencies, 50) * 1000, 1),
        "store_p99_ms": round(bench_ingest.pct(latencies, 99) * 1000, 1),
        "store_max_ms": round(max(latencies) * 1000, 1),
        "fixes_over_1s": stalls,
        "sms": len(sms),
        "sms_delay_s": [round(s, 3) for s in sms],
        "webhooks": webhooks,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--mode", choices=["outbox", "inline", "both"], default="both")
    parser.add_argument("--phones", type=int, default=200, help="other phones, reporting all along")
    parser.add_argument("--period", type=float, default=5.0, help="seconds between two fixes of a phone")
    parser.add_argument("--alerts", type=int, default=3, help="phones pressing SOS at once")
    parser.add_argument("--alert-at", type=float, default=3.0)
    parser.add_argument("--seconds", type=float, default=25.0)
    parser.add_argument("--batch-ms", type=int, default=50)
    args = parser.parse_args()
    data_dir = Path(tempfile.mkdtemp(prefix="wangge-bench-outbox-"))
    hung = HungServer()
    os.environ["WANGGE_WEBHOOK_URL"] = hung.url
    os.environ["WANGGE_SMS_BACKEND"] = "__main__.BenchSms"
    modes = ["outbox", "inline"] if args.mode == "both" else [args.mode]
    per_mode = args.phones + args.alerts
    try:
        print(f"# {platform.node()} {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, {args.db}")
        print(f"# load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        bench_ingest.setup_django(args.db, data_dir)
        bench_ingest.build(per_mode * len(modes))
        from django.conf import settings

        from wangge.accounts.models import User

        User.objects.filter(username="worker").update(phone="13800000002")
        User.objects.filter(username="guardian").update(phone="13800000001")
        when = f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC"
        print(f"# webhook timeout {settings.WANGGE_WEBHOOK_TIMEOUT_SECONDS} s, {when}")
        for n, mode in enumerate(modes):
            base = n * per_mode
            phones = range(base + args.alerts, base + per_mode)
            alert_phones = list(range(base, base + args.alerts))
            print(json.dumps(run_mode(mode, phones, alert_phones, args), default=round))
    finally:
        hung.close()
        if args.db == "postgres":
            bench_ingest.drop_postgres()
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
