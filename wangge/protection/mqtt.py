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
# The largest packet the broker may send us (announced in CONNECT, enforced on read): an
# OwnTracks message is well under 1 KB, and the parser refuses payloads over 64 KB anyway. The
# broker drops a bigger message instead of sending it, so one cannot block the queue.
MAXIMUM_PACKET_SIZE = 256 * 1024


@dataclass(slots=True)
class Broker:
    host: str
    port: int
    username: str | None
    password: str | None
    tls: bool
    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None


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


def broker_from_settings(url: str) -> Broker:
    """``url`` with the worker's account and TLS files from the settings (``MQTT_*``)."""
    from django.conf import settings

    broker = parse_url(url)
    broker.username = settings.MQTT_USERNAME or broker.username
    broker.password = settings.MQTT_PASSWORD or broker.password
    for name in ("ca_file", "cert_file", "key_file"):
        value = getattr(settings, f"MQTT_{name.upper()}")
        setattr(broker, name, str(value) if value else None)
    return broker


@dataclass
class Stats:
    received: int = 0
    stored: int = 0
    rejected: int = 0
    refused: int = 0
    batches: int = 0


class MqttError(OSError):
    """The connection is gone or the broker refused something: reconnect."""


class MalformedPacket(MqttError):
    """The broker sent bytes that are not MQTT 5 as we asked for it: drop the connection."""


class BrokerRefused(MqttError):
    """The broker answered, but not what the worker needs (credentials, subscription, QoS):
    retrying may help once an operator fixes the broker, so the worker keeps trying, loudly."""


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
    client_id: str,
    *,
    username: str | None,
    password: str | None,
    keepalive: int,
    clean_start: bool,
    session_expiry: int = SESSION_EXPIRY,
    maximum_packet_size: int = MAXIMUM_PACKET_SIZE,
) -> bytes:
    flags = (0x02 if clean_start else 0) | (0x80 if username else 0) | (0x40 if password is not None else 0)
    # No Topic Alias Maximum: it defaults to 0, so the broker must always send the topic.
    properties = (
        b"\x11" + struct.pack("!I", session_expiry)
        + b"\x21" + struct.pack("!H", RECEIVE_MAXIMUM)
        + b"\x27" + struct.pack("!I", maximum_packet_size)
    )  # fmt: skip
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


def disconnect_packet(reason: int = 0) -> bytes:
    return b"\xe0\x00" if reason == 0 else b"\xe0\x01" + bytes([reason])


PINGREQ = b"\xc0\x00"
DISCONNECT = disconnect_packet()

# Property identifiers by value type (§2.2.2.2).
_BYTE_PROPERTIES = {0x01, 0x17, 0x19, 0x24, 0x25, 0x28, 0x29, 0x2A}
_TWO_BYTE_PROPERTIES = {0x13, 0x21, 0x22, 0x23}
_FOUR_BYTE_PROPERTIES = {0x02, 0x11, 0x18, 0x27}
_STRING_PROPERTIES = {0x03, 0x08, 0x12, 0x15, 0x1A, 0x1C, 0x1F}
_BINARY_PROPERTIES = {0x09, 0x16}

REASONS = {
    0x80: "unspecified error",
    0x81: "malformed packet",
    0x82: "protocol error",
    0x85: "client identifier not valid",
    0x86: "bad user name or password",
    0x87: "not authorized",
    0x88: "server unavailable",
    0x89: "server busy",
    0x8A: "banned",
    0x8E: "session taken over",
    0x8F: "topic filter invalid",
    0x95: "packet too large",
    0x97: "quota exceeded",
    0x9B: "QoS not supported",
    0x9C: "use another server",
    0x9D: "server moved",
    0x9E: "shared subscriptions not supported",
    0xA2: "wildcard subscriptions not supported",
}


def _reason(code: int) -> str:
    return f"{code:#04x} ({REASONS.get(code, 'reason code')})"


def read_varint(data: bytes | bytearray, offset: int) -> tuple[int, int]:
    """A Variable Byte Integer at ``offset``: (value, offset after it). IndexError if the data
    ends inside it (more bytes may come); MalformedPacket if it is longer than four bytes."""
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
            raise MalformedPacket("malformed packet length")


def read_properties(body: bytes, offset: int) -> tuple[dict[int, object], int]:
    """The property block at ``offset``: ({identifier: value}, offset after it).

    User properties are dropped. A repeated or unknown property, or one running past the block,
    is a malformed packet (§2.2.2.2)."""
    length, offset = read_varint(body, offset)
    end = offset + length
    if end > len(body):
        raise MalformedPacket("properties run past the packet")
    found: dict[int, object] = {}
    while offset < end:
        identifier, offset = read_varint(body, offset)
        value: object
        if identifier in _BYTE_PROPERTIES:
            value, offset = body[offset], offset + 1
        elif identifier in _TWO_BYTE_PROPERTIES:
            value, offset = struct.unpack_from("!H", body, offset)[0], offset + 2
        elif identifier in _FOUR_BYTE_PROPERTIES:
            value, offset = struct.unpack_from("!I", body, offset)[0], offset + 4
        elif identifier == 0x0B:  # Subscription Identifier
            value, offset = read_varint(body, offset)
        elif identifier in _STRING_PROPERTIES or identifier in _BINARY_PROPERTIES:
            size = struct.unpack_from("!H", body, offset)[0]
            raw = body[offset + 2 : offset + 2 + size]
            if len(raw) != size:
                raise MalformedPacket("a property runs past the packet")
            value = raw.decode() if identifier in _STRING_PROPERTIES else raw
            offset += 2 + size
        elif identifier == 0x26:  # User Property: a string pair
            for _ in range(2):
                size = struct.unpack_from("!H", body, offset)[0]
                offset += 2 + size
            continue
        else:
            raise MalformedPacket(f"unknown property {identifier:#04x}")
        if identifier in found:
            raise MalformedPacket(f"property {identifier:#04x} repeated")
        found[identifier] = value
    if offset != end:
        raise MalformedPacket("properties run past their length")
    return found, end


@dataclass(slots=True)
class Message:
    topic: bytes
    payload: bytes
    packet_id: int  # 0 for QoS 0


# What goes wrong when parsing bytes that are not what they claim to be.
_PARSE_ERRORS = (IndexError, ValueError, struct.error, UnicodeDecodeError)


class MqttConnection:
    """One connection to the broker: the subscriber half of MQTT 5, QoS 0 and 1.

    What the broker says in CONNACK is honoured: its Server Keep Alive replaces ours, its
    Assigned Client Identifier becomes ours (for the next connection's session), its Maximum
    Packet Size bounds what we send, and a broker that cannot give what the worker needs
    (QoS 1, wildcard or shared subscriptions) is refused with a clear error. Its Receive
    Maximum, Topic Alias Maximum and Retain Available concern PUBLISH packets from the client,
    which this subscriber never sends. We announce no Topic Alias Maximum (so 0): a PUBLISH
    using a topic alias is a protocol error.

    ``dial`` makes the socket (TCP, with TLS for mqtts://); tests pass one end of a socket pair.
    """

    def __init__(
        self,
        broker: Broker,
        client_id: str,
        *,
        keepalive: int = KEEPALIVE,
        timeout: float = 10.0,
        session_expiry: int = SESSION_EXPIRY,
        maximum_packet_size: int = MAXIMUM_PACKET_SIZE,
        dial: Callable[[], socket.socket] | None = None,
    ) -> None:
        self.broker = broker
        self.client_id = client_id
        self.requested_keepalive = keepalive
        self.keepalive = keepalive
        self.timeout = timeout
        self.session_expiry = session_expiry
        self.maximum_packet_size = maximum_packet_size
        self.server_maximum_packet_size = 0  # 0: no limit announced
        self.dial = dial or self._dial
        self.sock: socket.socket | None = None
        self.buffer = bytearray()
        self.messages: list[Message] = []
        self.session_present = False
        self.connack_properties: dict[int, object] = {}
        self.last_sent = time.monotonic()
        self.last_received = time.monotonic()

    # -- connection --------------------------------------------------------------------------
    def _dial(self) -> socket.socket:
        sock = socket.create_connection((self.broker.host, self.broker.port), timeout=self.timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self.broker.tls:
            context = ssl.create_default_context(cafile=self.broker.ca_file)
            if self.broker.cert_file:
                context.load_cert_chain(self.broker.cert_file, self.broker.key_file)
            sock = context.wrap_socket(sock, server_hostname=self.broker.host)
        return sock

    def open(self, topic: str) -> None:
        sock = self.dial()
        sock.settimeout(self.timeout)
        self.sock = sock
        self.buffer.clear()
        self.messages.clear()
        self.keepalive = self.requested_keepalive
        self.server_maximum_packet_size = 0
        self.last_sent = self.last_received = time.monotonic()
        self.send(
            connect_packet(
                self.client_id,
                username=self.broker.username,
                password=self.broker.password,
                keepalive=self.keepalive,
                clean_start=False,
                session_expiry=self.session_expiry,
                maximum_packet_size=self.maximum_packet_size,
            )
        )
        _kind, body = self._wait_for(0x20)
        self._connack(body, topic)
        subscribe = subscribe_packet(1, topic)
        if self.server_maximum_packet_size and len(subscribe) > self.server_maximum_packet_size:
            raise BrokerRefused(f"the broker's maximum packet size is too small to subscribe to {topic}")
        self.send(subscribe)
        _kind, body = self._wait_for(0x90)
        self._suback(body, topic)
        sock.settimeout(None)
        sock.setblocking(False)

    def _connack(self, body: bytes, topic: str) -> None:
        try:
            if len(body) < 2:
                raise MalformedPacket("CONNACK too short")
            properties, _end = read_properties(body, 2) if len(body) > 2 else ({}, 2)
        except _PARSE_ERRORS as exc:
            raise MalformedPacket(f"malformed CONNACK: {exc!r}") from exc
        self.connack_properties = properties
        reason = body[1]
        if reason >= 0x80:
            detail = properties.get(0x1F) or ""
            if reason in (0x9C, 0x9D) and 0x1C in properties:
                detail = f"{detail} server reference {properties[0x1C]}".strip()
            raise BrokerRefused(f"the broker refused the connection: {_reason(reason)} {detail}".strip())
        self.session_present = bool(body[0] & 0x01)
        if 0x13 in properties:  # Server Keep Alive: MUST be used instead of ours [MQTT-3.2.2-21]
            self.keepalive = int(properties[0x13])  # type: ignore[call-overload]
        if 0x12 in properties:  # Assigned Client Identifier: ours from now on, to resume the session
            self.client_id = str(properties[0x12])
        if 0x27 in properties:  # Maximum Packet Size: we MUST NOT send bigger packets
            self.server_maximum_packet_size = int(properties[0x27])  # type: ignore[call-overload]
        if properties.get(0x24, 2) == 0:  # Maximum QoS 0: it would grant QoS 0, i.e. no persistence
            raise BrokerRefused("the broker supports QoS 0 only; the worker needs QoS 1 (no message may be lost)")
        if properties.get(0x28, 1) == 0 and ("+" in topic or "#" in topic):
            raise BrokerRefused(f"the broker does not support wildcard subscriptions, needed for {topic}")
        if properties.get(0x2A, 1) == 0 and topic.startswith("$share/"):
            raise BrokerRefused(f"the broker does not support shared subscriptions, needed for {topic}")

    def _suback(self, body: bytes, topic: str) -> None:
        try:
            # packet id (2), properties, one reason code per filter
            properties, offset = read_properties(body, 2)
        except _PARSE_ERRORS as exc:
            raise MalformedPacket(f"malformed SUBACK: {exc!r}") from exc
        codes = body[offset:]
        if len(codes) != 1:
            raise MalformedPacket(f"SUBACK with {len(codes)} reason codes for one topic filter")
        if codes[0] >= 0x80:
            detail = properties.get(0x1F) or ""
            raise BrokerRefused(f"the broker refused the subscription to {topic}: {_reason(codes[0])} {detail}".strip())
        if codes[0] == 0:
            # Granted QoS 0: the broker would neither keep messages while the worker is down nor
            # redeliver one it lost mid-batch. Better not to run than to lose fixes silently.
            raise BrokerRefused(
                f"the broker granted QoS 0 for {topic}; the worker needs QoS 1 (check the broker's maximum QoS)"
            )

    def close(self, *, clean: bool = False, reason: int = 0) -> None:
        if self.sock is None:
            return
        try:
            if clean or reason:
                self.sock.setblocking(True)
                self.sock.settimeout(2)
                self.sock.sendall(disconnect_packet(reason))
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
                elif first & 0xF0 == 0x20:
                    raise MalformedPacket("CONNACK out of turn")
                else:
                    self._handle_checked(first, body)
            if found is not None:
                return found
            self.sock.settimeout(max(0.01, deadline - time.monotonic()))
            data = self.sock.recv(65536)
            if not data:
                raise MqttError("the broker closed the connection")
            self.buffer += data
        raise MqttError("the broker did not answer")

    # -- I/O -----------------------------------------------------------------------------------
    def send(self, data: bytes) -> None:
        """Everything in ``data``, within ``timeout`` seconds: a broker that stops reading makes
        this fail (and the worker reconnect) instead of hanging the worker."""
        if self.sock is None:
            raise MqttError("not connected")
        view = memoryview(data)
        deadline = time.monotonic() + self.timeout
        while view:
            try:
                sent = self.sock.send(view)
            except (BlockingIOError, ssl.SSLWantWriteError, ssl.SSLWantReadError):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise MqttError(f"the broker stopped reading: could not send for {self.timeout:g} s") from None
                select.select([], [self.sock], [], min(remaining, 1.0))
                continue
            except TimeoutError:
                raise MqttError(f"the broker stopped reading: could not send for {self.timeout:g} s") from None
            view = view[sent:]
        self.last_sent = time.monotonic()

    def ack(self, packet_ids: list[int]) -> None:
        # 4 bytes a PUBACK: chunks stay far below any Maximum Packet Size worth the name, and each
        # PUBACK is its own packet anyway.
        for start in range(0, len(packet_ids), 8192):
            self.send(pubacks(packet_ids[start : start + 8192]))

    def poll(self, timeout: float) -> None:
        """Read what the socket has (waiting up to ``timeout``) into ``messages``; keep alive."""
        assert self.sock is not None
        now = time.monotonic()
        if self.keepalive:  # 0: the broker asked for no keep alive
            if now - self.last_sent >= self.keepalive / 2:
                self.send(PINGREQ)
            if now - self.last_received > self.keepalive * 1.5:
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
            self._handle_checked(first, body)

    def _packets(self) -> list[tuple[int, bytes]]:
        """Complete packets at the head of the buffer, removed from it."""
        buffer = self.buffer
        packets = []
        offset, size = 0, len(buffer)
        limit = self.maximum_packet_size
        while offset + 2 <= size:
            try:
                length, start = read_varint(buffer, offset + 1)
            except IndexError:
                break
            except MalformedPacket:
                self.close(reason=0x81)
                raise
            if start - offset + length > limit:
                # §3.1.2.11.4: a packet over our Maximum Packet Size is a protocol error.
                del buffer[:]
                self.close(reason=0x95)
                raise MalformedPacket(f"the broker sent a packet of {start - offset + length} bytes, over {limit}")
            end = start + length
            if end > size:
                break
            packets.append((buffer[offset], bytes(buffer[start:end])))
            offset = end
        if offset:
            del buffer[:offset]
        return packets

    def _handle_checked(self, first: int, body: bytes) -> None:
        try:
            self._handle(first, body)
        except MqttError as exc:
            if isinstance(exc, MalformedPacket):
                self.close(reason=0x81)
            raise
        except _PARSE_ERRORS as exc:
            # A truncated or lying packet: before, an IndexError here escaped the OSError
            # handlers and killed the worker. Now it is the connection's end, and a reconnect.
            self.close(reason=0x81)
            raise MalformedPacket(f"malformed packet {first:#04x}: {exc!r}") from exc

    def _handle(self, first: int, body: bytes) -> None:
        kind = first & 0xF0
        if kind == 0x30:  # PUBLISH
            qos = (first >> 1) & 0x03
            topic_length = (body[0] << 8) | body[1]
            offset = 2 + topic_length
            topic = body[2:offset]
            packet_id = 0
            if qos:
                if qos == 3:
                    raise MalformedPacket("PUBLISH with QoS 3")
                packet_id = (body[offset] << 8) | body[offset + 1]
                offset += 2
            if body[offset] == 0:  # no properties: the usual case, kept cheap
                offset += 1
            else:
                properties, offset = read_properties(body, offset)
                if 0x23 in properties:
                    raise MalformedPacket("PUBLISH with a topic alias, which we did not allow")
            if not topic or len(topic) != topic_length:
                raise MalformedPacket("PUBLISH without a whole topic")
            self.messages.append(Message(topic, body[offset:], packet_id))
            if qos == 2:
                raise MqttError("QoS 2 is not supported: subscribe with QoS 1")
        elif kind == 0xD0 or kind == 0x90:  # PINGRESP, a repeated SUBACK: nothing to do
            return
        elif kind == 0xE0:  # DISCONNECT from the broker
            reason = body[0] if body else 0
            detail = ""
            if len(body) > 1:
                properties, _end = read_properties(body, 1)
                detail = " ".join(str(properties[key]) for key in (0x1F, 0x1C) if key in properties)
            raise MqttError(f"the broker disconnected us: {_reason(reason)} {detail}".strip())
        else:
            raise MalformedPacket(f"unexpected packet type {first:#04x} for a subscriber")


# -- the worker ------------------------------------------------------------------------------


class IngestWorker:
    def __init__(
        self,
        *,
        url: str | Broker,
        client_id: str,
        topic: str = TOPIC,
        batch_size: int = 5000,
        batch_wait: float = 0.05,
        jobs: dict[str, tuple[int, Callable]] | None = None,
        session_expiry: int = SESSION_EXPIRY,
        keepalive: int = KEEPALIVE,
        timeout: float = 10.0,
        dial: Callable[[], socket.socket] | None = None,
    ) -> None:
        self.broker = parse_url(url) if isinstance(url, str) else url
        self.client_id = client_id
        self.topic = topic
        self.batch_size = batch_size
        self.batch_wait = batch_wait
        self.jobs = jobs or {}
        self.stats = Stats()
        self.stop = threading.Event()
        self.connected = threading.Event()
        self.connections = 0  # how many times the worker connected (a test reads it)
        self.connection = MqttConnection(
            self.broker, client_id, keepalive=keepalive, timeout=timeout, session_expiry=session_expiry, dial=dial
        )

    def connect(self) -> None:
        delay = 1.0
        while not self.stop.is_set():
            try:
                self.connection.open(self.topic)
            except OSError as exc:
                level = logging.ERROR if isinstance(exc, BrokerRefused) else logging.WARNING
                logger.log(level, "MQTT connection to %s:%s failed: %s", self.broker.host, self.broker.port, exc)
                self.connection.close()
                self.stop.wait(delay)
                delay = min(30.0, delay * 2)
                continue
            self.connections += 1
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
