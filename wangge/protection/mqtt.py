"""The MQTT side of ingest: OwnTracks phones publish to ``owntracks/<user>/<device>``.

The worker keeps a persistent session (MQTT 5, ``clean_start=False`` with a session expiry) under
a fixed client id, so the broker keeps QoS 1 messages for it while it is down. Messages are
acknowledged only after the batch that stored them has committed: a worker killed at any moment
loses nothing the broker accepted, and a message redelivered after the kill is caught by the
location's unique key instead of being stored twice. The worker reports itself connected (and
``wangge worker`` prints "MQTT connected") only once the broker has granted the subscription
(SUBACK): before that, on a first start, the broker would not yet keep messages for it.

The subscriber side of MQTT 5 is spoken directly on the socket (``MqttConnection``) rather than
through paho: the worker needs only CONNECT, SUBSCRIBE, PUBLISH at QoS 0/1, PUBACK and PINGREQ,
and doing it here lets it read whole socket buffers at once, keep each message as two byte
strings, and send a batch's PUBACKs in one write. paho's per-message objects, locks and
callbacks cost about 100 µs of CPU a message on this machine, five times the rest of ingest.

Broker settings that matter (mosquitto.conf): ``max_queued_messages`` (default 1000 per client)
bounds what is kept while the worker is down — set it to the backlog you want to survive, e.g.
``max_queued_messages 1000000``; the worker announces a receive maximum of 65535 so the broker
streams without waiting for acknowledgements. Scale out by running several workers with
``--shared`` (``$share/wangge/owntracks/+/+``).
"""

from __future__ import annotations

import contextlib
import datetime
import logging
import queue
import select
import socket
import ssl
import struct
import threading
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass

import orjson
from django.db import OperationalError, close_old_connections
from django.utils import timezone

from wangge.protection.ingest import Result, ingest
from wangge.protection.protocols import (
    SOURCE_OWNTRACKS_MQTT,
    Fix,
    Rejected,
    decode_json,
    owntracks_topic,
    parse_owntracks,
)

logger = logging.getLogger(__name__)

TOPIC = "owntracks/+/+"
SESSION_EXPIRY = 7 * 24 * 3600
KEEPALIVE = 30
RECEIVE_MAXIMUM = 65535


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


class MqttError(OSError):
    """The connection is gone or the broker refused something: reconnect."""


# -- MQTT 5 wire format (OASIS MQTT 5.0, §2–3) ----------------------------------------------


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n % 128, n // 128
        out.append(byte | 0x80 if n else byte)
        if not n:
            return bytes(out)


def _string(value: str | bytes) -> bytes:
    raw = value.encode() if isinstance(value, str) else value
    return struct.pack("!H", len(raw)) + raw


def _packet(first: int, body: bytes) -> bytes:
    return bytes([first]) + _varint(len(body)) + body


def connect_packet(
    client_id: str, *, username: str | None, password: str | None, keepalive: int, clean_start: bool
) -> bytes:
    flags = (0x02 if clean_start else 0) | (0x80 if username else 0) | (0x40 if password is not None else 0)
    properties = b"\x11" + struct.pack("!I", SESSION_EXPIRY) + b"\x21" + struct.pack("!H", RECEIVE_MAXIMUM)
    body = _string("MQTT") + bytes([5, flags]) + struct.pack("!H", keepalive) + _varint(len(properties)) + properties
    body += _string(client_id)
    if username:
        body += _string(username)
    if password is not None:
        body += _string(password)
    return _packet(0x10, body)


def subscribe_packet(packet_id: int, topic: str, qos: int = 1) -> bytes:
    return _packet(0x82, struct.pack("!H", packet_id) + b"\x00" + _string(topic) + bytes([qos]))


def pubacks(packet_ids: list[int]) -> bytes:
    """PUBACKs (success, no reason code or properties) for many messages in one buffer."""
    return b"".join(b"\x40\x02" + struct.pack("!H", pid) for pid in packet_ids)


PINGREQ = b"\xc0\x00"
DISCONNECT = b"\xe0\x00"


@dataclass(slots=True)
class Message:
    topic: bytes
    payload: bytes
    packet_id: int  # 0 for QoS 0


class MqttConnection:
    """One connection to the broker: the subscriber half of MQTT 5, QoS 0 and 1."""

    def __init__(self, broker: Broker, client_id: str, *, keepalive: int = KEEPALIVE, timeout: float = 10.0) -> None:
        self.broker = broker
        self.client_id = client_id
        self.keepalive = keepalive
        self.timeout = timeout
        self.sock: socket.socket | None = None
        self.buffer = bytearray()
        self.messages: list[Message] = []
        self.session_present = False
        self.last_sent = time.monotonic()
        self.last_received = time.monotonic()

    # -- connection --------------------------------------------------------------------------
    def open(self, topic: str) -> None:
        sock = socket.create_connection((self.broker.host, self.broker.port), timeout=self.timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self.broker.tls:
            sock = ssl.create_default_context().wrap_socket(sock, server_hostname=self.broker.host)
        self.sock = sock
        self.buffer.clear()
        self.messages.clear()
        self.send(
            connect_packet(
                self.client_id,
                username=self.broker.username,
                password=self.broker.password,
                keepalive=self.keepalive,
                clean_start=False,
            )
        )
        _kind, body = self._wait_for(0x20)
        if len(body) < 2 or body[1] >= 0x80:
            raise MqttError(f"MQTT connection refused: reason code {body[1] if len(body) > 1 else '?'}")
        self.session_present = bool(body[0] & 0x01)
        self.send(subscribe_packet(1, topic))
        _kind, body = self._wait_for(0x90)
        # packet id (2), properties (varint length + properties), one reason code per filter
        length, offset = self._read_varint(body, 2)
        codes = body[offset + length :]
        if not codes or codes[0] >= 0x80:
            raise MqttError(f"MQTT subscription to {topic} refused: reason code {codes[0] if codes else '?'}")
        self.sock.settimeout(None)
        self.sock.setblocking(False)

    def close(self, *, clean: bool = False) -> None:
        if self.sock is None:
            return
        try:
            if clean:
                self.sock.setblocking(True)
                self.sock.settimeout(2)
                self.sock.sendall(DISCONNECT)
        except OSError:
            pass
        try:
            self.sock.close()
        finally:
            self.sock = None

    def _wait_for(self, kind: int) -> tuple[int, bytes]:
        """During the handshake: the next control packet of ``kind``; messages are kept."""
        assert self.sock is not None
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            found = None
            # A resumed session's messages may follow CONNACK in the same read: keep every one
            # (a PUBLISH dropped here would stay unacknowledged, and unsent, until a reconnect).
            for first, body in self._packets():
                if found is None and first & 0xF0 == kind:
                    found = first, body
                else:
                    self._handle(first, body)
            if found is not None:
                return found
            data = self.sock.recv(65536)
            if not data:
                raise MqttError("the broker closed the connection")
            self.buffer += data
        raise MqttError("the broker did not answer")

    # -- I/O -----------------------------------------------------------------------------------
    def send(self, data: bytes) -> None:
        if self.sock is None:
            raise MqttError("not connected")
        view = memoryview(data)
        while view:
            try:
                sent = self.sock.send(view)
            except (BlockingIOError, ssl.SSLWantWriteError):
                select.select([], [self.sock], [], 1.0)
                continue
            view = view[sent:]
        self.last_sent = time.monotonic()

    def ack(self, packet_ids: list[int]) -> None:
        for start in range(0, len(packet_ids), 8192):
            self.send(pubacks(packet_ids[start : start + 8192]))

    def poll(self, timeout: float) -> None:
        """Read what the socket has (waiting up to ``timeout``) into ``messages``; keep alive."""
        assert self.sock is not None
        now = time.monotonic()
        if now - self.last_sent >= self.keepalive / 2:
            self.send(PINGREQ)
        if now - self.last_received > self.keepalive * 2:
            raise MqttError("the broker stopped answering")
        pending = isinstance(self.sock, ssl.SSLSocket) and self.sock.pending()
        if not pending and not select.select([self.sock], [], [], timeout)[0]:
            return
        while True:
            try:
                data = self.sock.recv(1 << 20)
            except (BlockingIOError, ssl.SSLWantReadError):
                break
            if not data:
                raise MqttError("the broker closed the connection")
            self.buffer += data
            self.last_received = time.monotonic()
            if len(data) < (1 << 20):
                break
        for first, body in self._packets():
            self._handle(first, body)

    @staticmethod
    def _read_varint(data: bytes | bytearray, offset: int) -> tuple[int, int]:
        value, shift = 0, 0
        while True:
            if offset >= len(data):
                raise IndexError
            byte = data[offset]
            offset += 1
            value |= (byte & 0x7F) << shift
            if not byte & 0x80:
                return value, offset
            shift += 7
            if shift > 21:
                raise MqttError("malformed packet length")

    def _packets(self) -> list[tuple[int, bytes]]:
        """Complete packets at the head of the buffer, removed from it."""
        buffer = self.buffer
        packets = []
        offset, size = 0, len(buffer)
        read_varint = self._read_varint
        while offset + 2 <= size:
            try:
                length, start = read_varint(buffer, offset + 1)
            except IndexError:
                break
            end = start + length
            if end > size:
                break
            packets.append((buffer[offset], bytes(buffer[start:end])))
            offset = end
        if offset:
            del buffer[:offset]
        return packets

    def _handle(self, first: int, body: bytes) -> None:
        kind = first & 0xF0
        if kind == 0x30:  # PUBLISH
            qos = (first >> 1) & 0x03
            topic_length = (body[0] << 8) | body[1]
            offset = 2 + topic_length
            topic = body[2:offset]
            packet_id = 0
            if qos:
                packet_id = (body[offset] << 8) | body[offset + 1]
                offset += 2
            length, offset = self._read_varint(body, offset)  # MQTT 5 properties: not used
            self.messages.append(Message(topic, body[offset + length :], packet_id))
            if qos == 2:
                raise MqttError("QoS 2 is not supported: subscribe with QoS 1")
        elif kind == 0xE0:  # DISCONNECT from the broker
            raise MqttError(f"the broker disconnected us: reason code {body[0] if body else 0}")
        # PINGRESP, SUBACK repeats and anything else: nothing to do.


# -- the worker ------------------------------------------------------------------------------


class IngestWorker:
    def __init__(
        self,
        *,
        url: str,
        client_id: str,
        topic: str = TOPIC,
        batch_size: int = 5000,
        batch_wait: float = 0.05,
        jobs: dict[str, tuple[int, Callable]] | None = None,
    ) -> None:
        self.broker = parse_url(url)
        self.client_id = client_id
        self.topic = topic
        self.batch_size = batch_size
        self.batch_wait = batch_wait
        self.jobs = jobs or {}
        self.stats = Stats()
        self.stop = threading.Event()
        self.connected = threading.Event()
        self.connection = MqttConnection(self.broker, client_id)

    def connect(self) -> None:
        delay = 1.0
        while not self.stop.is_set():
            try:
                self.connection.open(self.topic)
            except OSError as exc:
                logger.warning("MQTT connection to %s:%s failed: %s", self.broker.host, self.broker.port, exc)
                self.connection.close()
                self.stop.wait(delay)
                delay = min(30.0, delay * 2)
                continue
            self.connected.set()
            logger.info("MQTT connected, subscribed to %s", self.topic)
            return

    def _take_batch(self) -> list[Message]:
        """Up to ``batch_size`` messages, waiting at most ``batch_wait`` after the first."""
        connection = self.connection
        deadline = None
        while len(connection.messages) < self.batch_size and not self.stop.is_set():
            if connection.messages and deadline is None:
                deadline = time.monotonic() + self.batch_wait
            remaining = 0.2 if deadline is None else deadline - time.monotonic()
            if remaining <= 0:
                break
            connection.poll(remaining)
            if deadline is None and not connection.messages:
                return []
        batch = connection.messages[: self.batch_size]
        del connection.messages[: self.batch_size]
        return batch

    def parse(self, batch: list[Message], now: datetime.datetime) -> list[Fix]:
        fixes: list[Fix] = []
        for message in batch:
            try:
                user, device = owntracks_topic(message.topic.decode())
                try:
                    payload = orjson.loads(message.payload) if len(message.payload) <= 65536 else None
                except orjson.JSONDecodeError:
                    payload = None
                if payload is None:
                    payload = decode_json(message.payload)  # the protocol's own reason for refusing it
                fix = parse_owntracks(payload, user=user, device=device, source=SOURCE_OWNTRACKS_MQTT, now=now)
            except (Rejected, UnicodeDecodeError) as exc:
                self.stats.rejected += 1
                logger.info("rejected message on %r: %s", message.topic, getattr(exc, "reason", exc))
                continue
            if fix is not None:
                fixes.append(fix)
        return fixes

    def process(self, batch: list[Message]) -> None:
        """Store a batch and acknowledge it (in one thread; ``run`` pipelines the two halves)."""
        packet_ids = self.store(batch, self.parse(batch, timezone.now()))
        if packet_ids is not None:
            self.connection.ack(packet_ids)

    def store(self, batch: list[Message], fixes: list[Fix], *, keepalive: bool = True) -> list[int] | None:
        """Ingest ``fixes`` (parsed from ``batch``) in one transaction; the packet ids to
        acknowledge once committed, or None when stopping before it could commit."""
        now = timezone.now()
        while not self.stop.is_set():
            try:
                result = ingest(fixes, now=now)
                break
            except OperationalError:
                # Database away or locked: keep the batch unacknowledged and try again.
                logger.exception("ingest failed, retrying")
                close_old_connections()
                self.stop.wait(1)
                if keepalive:
                    self.connection.poll(0)  # keep the connection alive meanwhile
            except Exception:
                # Something in one message breaks the batch: store the others one by one, so a
                # poison message cannot block the queue by being redelivered for ever.
                logger.exception("batch failed; ingesting its %d fixes one by one", len(fixes))
                result = self._one_by_one(fixes, now)
                break
        else:
            return None  # stopping: unacknowledged messages come back after restart
        self.stats.received += len(batch)
        self.stats.stored += result.stored
        self.stats.refused += result.refused
        self.stats.batches += 1
        return [message.packet_id for message in batch if message.packet_id]

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
        """Two threads, so the broker's socket and the database work overlap: this one reads and
        parses the next batch while a storing thread commits the previous one (most of a batch's
        time is spent waiting for the database, with the GIL released). A batch is acknowledged
        only after its commit, by this thread (the only one touching the socket), and only on the
        connection it came from: after a reconnect the broker redelivers it, and the location's
        unique key keeps the copy out."""
        work: queue.Queue[tuple[int, list[Message], list[Fix]] | None] = queue.Queue(maxsize=1)
        done: queue.SimpleQueue[tuple[int, list[int]]] = queue.SimpleQueue()
        generation = 0
        storer = threading.Thread(target=self._store_loop, args=(work, done), name="ingest-store", daemon=True)
        storer.start()

        def send_acks() -> None:
            while True:
                try:
                    batch_generation, packet_ids = done.get_nowait()
                except queue.Empty:
                    return
                if batch_generation == generation and packet_ids and self.connected.is_set():
                    self.connection.ack(packet_ids)

        try:
            while not self.stop.is_set():
                if not self.connected.is_set():
                    self.connect()
                    generation += 1
                    continue
                try:
                    send_acks()
                    batch = self._take_batch()
                    if not batch:
                        continue
                    item = (generation, batch, self.parse(batch, timezone.now()))
                    while not self.stop.is_set():
                        try:
                            work.put(item, timeout=0.2)
                            break
                        except queue.Full:
                            if not storer.is_alive():
                                raise RuntimeError("the storing thread died") from None
                            send_acks()
                            self.connection.poll(0)  # keep alive while the database is slow
                except OSError as exc:
                    # Unacknowledged messages of this connection come back on the next one.
                    logger.warning("MQTT disconnected (%s); reconnecting", exc)
                    self.connected.clear()
                    self.connection.close()
                    self.stop.wait(1)
                    continue
        finally:
            # The storing thread finishes the batch it holds, then stops.
            while storer.is_alive():
                with contextlib.suppress(queue.Full):
                    work.put(None, timeout=0.2)
                    break
            storer.join()
            with contextlib.suppress(OSError):
                send_acks()
            self.connected.clear()
            self.connection.close(clean=True)

    def _store_loop(
        self,
        work: queue.Queue[tuple[int, list[Message], list[Fix]] | None],
        done: queue.SimpleQueue[tuple[int, list[int]]],
    ) -> None:
        from django.db import connection

        last_run: dict[str, float] = {}
        try:
            while True:
                try:
                    item = work.get(timeout=0.2)
                except queue.Empty:
                    self.run_jobs(last_run)
                    continue
                if item is None:
                    return
                generation, batch, fixes = item
                packet_ids = self.store(batch, fixes, keepalive=False)
                if packet_ids is not None:
                    done.put((generation, packet_ids))
                self.run_jobs(last_run)
        finally:
            connection.close()
