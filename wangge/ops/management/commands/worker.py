"""``wangge worker``: MQTT location ingest, background tasks, periodic jobs and notification
senders (one per channel), each in its own thread so that nothing slow stalls the storing of
locations; ``--check`` reports its health."""

from __future__ import annotations

import gc
import logging
import signal
import socket
import threading
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from wangge.core import health, periodic
from wangge.ops.runner import background_threads
from wangge.protection import notify
from wangge.protection.mqtt import TOPIC, Broker, IngestWorker, broker_from_settings

DEFAULT_CLIENT_ID = "wangge-worker"


def worker_broker(*, url: str, instance: int) -> Broker:
    """The broker and this worker's account: from 2 on, ``<MQTT_USERNAME>-<N>``, since the broker
    makes each username a client id and shared workers each need their own."""
    broker = broker_from_settings(url)
    if instance != 1:
        if not 1 < instance <= settings.MQTT_WORKERS:
            raise CommandError(f"--instance must be between 1 and MQTT_WORKERS ({settings.MQTT_WORKERS})")
        broker.username = f"{broker.username}-{instance}" if broker.username else None
    return broker


def worker_name(*, client_id: str | None, shared: bool, broker: Broker) -> str:
    """The MQTT client id, which also names the worker's heartbeat: given, else the broker
    username (with use_username_as_clientid the broker uses it anyway, docs/operating.md)."""
    if client_id is not None:
        return client_id
    if broker.username:
        return broker.username
    return f"{DEFAULT_CLIENT_ID}-{socket.gethostname()}" if shared else DEFAULT_CLIENT_ID


# Young objects the cycle collector lets pile up before it runs (Python's default: 700).
GC_YOUNG_THRESHOLD = 50_000


def tune_gc() -> None:
    """Let a batch's short-lived objects die before the cycle collector sees them.

    A batch of fixes makes tens of thousands of objects that live for the batch (fixes, rows,
    the phones' states). At Python's default threshold the collector ran every 700 of them,
    found them alive, and promoted them to the oldest generation, whose growth then set off a
    full collection of the whole heap (Django and a compiled zone per phone, ~450,000 objects)
    every few batches: a quarter of the storing thread's CPU (``bench/ingest_batch.py``).
    With a young generation of 50,000 most of a batch is freed by reference counting before a
    collection, and the older generations almost never fill; cycles are still collected."""
    gc.collect()
    gc.freeze()  # what is alive once started (code, settings, Django) is never garbage
    gc.set_threshold(GC_YOUNG_THRESHOLD, 20, 10)


class Command(BaseCommand):
    help = (
        "Run the background worker: OwnTracks MQTT ingest, background tasks (imports, previews) and "
        "periodic jobs (silent phones, location retention) and notification delivery, or check on it."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--url", default=settings.MQTT_URL, help="broker, default MQTT_URL")
        parser.add_argument(
            "--client-id",
            default=None,
            help="fixed MQTT client id: the broker keeps this session's messages while the worker is down "
            "(default: the worker's broker username, else wangge-worker)",
        )
        parser.add_argument("--topic", default=TOPIC)
        parser.add_argument("--shared", action="store_true", help="subscribe as $share/wangge/… to scale out")
        parser.add_argument(
            "--instance",
            type=int,
            default=1,
            help="with --shared: this worker's number (1…MQTT_WORKERS); from 2 on it uses the broker "
            "account <MQTT_USERNAME>-<N>, as each worker needs its own",
        )
        parser.add_argument("--batch-size", type=int, default=5000)
        parser.add_argument("--batch-ms", type=int, default=50)
        parser.add_argument("--no-jobs", action="store_true", help="run no periodic jobs")
        parser.add_argument("--no-tasks", action="store_true", help="run no background tasks")
        parser.add_argument("--no-send", action="store_true", help="deliver no notifications")
        parser.add_argument("--no-ingest", action="store_true", help="no MQTT: background tasks and jobs only")
        parser.add_argument(
            "--jobs-once",
            action="store_true",
            help="run every periodic job once, deliver the notifications due (unless --no-send) and exit",
        )
        parser.add_argument(
            "--check",
            action="store_true",
            help="report whether the worker with these options is alive (exit 0) or not (exit 1), in one line",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        broker = worker_broker(url=options["url"], instance=options["instance"])
        name = worker_name(client_id=options["client_id"], shared=options["shared"], broker=broker)
        if options["check"]:
            state = health.worker_state(name=name)
            self.stdout.write(state.reason)
            if not state.ok:
                raise SystemExit(1)
            return
        logging.getLogger("wangge").setLevel(logging.INFO)
        if options["jobs_once"]:
            for job_name, job in periodic.registered_jobs().items():
                self.stdout.write(f"{job_name}: {job.run(timezone.now())}")
            if not options["no_send"]:
                self.stdout.write(f"notifications attempted: {notify.deliver_due(sender=name)}")
            return
        if options["no_ingest"] and options["no_jobs"] and options["no_tasks"] and options["no_send"]:
            raise CommandError("nothing to do: --no-ingest, --no-jobs, --no-tasks and --no-send together")
        stop = threading.Event()
        ingest: IngestWorker | None = None
        if not options["no_ingest"]:
            topic = f"$share/wangge/{options['topic']}" if options["shared"] else options["topic"]
            # Periodic jobs run in their own thread (below), never in ingest's storing thread.
            ingest = IngestWorker(
                url=broker,
                session_expiry=settings.MQTT_SESSION_EXPIRY,
                client_id=name,
                topic=topic,
                batch_size=options["batch_size"],
                batch_wait=options["batch_ms"] / 1000.0,
                jobs={},
            )
            stop = ingest.stop
            self.stdout.write(f"worker: {broker.host}:{broker.port} topic {topic} client {name}")  # no password
        else:
            self.stdout.write(f"worker {name}: background tasks and jobs only")
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        signal.signal(signal.SIGINT, lambda *_: stop.set())
        threads = background_threads(
            name=name,
            stop=stop,
            ingest=ingest,
            jobs=not options["no_jobs"],
            run_tasks=not options["no_tasks"],
            send=not options["no_send"],
        )
        for thread in threads:
            thread.start()
        try:
            if ingest is not None:
                tune_gc()
                ingest.run()
            else:
                stop.wait()
        finally:
            stop.set()
            for thread in threads:
                thread.join()
        self.stdout.write(f"worker stopped: {ingest.stats if ingest else 'no ingest'}")
