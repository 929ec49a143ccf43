"""The worker's MQTT 5 client against a scripted broker on a socket pair (no Mosquitto needed).

The fake broker is the other end of ``socket.socketpair()``: it answers CONNECT and SUBSCRIBE
as told, records what the client sends, and lets a test push any bytes — well-formed messages,
one byte at a time, or packets a real broker should never send.
"""

from __future__ import annotations

import json
import socket
import struct
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from wangge.protection import mqtt as mqtt_module
from wangge.protection.models import Location
from wangge.protection.mqtt import (
    MAXIMUM_PACKET_SIZE,
    Broker,
    BrokerRefused,
    IngestWorker,
    MalformedPacket,
    MqttConnection,
    MqttError,
    _packet,
    _string,
    _varint,
    read_properties,
    read_varint,
)
from wangge.protection.tests.conftest import HOME, Protected, wait_for

BROKER = Broker(host="fake", port=0, username="worker", password="secret", tls=False)


def connack(reason: int = 0, properties: bytes = b"") -> bytes:
    return _packet(0x20, bytes([0, reason]) + _varint(len(properties)) + properties)


def publish(topic: str, payload: bytes, packet_id: int = 0, properties: bytes = b"") -> bytes:
    qos = 1 if packet_id else 0
    body = _string(topic) + (struct.pack("!H", packet_id) if packet_id else b"")
    return _packet(0x30 | qos << 1, body + _varint(len(properties)) + properties + payload)


class FakeBroker:
    """Serves every connection the client dials; one thread per connection."""

    def __init__(self, *, connack: bytes = connack(), suback_code: int = 1, answer_pings: bool = True) -> None:
        self.connack = connack
        self.suback_code = suback_code
        self.answer_pings = answer_pings
        self.read = True  # False: stop reading what the client sends
        self.sockets: list[socket.socket] = []
        self.connects: list[bytes] = []
        self.subscribed = threading.Event()
        self.pingreqs = 0
        self.acked: list[int] = []
        self.disconnects: list[bytes] = []
        self.lock = threading.Lock()

    def dial(self) -> socket.socket:
        client, server = socket.socketpair()
        self.subscribed.clear()
        self.sockets.append(server)
        threading.Thread(target=self._serve, args=(server,), daemon=True).start()
        return client

    @property
    def current(self) -> socket.socket:
        return self.sockets[-1]

    def send(self, data: bytes, *, chunk: int = 0) -> None:
        with self.lock:
            if not chunk:
                self.current.sendall(data)
                return
            for start in range(0, len(data), chunk):
                self.current.sendall(data[start : start + chunk])
                time.sleep(0.002)  # the client reads each piece on its own

    def drop(self) -> None:
        """The broker goes away (shutdown first: a close alone does not wake the reading thread)."""
        self.current.shutdown(socket.SHUT_RDWR)
        self.current.close()

    def _serve(self, sock: socket.socket) -> None:
        buffer = bytearray()
        try:
            while True:
                while not self.read:
                    time.sleep(0.01)
                data = sock.recv(65536)
                if not data:
                    return
                buffer += data
                while len(buffer) >= 2:
                    try:
                        length, start = read_varint(buffer, 1)
                    except IndexError:
                        break
                    if len(buffer) < start + length:
                        break
                    first, body = buffer[0], bytes(buffer[start : start + length])
                    del buffer[: start + length]
                    self._answer(sock, first, body)
        except OSError:
            return

    def _answer(self, sock: socket.socket, first: int, body: bytes) -> None:
        kind = first & 0xF0
        with self.lock:
            if kind == 0x10:
                self.connects.append(body)
                sock.sendall(self.connack)
            elif kind == 0x80:
                sock.sendall(_packet(0x90, body[:2] + b"\x00" + bytes([self.suback_code])))
                self.subscribed.set()
            elif kind == 0xC0:
                self.pingreqs += 1
                if self.answer_pings:
                    sock.sendall(b"\xd0\x00")
            elif kind == 0x40:
                self.acked.append(struct.unpack("!H", body[:2])[0])
            elif kind == 0xE0:
                self.disconnects.append(body)


def connect_properties(body: bytes) -> dict[int, object]:
    # protocol name (6), version (1), flags (1), keep alive (2), then the properties
    properties, _end = read_properties(body, 10)
    return properties


def opened(broker: FakeBroker, **kwargs: Any) -> MqttConnection:
    kwargs.setdefault("timeout", 2.0)
    connection = MqttConnection(BROKER, "test-client", dial=broker.dial, **kwargs)
    connection.open("owntracks/+/+")
    return connection


def poll_until(connection: MqttConnection, condition: Callable[[], Any], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        connection.poll(0.05)


# -- the handshake ---------------------------------------------------------------------------


def test_it_announces_its_maximum_packet_size_and_session_expiry_in_connect() -> None:
    broker = FakeBroker()
    connection = opened(broker, session_expiry=3600)
    properties = connect_properties(broker.connects[0])
    assert properties[0x27] == MAXIMUM_PACKET_SIZE
    assert properties[0x11] == 3600
    assert 0x22 not in properties  # topic alias maximum 0: the broker must always send the topic
    assert b"worker" in broker.connects[0] and b"secret" in broker.connects[0]
    connection.close()


def test_it_uses_the_brokers_keep_alive_and_pings_within_it() -> None:
    broker = FakeBroker(connack=connack(properties=b"\x13\x00\x01"))  # Server Keep Alive: 1 s
    connection = opened(broker)
    assert connection.keepalive == 1
    poll_until(connection, lambda: broker.pingreqs >= 2, timeout=5)
    connection.close()


def test_it_gives_up_on_a_broker_that_stops_answering_pings() -> None:
    broker = FakeBroker(connack=connack(properties=b"\x13\x00\x01"), answer_pings=False)
    connection = opened(broker)
    with pytest.raises(MqttError, match="stopped answering"):
        poll_until(connection, lambda: False, timeout=5)


def test_it_takes_the_assigned_client_identifier() -> None:
    broker = FakeBroker(connack=connack(properties=b"\x12" + _string("assigned-7")))
    connection = opened(broker)
    assert connection.client_id == "assigned-7"
    connection.close()
    connection.open("owntracks/+/+")
    assert b"assigned-7" in broker.connects[1]  # the next connection resumes that session


@pytest.mark.parametrize(
    ("broker", "message"),
    [
        (FakeBroker(connack=connack(0x86)), "bad user name or password"),
        (FakeBroker(connack=connack(0x87, b"\x1f" + _string("go away"))), "not authorized.*go away"),
        (FakeBroker(connack=connack(properties=b"\x24\x00")), "QoS 0 only"),
        (FakeBroker(connack=connack(properties=b"\x28\x00")), "wildcard"),
        (FakeBroker(suback_code=0), "granted QoS 0"),
        (FakeBroker(suback_code=0x87), "refused the subscription.*not authorized"),
    ],
    ids=["bad-password", "not-authorised", "maximum-qos-0", "no-wildcards", "suback-qos-0", "suback-refused"],
)
def test_it_refuses_a_broker_that_cannot_give_what_the_worker_needs(broker: FakeBroker, message: str) -> None:
    with pytest.raises(BrokerRefused, match=message):
        opened(broker)


def test_it_refuses_a_malformed_connack() -> None:
    broker = FakeBroker(connack=_packet(0x20, b"\x00\x00\x05\x11\x00"))  # properties cut short
    with pytest.raises(MalformedPacket):
        opened(broker)


# -- reading ---------------------------------------------------------------------------------


def test_it_reassembles_packets_read_one_byte_at_a_time() -> None:
    broker = FakeBroker()
    connection = opened(broker)
    stream = b"".join(
        publish(f"owntracks/u{i}/phone", b'{"n": %d}' % i, packet_id=i + 1, properties=b"\x01\x01" if i else b"")
        for i in range(3)
    )
    broker.send(stream, chunk=1)
    poll_until(connection, lambda: len(connection.messages) == 3)
    assert [m.topic for m in connection.messages] == [
        b"owntracks/u0/phone",
        b"owntracks/u1/phone",
        b"owntracks/u2/phone",
    ]
    assert [m.payload for m in connection.messages] == [b'{"n": 0}', b'{"n": 1}', b'{"n": 2}']
    assert [m.packet_id for m in connection.messages] == [1, 2, 3]
    connection.close()


def test_it_closes_the_connection_on_a_packet_over_its_maximum_size() -> None:
    broker = FakeBroker()
    connection = opened(broker, maximum_packet_size=1024)
    broker.send(publish("owntracks/u/phone", b"x" * 2000, packet_id=1)[:50])  # the header says enough
    with pytest.raises(MalformedPacket, match="over 1024"):
        poll_until(connection, lambda: False)
    assert wait_for(lambda: broker.disconnects == [b"\x95"])  # Packet too large
    assert connection.sock is None


@pytest.mark.parametrize(
    "packet",
    [
        _packet(0x32, b"\x00\x10own"),  # topic length past the end
        _packet(0x32, _string("owntracks/u/p")),  # no packet id, no properties
        _packet(0x30, _string("owntracks/u/p") + b"\x05\x01"),  # properties past the end
        _packet(0x30, _string("owntracks/u/p") + b"\x02\x7f\x00"),  # unknown property
        _packet(0x30, _string("") + b"\x03\x23\x00\x01"),  # a topic alias we never allowed
        _packet(0x36, _string("owntracks/u/p") + b"\x00\x01\x00"),  # QoS 3
        b"\x30\xff\xff\xff\xff\x7f",  # a length of five bytes
        _packet(0x50, b"\x00\x01"),  # PUBREC: not for a subscriber
    ],
    ids=["topic-past-end", "truncated", "properties-past-end", "unknown-property", "topic-alias", "qos-3",
         "long-length", "pubrec"],
)  # fmt: skip
def test_it_closes_the_connection_on_a_malformed_packet_instead_of_crashing(packet: bytes) -> None:
    broker = FakeBroker()
    connection = opened(broker)
    broker.send(packet)
    with pytest.raises(MalformedPacket):
        poll_until(connection, lambda: False)
    assert connection.sock is None


def test_it_gives_up_sending_to_a_broker_that_stopped_reading() -> None:
    broker = FakeBroker()
    connection = opened(broker, timeout=0.5)
    broker.read = False
    started = time.monotonic()
    with pytest.raises(MqttError, match="stopped reading"):
        connection.send(b"\x00" * (64 << 20))
    assert time.monotonic() - started < 3


def test_it_reports_why_the_broker_disconnected_it() -> None:
    broker = FakeBroker()
    connection = opened(broker)
    broker.send(_packet(0xE0, b"\x8e" + _varint(11) + b"\x1f" + _string("replaced")))
    with pytest.raises(MqttError, match=r"session taken over.*replaced"):
        poll_until(connection, lambda: False)


# -- the worker ------------------------------------------------------------------------------


def fix(tst: int, n: int = 0, **extra: Any) -> bytes:
    fields = {"_type": "location", "lat": HOME[0] + n * 1e-6, "lon": HOME[1], "tst": tst, "acc": 10, "batt": 80}
    return json.dumps(fields | extra).encode()


def topic_of(protected: Protected) -> str:
    return f"owntracks/{protected.device.identifier}/phone"


class Running:
    def __init__(self, broker: FakeBroker) -> None:
        self.broker = broker
        self.worker = IngestWorker(url=BROKER, client_id="test-worker", dial=broker.dial, batch_wait=0.01)
        self.thread = threading.Thread(target=self.worker.run, daemon=True)

    def __enter__(self) -> IngestWorker:
        self.thread.start()
        assert self.worker.connected.wait(10) and self.broker.subscribed.wait(10)
        return self.worker

    def __exit__(self, *exc: object) -> None:
        self.worker.stop.set()
        self.thread.join(10)
        assert not self.thread.is_alive()


@pytest.mark.django_db(transaction=True)
def test_the_worker_stores_acknowledges_and_reconnects_after_the_broker_drops_it(protected: Protected) -> None:
    broker, topic, now = FakeBroker(), topic_of(protected), int(time.time())
    with Running(broker) as worker:
        broker.send(publish(topic, fix(now - 60), packet_id=1))
        assert wait_for(lambda: broker.acked == [1])
        broker.drop()
        assert wait_for(lambda: worker.connections == 2 and broker.subscribed.is_set())
        broker.send(publish(topic, fix(now - 30, 1), packet_id=2))
        assert wait_for(lambda: Location.objects.count() == 2)
        assert wait_for(lambda: broker.acked == [1, 2])


@pytest.mark.django_db(transaction=True)
def test_the_worker_survives_a_malformed_packet_and_gets_the_message_again(protected: Protected) -> None:
    broker, topic, now = FakeBroker(), topic_of(protected), int(time.time())
    with Running(broker) as worker:
        broker.send(_packet(0x32, _string(topic)))  # truncated: no packet id, no properties
        assert wait_for(lambda: worker.connections == 2 and broker.subscribed.is_set())
        assert broker.disconnects[:1] == [b"\x81"]  # Malformed Packet
        broker.send(publish(topic, fix(now - 60), packet_id=1))  # the broker's redelivery
        assert wait_for(lambda: Location.objects.count() == 1)
        assert worker.connected.is_set() and worker.stats.stored == 1


@pytest.mark.django_db(transaction=True)
def test_the_worker_acknowledges_a_poison_message_and_stores_the_rest(
    protected: Protected, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_ingest = mqtt_module.ingest

    def ingest_that_chokes_on_battery_13(fixes: list, **kwargs: Any) -> Any:
        if any(f.battery == 13 for f in fixes):
            raise ValueError("a fix this code cannot store")
        return real_ingest(fixes, **kwargs)

    monkeypatch.setattr(mqtt_module, "ingest", ingest_that_chokes_on_battery_13)
    broker, topic, now = FakeBroker(), topic_of(protected), int(time.time())
    with Running(broker) as worker:
        broker.send(
            publish(topic, b"{broken", packet_id=1)
            + publish(topic, fix(now - 60, 0, batt=13), packet_id=2)
            + publish(topic, fix(now - 50, 1), packet_id=3)
            + publish(topic, fix(now - 40, 2), packet_id=4)
        )
        assert wait_for(lambda: sorted(broker.acked) == [1, 2, 3, 4])  # none is redelivered for ever
        assert wait_for(lambda: Location.objects.count() == 2, timeout=5)
        assert worker.stats.rejected == 2
