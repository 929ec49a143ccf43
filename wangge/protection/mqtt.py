"""The MQTT side of ingest: OwnTracks phones publish to ``owntracks/<user>/<device>``.

The worker keeps a persistent session (MQTT 5, ``clean_start=False`` with a session expiry) under
a fixed client id, so the broker keeps QoS 1 messages for it while it is down. Messages are
acknowledged only after the batch that stored them has committed (paho's ``manual_ack``): a
worker killed at any moment loses nothing the broker accepted, and a message redelivered after
the kill is caught by the location's unique key instead of being stored twice.

Broker settings that matter (mosquitto.conf): ``max_queued_messages`` (default 1000 per client)
bounds what is kept while the worker is down — set it to the backlog you want to survive, e.g.
``max_queued_messages 1000000``; the worker announces a receive maximum of 65535 so the broker
streams without waiting for acknowledgements. Scale out by running several workers with
``--shared`` (``$share/wangge/owntracks/+/+``).
"""

from __future__ import annotations

import datetime
import logging
import queue
import threading
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass

import paho.mqtt.client as mqtt
from django.db import OperationalError, close_old_connections
from django.utils import timezone
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from wangge.protection.ingest import Result, ingest
from wangge.protection.protocols import SOURCE_OWNTRACKS_MQTT, Fix, Rejected, owntracks_topic, parse_owntracks

logger = logging.getLogger(__name__)

TOPIC = "owntracks/+/+"
SESSION_EXPIRY = 7 * 24 * 3600


@dataclass(slots=True)
class Broker:
    host: str
    port: int
    username: str | None
    password: str | None
    tls: bool


def parse_url(url: str) -> Broker:
    parsed = urllib.parse.urlsplit(url)
    if parsed.scheme not in ("mqtt", "mqtts"):
        raise ValueError(f"MQTT_URL: expected mqtt:// or mqtts://, got {url!r}")
    return Broker(
        host=parsed.hostname or "127.0.0.1",
        port=parsed.port or (8883 if parsed.scheme == "mqtts" else 1883),
        username=urllib.parse.unquote(parsed.username) if parsed.username else None,
        password=urllib.parse.unquote(parsed.password) if parsed.password else None,
        tls=parsed.scheme == "mqtts",
    )


@dataclass
class Stats:
    received: int = 0
    stored: int = 0
    rejected: int = 0
    refused: int = 0
    batches: int = 0


class IngestWorker:
    def __init__(
        self,
        *,
        url: str,
        client_id: str,
        topic: str = TOPIC,
        batch_size: int = 1000,
        batch_wait: float = 0.05,
        jobs: dict[str, tuple[int, Callable]] | None = None,
    ) -> None:
        self.broker = parse_url(url)
        self.topic = topic
        self.batch_size = batch_size
        self.batch_wait = batch_wait
        self.jobs = jobs or {}
        self.stats = Stats()
        self.stop = threading.Event()
        self.connected = threading.Event()
        self.inbox: queue.Queue[mqtt.MQTTMessage] = queue.Queue()
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5, manual_ack=True
        )
        if self.broker.username:
            self.client.username_pw_set(self.broker.username, self.broker.password)
        if self.broker.tls:
            self.client.tls_set()
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self.client.on_disconnect = self._on_disconnect

    # paho's network thread: only queue, never touch the database here.
    def _on_connect(self, client: mqtt.Client, userdata: object, flags: object, reason: object, props: object) -> None:
        if getattr(reason, "is_failure", False):
            logger.error("MQTT connection refused: %s", reason)
            return
        client.subscribe(self.topic, qos=1)
        self.connected.set()
        logger.info("MQTT connected, subscribed to %s", self.topic)

    def _on_disconnect(self, *args: object) -> None:
        self.connected.clear()
        logger.warning("MQTT disconnected; paho reconnects")

    def _on_message(self, client: mqtt.Client, userdata: object, message: mqtt.MQTTMessage) -> None:
        self.inbox.put(message)

    def connect(self) -> None:
        properties = Properties(PacketTypes.CONNECT)
        properties.SessionExpiryInterval = SESSION_EXPIRY
        properties.ReceiveMaximum = 65535
        self.client.reconnect_delay_set(1, 30)
        self.client.connect_async(
            self.broker.host, self.broker.port, keepalive=30, clean_start=False, properties=properties
        )
        self.client.loop_start()

    def _take_batch(self) -> list[mqtt.MQTTMessage]:
        try:
            first = self.inbox.get(timeout=0.2)
        except queue.Empty:
            return []
        batch = [first]
        deadline = time.monotonic() + self.batch_wait
        while len(batch) < self.batch_size:
            remaining = deadline - time.monotonic()
            try:
                batch.append(self.inbox.get_nowait() if remaining <= 0 else self.inbox.get(timeout=remaining))
            except queue.Empty:
                break
        return batch

    def process(self, batch: list[mqtt.MQTTMessage]) -> None:
        now = timezone.now()
        fixes: list[Fix] = []
        for message in batch:
            try:
                user, device = owntracks_topic(message.topic)
                fix = parse_owntracks(message.payload, user=user, device=device, source=SOURCE_OWNTRACKS_MQTT, now=now)
            except Rejected as exc:
                self.stats.rejected += 1
                logger.info("rejected message on %s: %s", message.topic, exc.reason)
                continue
            if fix is not None:
                fixes.append(fix)
        while not self.stop.is_set():
            try:
                result = ingest(fixes, now=now)
                break
            except OperationalError:
                # Database away or locked: keep the batch unacknowledged and try again.
                logger.exception("ingest failed, retrying")
                close_old_connections()
                time.sleep(1)
            except Exception:
                # Something in one message breaks the batch: store the others one by one, so a
                # poison message cannot block the queue by being redelivered for ever.
                logger.exception("batch failed; ingesting its %d fixes one by one", len(fixes))
                result = self._one_by_one(fixes, now)
                break
        else:
            return  # stopping: unacknowledged messages come back after restart
        # Committed: now the broker may forget them.
        for message in batch:
            if message.qos > 0:
                self.client.ack(message.mid, message.qos)
        self.stats.received += len(batch)
        self.stats.stored += result.stored
        self.stats.refused += result.refused
        self.stats.batches += 1

    def _one_by_one(self, fixes: list[Fix], now: datetime.datetime) -> Result:
        total = Result()
        for fix in fixes:
            try:
                single = ingest([fix], now=now)
            except OperationalError:
                raise
            except Exception:
                logger.exception("dropped a fix of %s that cannot be stored", fix.identifier)
                self.stats.rejected += 1
                continue
            total.stored += single.stored
            total.refused += single.refused
        return total

    def run_jobs(self, last_run: dict[str, float]) -> None:
        for name, (every, job) in self.jobs.items():
            if time.monotonic() - last_run.get(name, 0.0) < every:
                continue
            last_run[name] = time.monotonic()
            try:
                job(timezone.now())
            except Exception:
                logger.exception("job %s failed", name)

    def run(self) -> None:
        self.connect()
        last_run: dict[str, float] = {}
        try:
            while not self.stop.is_set():
                batch = self._take_batch()
                if batch:
                    self.process(batch)
                self.run_jobs(last_run)
        finally:
            self.client.disconnect()
            self.client.loop_stop()
