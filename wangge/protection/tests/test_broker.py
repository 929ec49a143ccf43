"""Broker authentication, proved against a Mosquitto this test starts with the documented setup.

The broker runs with ``allow_anonymous false``, the password and ACL files Wangge writes, and
``use_username_as_clientid true`` (docs/operating.md), on a free port with its own directory; the
registration, reset and enrolment end go through Wangge's actions and pages, which rewrite the
files and send the broker SIGHUP through its pid file.
"""

from __future__ import annotations

import base64
import contextlib
import getpass
import json
import os
import secrets
import shutil
import socket
import ssl
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from django.test import Client
from django.urls import reverse
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from wangge.conftest import World
from wangge.protection import actions, broker
from wangge.protection.models import Device, Location
from wangge.protection.mqtt import BrokerRefused, IngestWorker, broker_from_settings
from wangge.protection.tests.conftest import HOME, Protected, protect, wait_for

MOSQUITTO = shutil.which("mosquitto") or ("/usr/sbin/mosquitto" if os.path.exists("/usr/sbin/mosquitto") else None)
if MOSQUITTO is None and os.environ.get("CI"):
    raise RuntimeError("CI must install mosquitto (.ci/run does)")
pytestmark = [
    pytest.mark.skipif(MOSQUITTO is None, reason="needs the mosquitto binary (apt-get install mosquitto)"),
    pytest.mark.django_db(transaction=True),  # the actions' on-commit hooks write the files
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Mosquitto:
    port: int
    directory: Path
    worker_password: str
    process: subprocess.Popen = field(repr=False)


@contextlib.contextmanager
def running_mosquitto(
    tmp_path: Path, settings: Any, *, listener: str = "", scheme: str = "mqtt"
) -> Iterator[Mosquitto]:
    """Mosquitto with the documented accounts setup; ``listener`` adds lines (TLS) to its listener."""
    port = free_port()
    settings.MQTT_URL = f"{scheme}://127.0.0.1:{port}"
    settings.MQTT_USERNAME = "wangge-worker"
    settings.MQTT_PASSWORD = worker_password = secrets.token_urlsafe(18)
    settings.MQTT_BROKER_PASSWORD_FILE = tmp_path / "passwd"
    settings.MQTT_BROKER_ACL_FILE = tmp_path / "acl"
    settings.MQTT_BROKER_PID_FILE = tmp_path / "mosquitto.pid"
    broker.sync()  # the worker's account; Mosquitto will not start without the files
    (tmp_path / "mosquitto.conf").write_text(
        f"listener {port} 127.0.0.1\n"
        f"{listener}"
        "allow_anonymous false\n"
        f"password_file {tmp_path / 'passwd'}\n"
        f"acl_file {tmp_path / 'acl'}\n"
        "use_username_as_clientid true\n"
        f"pid_file {tmp_path / 'mosquitto.pid'}\n"
        f"user {getpass.getuser()}\n"  # as root it would switch to "mosquitto", who cannot read tmp_path
        "persistence false\n",  # a test broker; production keeps persistence (docs/operating.md)
        encoding="utf-8",
    )
    log = (tmp_path / "mosquitto.log").open("w")
    process = subprocess.Popen([str(MOSQUITTO), "-c", str(tmp_path / "mosquitto.conf")], stdout=log, stderr=log)
    try:
        assert wait_for(lambda: (tmp_path / "mosquitto.pid").exists() and _listening(port)), "mosquitto did not start"
        yield Mosquitto(port, tmp_path, worker_password, process)
    finally:
        process.terminate()
        process.wait(10)
        log.close()


@pytest.fixture
def mosquitto(tmp_path: Path, settings: Any) -> Iterator[Mosquitto]:
    with running_mosquitto(tmp_path, settings) as running:
        yield running


def _listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        return True
    except OSError:
        return False


class Session:
    """A paho MQTT 5 client (not the code under test) recording what happens to it."""

    def __init__(self, port: int, username: str | None, password: str | None, client_id: str = "") -> None:
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=client_id or f"t-{uuid.uuid4().hex[:8]}", protocol=mqtt.MQTTv5
        )
        if username is not None:
            self.client.username_pw_set(username, password)
        self.connack: ReasonCode | None = None
        self.disconnected = threading.Event()
        self.received: list[tuple[str, bytes]] = []
        self.granted: list[int] = []
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = lambda *args: self.disconnected.set()
        self.client.on_message = lambda _c, _u, message: self.received.append((message.topic, message.payload))
        self.client.on_subscribe = lambda _c, _u, _mid, codes, _p: self.granted.extend(c.value for c in codes)
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        assert wait_for(lambda: self.connack is not None), "no CONNACK"

    def _on_connect(self, _c: Any, _u: Any, _f: Any, reason: ReasonCode, _p: Properties | None) -> None:
        self.connack = reason

    @property
    def accepted(self) -> bool:
        return self.connack is not None and not self.connack.is_failure and not self.disconnected.is_set()

    def subscribe(self, topic: str) -> None:
        self.granted.clear()
        self.client.subscribe(topic, qos=1)
        assert wait_for(lambda: self.granted), "no SUBACK"

    def publish(self, topic: str, payload: bytes) -> None:
        self.client.publish(topic, payload, qos=1).wait_for_publish(10)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def connects(port: int, username: str | None, password: str | None) -> bool:
    session = Session(port, username, password)
    try:
        return session.accepted
    finally:
        session.close()


def fix(tst: int, n: int = 0) -> bytes:
    lat = HOME[0] + n * 1e-6
    return b'{"_type":"location","lat":%f,"lon":%f,"tst":%d,"acc":10}' % (lat, HOME[1], tst)


def two_phones(world: World, port: int) -> tuple[Protected, Protected]:
    a = protect(world)
    b = protect(world, "a1_1_head")
    # Registration rewrote the files and signalled the broker: wait for it to reload.
    assert wait_for(lambda: connects(port, b.device.identifier, b.password)), "the new phone cannot connect"
    return a, b


def test_it_refuses_anonymous_clients_and_wrong_passwords(mosquitto: Mosquitto, world: World) -> None:
    a, _b = two_phones(world, mosquitto.port)
    assert not connects(mosquitto.port, None, None)
    assert not connects(mosquitto.port, a.device.identifier, "not-the-password")
    assert connects(mosquitto.port, a.device.identifier, a.password)
    assert connects(mosquitto.port, "wangge-worker", mosquitto.worker_password)


def test_a_phone_cannot_publish_as_another_phone(mosquitto: Mosquitto, world: World) -> None:
    a, b = two_phones(world, mosquitto.port)
    watcher = Session(mosquitto.port, "wangge-worker", mosquitto.worker_password)
    watcher.subscribe("owntracks/#")
    assert watcher.granted == [1]
    phone_a = Session(mosquitto.port, a.device.identifier, a.password)
    now = int(time.time())
    phone_a.publish(f"owntracks/{b.device.identifier}/phone", fix(now - 20))  # forged
    phone_a.publish(f"owntracks/{a.device.identifier}/phone", fix(now - 10))  # its own, after it
    assert wait_for(lambda: watcher.received)
    time.sleep(0.2)
    assert [topic for topic, _payload in watcher.received] == [f"owntracks/{a.device.identifier}/phone"]
    phone_a.close()
    watcher.close()


def test_a_phone_cannot_read_other_phones_positions(mosquitto: Mosquitto, world: World) -> None:
    a, b = two_phones(world, mosquitto.port)
    spy = Session(mosquitto.port, a.device.identifier, a.password)
    spy.subscribe("owntracks/#")
    spy.subscribe(f"owntracks/{b.device.identifier}/#")
    spy.subscribe(f"owntracks/{a.device.identifier}/#")  # its own: allowed
    worker = Session(mosquitto.port, "wangge-worker", mosquitto.worker_password)
    worker.subscribe("owntracks/#")
    phone_b = Session(mosquitto.port, b.device.identifier, b.password)
    now = int(time.time())
    phone_b.publish(f"owntracks/{b.device.identifier}/phone", fix(now - 20))
    assert wait_for(lambda: worker.received)  # the message exists and reaches who may read it
    spy.publish(f"owntracks/{a.device.identifier}/phone", fix(now - 10))
    assert wait_for(lambda: spy.received)
    time.sleep(0.2)
    # Its own message may come once per matching subscription; the other phone's never comes.
    assert {topic for topic, _payload in spy.received} == {f"owntracks/{a.device.identifier}/phone"}
    for session in (spy, worker, phone_b):
        session.close()


def test_a_phone_cannot_take_over_the_workers_session(mosquitto: Mosquitto, world: World) -> None:
    a, _b = two_phones(world, mosquitto.port)
    worker = IngestWorker(url=broker_from_settings(f"mqtt://127.0.0.1:{mosquitto.port}"), client_id="wangge-worker")
    thread = threading.Thread(target=worker.run, daemon=True)
    thread.start()
    try:
        assert worker.connected.wait(15)
        # The phone asks for the worker's client id; the broker gives it its own username instead.
        thief = Session(mosquitto.port, a.device.identifier, a.password, client_id="wangge-worker")
        assert thief.accepted
        thief.publish(f"owntracks/{a.device.identifier}/phone", fix(int(time.time()) - 5))
        assert wait_for(lambda: Location.objects.filter(device=a.device).count() == 1)
        assert worker.connections == 1 and worker.connected.is_set()  # never pushed off
        thief.close()
    finally:
        worker.stop.set()
        thread.join(15)


def test_the_worker_needs_its_own_password(mosquitto: Mosquitto, settings: Any) -> None:
    settings.MQTT_PASSWORD = "wrong"
    worker = IngestWorker(url=broker_from_settings(settings.MQTT_URL), client_id="wangge-worker")
    with pytest.raises(BrokerRefused, match=r"bad user name or password|not authorized"):
        worker.connection.open("owntracks/+/+")


def test_a_reset_makes_the_old_password_fail(mosquitto: Mosquitto, world: World, client_for: Any) -> None:
    a, _b = two_phones(world, mosquitto.port)
    staff: Client = client_for("community_staff")
    response = staff.post(reverse("protection:device_reset", args=[a.device.pk]), {"confirmed": "1"})
    assert response.status_code == 200
    new_password = response.context["password"]
    assert new_password != a.password
    assert wait_for(lambda: connects(mosquitto.port, a.device.identifier, new_password))
    assert not connects(mosquitto.port, a.device.identifier, a.password)


def test_ending_an_enrolment_removes_its_phones_from_the_broker(mosquitto: Mosquitto, world: World) -> None:
    a, _b = two_phones(world, mosquitto.port)
    actions.enrolment_end(by=world.user("community_staff"), enrolment=a.enrolment)
    assert wait_for(lambda: not connects(mosquitto.port, a.device.identifier, a.password))


def test_the_files_hold_hashes_only_and_no_one_else_may_read_them(mosquitto: Mosquitto, world: World) -> None:
    a, _b = two_phones(world, mosquitto.port)
    text = (mosquitto.directory / "passwd").read_text()
    assert f"{a.device.identifier}:$7$1000$" in text
    assert a.password not in text and mosquitto.worker_password not in text
    assert (mosquitto.directory / "passwd").stat().st_mode & 0o777 == 0o640
    assert "pattern readwrite owntracks/%u/#" in (mosquitto.directory / "acl").read_text()


def test_the_device_hash_is_mosquittos_hash_of_the_same_password() -> None:
    device = Device()
    device.set_password("p4ss")
    entry = broker.from_device_hash(device.password_hash)
    assert entry is not None
    _, _seven, iterations, salt, _digest = entry.split("$")
    assert entry == broker.mosquitto_hash("p4ss", salt=base64.b64decode(salt), iterations=int(iterations))
    assert device.check_password("p4ss") and not device.check_password("p4sS")


def test_the_worker_may_subscribe_through_a_shared_subscription(mosquitto: Mosquitto, world: World) -> None:
    a, _b = two_phones(world, mosquitto.port)
    worker = Session(mosquitto.port, "wangge-worker", mosquitto.worker_password)
    worker.subscribe("$share/wangge/owntracks/+/+")
    assert worker.granted == [1]
    phone = Session(mosquitto.port, a.device.identifier, a.password)
    phone.publish(f"owntracks/{a.device.identifier}/phone", fix(int(time.time()) - 5))
    assert wait_for(lambda: worker.received)
    phone.close()
    worker.close()


def test_shared_workers_each_have_an_account_and_do_not_push_each_other_off(
    mosquitto: Mosquitto, world: World, settings: Any
) -> None:
    settings.MQTT_WORKERS = 2
    a, _b = two_phones(world, mosquitto.port)  # registration rewrote the files with both workers
    workers = []
    for instance in (1, 2):
        url = broker_from_settings(settings.MQTT_URL)
        url.username = broker.worker_username(instance)
        workers.append(IngestWorker(url=url, client_id=str(url.username), topic="$share/wangge/owntracks/+/+"))
    threads = [threading.Thread(target=worker.run, daemon=True) for worker in workers]
    for thread in threads:
        thread.start()
    try:
        assert all(worker.connected.wait(15) for worker in workers)
        phone = Session(mosquitto.port, a.device.identifier, a.password)
        now = int(time.time())
        for i in range(20):
            phone.publish(f"owntracks/{a.device.identifier}/phone", fix(now - 100 + i, i))
        assert wait_for(lambda: Location.objects.count() == 20)
        assert [worker.connections for worker in workers] == [1, 1]
        phone.close()
    finally:
        for worker in workers:
            worker.stop.set()
        for thread in threads:
            thread.join(15)


def test_the_setup_pages_owntracks_mqtt_config_carries_a_working_broker_account(
    mosquitto: Mosquitto, world: World, client_for: Any
) -> None:
    a, _b = two_phones(world, mosquitto.port)
    staff: Client = client_for("community_staff")
    response = staff.post(
        reverse("protection:device_add", args=[a.enrolment.pk]), {"name": "手表", "coord_system": "wgs84"}
    )
    assert response.status_code == 200
    link = response.context["owntracks_mqtt_link"]
    config = json.loads(base64.b64decode(link.split("inline=", 1)[1]))
    assert wait_for(lambda: connects(mosquitto.port, config["username"], config["password"]))
    # Shown once: the device's page afterwards has no password in its config.
    device = response.context["device"]
    later = staff.get(reverse("protection:device", args=[device.pk]))
    assert "password" not in json.loads(base64.b64decode(later.context["owntracks_mqtt_link"].split("inline=", 1)[1]))


# -- TLS ---------------------------------------------------------------------------------------

OPENSSL = shutil.which("openssl")


def make_pki(directory: Path) -> None:
    """A CA, a broker certificate for 127.0.0.1 and a client certificate, with openssl."""

    def openssl(*args: str) -> None:
        subprocess.run([str(OPENSSL), *args], cwd=directory, check=True, capture_output=True, timeout=60)

    key = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes")
    openssl("req", "-x509", *key, "-keyout", "ca.key", "-out", "ca.crt", "-days", "1", "-subj", "/CN=test CA")
    (directory / "san.cnf").write_text("subjectAltName=IP:127.0.0.1\n", encoding="utf-8")
    for name, extra in (("server", ("-extfile", "san.cnf")), ("client", ())):
        openssl("req", *key, "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN={name}")
        openssl(
            "x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
            "-out", f"{name}.crt", "-days", "1", *extra,
        )  # fmt: skip


@pytest.mark.skipif(OPENSSL is None, reason="needs openssl to make test certificates")
def test_the_worker_connects_over_tls_with_the_ca_and_client_certificate_from_settings(
    tmp_path: Path, settings: Any
) -> None:
    make_pki(tmp_path)
    listener = (
        f"cafile {tmp_path / 'ca.crt'}\ncertfile {tmp_path / 'server.crt'}\nkeyfile {tmp_path / 'server.key'}\n"
        "require_certificate true\n"
    )
    with running_mosquitto(tmp_path, settings, listener=listener, scheme="mqtts"):
        settings.MQTT_CA_FILE = tmp_path / "ca.crt"
        settings.MQTT_CERT_FILE = tmp_path / "client.crt"
        settings.MQTT_KEY_FILE = tmp_path / "client.key"
        worker = IngestWorker(url=broker_from_settings(settings.MQTT_URL), client_id="wangge-worker")
        worker.connection.open("owntracks/+/+")
        assert worker.connection.sock is not None and worker.connection.sock.version()  # type: ignore[attr-defined]
        worker.connection.close(clean=True)

        settings.MQTT_CERT_FILE = settings.MQTT_KEY_FILE = None  # the broker requires a client certificate
        with pytest.raises(OSError):
            IngestWorker(url=broker_from_settings(settings.MQTT_URL), client_id="w").connection.open("owntracks/+/+")

        settings.MQTT_CA_FILE = None  # the system's CAs do not know the test CA
        settings.MQTT_CERT_FILE, settings.MQTT_KEY_FILE = tmp_path / "client.crt", tmp_path / "client.key"
        with pytest.raises(ssl.SSLCertVerificationError):
            IngestWorker(url=broker_from_settings(settings.MQTT_URL), client_id="w").connection.open("owntracks/+/+")
