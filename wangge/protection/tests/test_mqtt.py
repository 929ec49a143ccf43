"""The MQTT worker against the real Mosquitto at 127.0.0.1:1883.

Each run uses its own client ids, and device identifiers are random, so parallel runs and other
engineers' messages on ``owntracks/+/+`` do not interfere (unknown devices are refused).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from wangge.protection.models import Location
from wangge.protection.mqtt import IngestWorker
from wangge.protection.tests.conftest import HOME, Protected

BROKER = ("127.0.0.1", 1883)


def broker_up() -> bool:
    try:
        socket.create_connection(BROKER, timeout=1).close()
        return True
    except OSError:
        return False


pytestmark = pytest.mark.skipif(not broker_up(), reason="needs Mosquitto at 127.0.0.1:1883")


def publisher() -> mqtt.Client:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"test-pub-{uuid.uuid4().hex[:10]}")
    client.max_inflight_messages_set(1000)
    client.connect(*BROKER)
    client.loop_start()
    return client


def message(tst: int, n: int = 0) -> bytes:
    return json.dumps(
        {"_type": "location", "lat": HOME[0] + n * 1e-6, "lon": HOME[1], "tst": tst, "acc": 10, "batt": 80}
    ).encode()


def wait_for(condition, timeout: float = 20.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return condition()


@pytest.mark.django_db(transaction=True)
def test_it_stores_owntracks_mqtt_messages_once_and_skips_bad_ones(protected: Protected) -> None:
    worker = IngestWorker(url="mqtt://127.0.0.1:1883", client_id=f"test-worker-{uuid.uuid4().hex[:10]}")
    thread = threading.Thread(target=worker.run, daemon=True)
    thread.start()
    try:
        assert worker.connected.wait(10)
        time.sleep(0.3)
        topic = f"owntracks/{protected.device.identifier}/phone"
        now = int(time.time())
        pub = publisher()
        for i in range(20):
            pub.publish(topic, message(now - 100 + i, i), qos=1).wait_for_publish(5)
        pub.publish(topic, b"{broken", qos=1).wait_for_publish(5)
        pub.publish(topic, message(now - 100), qos=1).wait_for_publish(5)  # a duplicate of the first
        pub.publish(f"owntracks/{protected.device.identifier}/phone/event", message(now), qos=1)
        if shutil.which("mosquitto_pub"):
            subprocess.run(
                ["mosquitto_pub", "-h", BROKER[0], "-p", str(BROKER[1]), "-q", "1", "-t", topic,
                 "-m", json.dumps({"_type": "location", "lat": HOME[0], "lon": HOME[1], "tst": str(now - 1)})],
                check=True, timeout=10,
            )  # fmt: skip
            expected = 21
        else:
            expected = 20
        assert wait_for(lambda: Location.objects.count() >= expected)
        time.sleep(0.5)
        assert Location.objects.count() == expected
        assert worker.stats.rejected >= 1
        pub.disconnect()
    finally:
        worker.stop.set()
        thread.join(10)
        forget_session(worker.client_id)


def forget_session(client_id: str) -> None:
    cleaner = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
    cleaner.connect(*BROKER, clean_start=True)
    cleaner.disconnect()


SETUP = """
import datetime as dt
from wangge.conftest import build_world
from wangge.protection.tests.conftest import protect
p = protect(build_world())
print("IDENTIFIER=" + p.device.identifier)
"""

COUNT = """
from wangge.protection.models import Location
rows = list(Location.objects.values_list("recorded_at", flat=True))
print("COUNT=%d DISTINCT=%d" % (len(rows), len(set(rows))))
"""


def wangge(data_dir: Path, *args: str, **kwargs):  # type: ignore[no-untyped-def]
    env = {**os.environ, "WANGGE_DATA_DIR": str(data_dir), "DJANGO_SETTINGS_MODULE": "wangge.settings"}
    env.pop("DATABASE_URL", None)
    return subprocess.Popen(
        [sys.executable, "-m", "wangge", *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, **kwargs
    )


def wait_connected(process: subprocess.Popen) -> None:
    """Block until the worker says it has subscribed: only then does the broker keep its session."""
    deadline = time.monotonic() + 60
    assert process.stdout is not None
    while time.monotonic() < deadline:
        line = process.stdout.readline().decode()
        if "MQTT connected" in line:
            threading.Thread(target=process.stdout.read, daemon=True).start()  # keep the pipe drained
            return
        if not line and process.poll() is not None:
            break
    raise AssertionError("the worker did not connect")


def wangge_output(data_dir: Path, *args: str) -> str:
    process = wangge(data_dir, *args)
    out, _ = process.communicate(timeout=300)
    assert process.returncode == 0, out.decode()
    return out.decode()


def count_stable(data_dir: Path, total: int, *, deadline: float = 240.0, settle: float = 3.0) -> str:
    """Poll the stored count until it reaches ``total`` and stays there, or stops moving.

    Generous: under heavy machine load each ``wangge shell`` takes seconds to start, and the
    restarted worker shares two cores with everything else. A count that has not moved for
    ``3 × settle`` seconds short of ``total`` is reported as is (a real loss, not a slow worker).
    """
    end = time.monotonic() + deadline
    counts, last, since = "", None, time.monotonic()
    while time.monotonic() < end:
        counts = wangge_output(data_dir, "shell", "-c", COUNT)
        if counts != last:
            last, since = counts, time.monotonic()
        elif f"COUNT={total} " in counts and time.monotonic() - since >= settle:
            return counts  # complete, and no duplicate arrived meanwhile
        elif time.monotonic() - since >= 3 * settle + 30:
            return counts
        time.sleep(1)
    return counts


def test_a_worker_killed_mid_stream_loses_nothing_and_stores_nothing_twice(tmp_path: Path) -> None:
    wangge_output(tmp_path, "migrate", "--noinput", "-v", "0")
    identifier = wangge_output(tmp_path, "shell", "-c", SETUP).split("IDENTIFIER=")[1].split()[0]
    client_id = f"test-kill-{uuid.uuid4().hex[:10]}"
    # Only this phone's topic: on the shared system broker, other engineers' owntracks traffic
    # would otherwise queue in this session too and count against Mosquitto's default
    # max_queued_messages (1000) while the worker is down.
    topic = f"owntracks/{identifier}/phone"
    args = ("worker", "--client-id", client_id, "--no-jobs", "--topic", topic)
    worker = wangge(tmp_path, *args)
    wait_connected(worker)  # subscribed (SUBACK received): the session keeps messages from now on
    pub = publisher()
    start = int(time.time()) - 3000
    total = 900  # below Mosquitto's default max_queued_messages (1000) for the time it is down
    infos = []
    for i in range(total):
        infos.append(pub.publish(topic, message(start + i, i), qos=1))
        if i == 300:
            time.sleep(0.5)
            worker.send_signal(signal.SIGKILL)  # mid-stream, possibly mid-batch
            worker.wait(10)
        time.sleep(0.002)
    # "Accepted by the broker" means PUBACKed: wait for every one before disconnecting, or the
    # test would count a publish still in the publisher's buffers as the worker's loss.
    for info in infos:
        info.wait_for_publish(30)
    assert all(info.is_published() for info in infos)
    pub.disconnect()
    pub.loop_stop()
    worker = wangge(tmp_path, *args)
    wait_connected(worker)
    try:
        counts = count_stable(tmp_path, total)
        assert f"COUNT={total} DISTINCT={total}" in counts, counts
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(15)
        forget_session(client_id)
