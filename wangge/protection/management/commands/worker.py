"""``wangge worker``: MQTT location ingest and the periodic jobs (silent phones, retries, retention)."""

from __future__ import annotations

import logging
import signal
import socket
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from wangge.protection.jobs import JOBS
from wangge.protection.mqtt import TOPIC, IngestWorker, broker_from_settings


class Command(BaseCommand):
    help = (
        "Run the background worker: OwnTracks MQTT ingest, silent-phone checks, notification retries "
        "and location retention."
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
        parser.add_argument("--no-jobs", action="store_true", help="ingest only")
        parser.add_argument("--jobs-once", action="store_true", help="run every periodic job once and exit")

    def handle(self, *args: Any, **options: Any) -> None:
        logging.getLogger("wangge").setLevel(logging.INFO)
        if options["jobs_once"]:
            from django.utils import timezone

            for name, (_every, job) in JOBS.items():
                self.stdout.write(f"{name}: {job(timezone.now())}")
            return
        topic = f"$share/wangge/{options['topic']}" if options["shared"] else options["topic"]
        broker = broker_from_settings(options["url"])
        instance = options["instance"]
        if instance != 1:
            if not 1 < instance <= settings.MQTT_WORKERS:
                raise CommandError(f"--instance must be between 1 and MQTT_WORKERS ({settings.MQTT_WORKERS})")
            broker.username = f"{broker.username}-{instance}" if broker.username else None
        client_id = options["client_id"]
        if client_id is None:
            # With use_username_as_clientid (docs/operating.md) the broker uses the username anyway.
            client_id = broker.username or "wangge-worker"
            if options["shared"] and not broker.username:
                client_id = f"wangge-worker-{socket.gethostname()}"
        worker = IngestWorker(
            url=broker,
            session_expiry=settings.MQTT_SESSION_EXPIRY,
            client_id=client_id,
            topic=topic,
            batch_size=options["batch_size"],
            batch_wait=options["batch_ms"] / 1000.0,
            jobs={} if options["no_jobs"] else JOBS,
        )
        signal.signal(signal.SIGTERM, lambda *_: worker.stop.set())
        signal.signal(signal.SIGINT, lambda *_: worker.stop.set())
        self.stdout.write(f"worker: {broker.host}:{broker.port} topic {topic} client {client_id}")  # no password
        worker.run()
        self.stdout.write(f"worker stopped: {worker.stats}")
