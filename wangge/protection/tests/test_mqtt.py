"""The MQTT worker against the real Mosquitto at 127.0.0.1:1883.

Each run uses its own client ids, and device identifiers are random, so parallel runs and other
engineers' messages on ``owntracks/+/+`` do not interfere (unknown devices are refused).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import signal
import socket
import sqlite3
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
from wangge.protection.tests.conftest import HOME, Protected, wait_for

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


@pytest.mark.django_db(transaction=True)
def test_it_stores_owntracks_mqtt_messages_once_and_skips_bad_ones(protected: Protected) -> None:
    worker = IngestWorker(url="mqtt://127.0.0.1:1883", client_id=f"test-worker-{uuid.uuid4().hex[:10]}")
    thread = threading.Thread(target=worker.run, daemon=True)
    thread.start()
    try:
        assert worker.connected.wait(10)  # set on SUBACK: the subscription is in place
        topic = f"owntracks/{protected.device.identifier}/phone"
        now = int(time.time())
        pub = publisher()
        for i in range(20):
            pub.publish(topic, message(now - 100 + i, i), qos=1).wait_for_publish(5)
        pub.publish(topic, b"{broken", qos=1).wait_for_publish(5)
        pub.publish(topic, message(now - 100), qos=1).wait_for_publish(5)  # a duplicate of the first
        pub.publish(f"owntracks/{protected.device.identifier}/phone/event", message(now), qos=1).wait_for_publish(5)
        # As some clients send it: "tst" as a string, no accuracy or battery.
        loose = {"_type": "location", "lat": HOME[0], "lon": HOME[1], "tst": str(now - 1)}
        pub.publish(topic, json.dumps(loose).encode(), qos=1).wait_for_publish(5)
        # The broker delivers one subscription's messages in order and the worker stores them in
        # order: once the last one is stored, every earlier one has been handled (no pause).
        last = dt.datetime.fromtimestamp(now - 1, tz=dt.UTC)
        assert wait_for(lambda: Location.objects.filter(recorded_at=last).exists(), timeout=20)
        assert wait_for(lambda: Location.objects.count() == 21, timeout=5)  # 20 + the last, no duplicate
        assert worker.stats.rejected >= 1  # the broken one (the event topic is not subscribed to)
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


def stored(data_dir: Path) -> int:
    """Rows stored so far, read straight from the worker's SQLite file (no Django start-up)."""
    with contextlib.closing(sqlite3.connect(data_dir / "wangge.sqlite3", timeout=10)) as db:
        return int(db.execute("SELECT count(*) FROM protection_location").fetchone()[0])


def wangge_output(data_dir: Path, *args: str) -> str:
    process = wangge(data_dir, *args)
    out, _ = process.communicate(timeout=300)
    assert process.returncode == 0, out.decode()
    return out.decode()


def count_stable(data_dir: Path, total: int, *, deadline: float = 240.0, settle: float = 3.0) -> str:
    """Wait until the stored count reaches ``total`` and stays there ``settle`` seconds (so a
    duplicate arriving late would be seen), or stops moving short of it (a real loss).

    Generous: the restarted worker shares two cores with everything else.
    """
    end = time.monotonic() + deadline
    counts, last, since = "", None, time.monotonic()
    while time.monotonic() < end:
        with contextlib.closing(sqlite3.connect(data_dir / "wangge.sqlite3", timeout=10)) as db:
            count, distinct = db.execute(
                "SELECT count(*), count(DISTINCT recorded_at) FROM protection_location"
            ).fetchone()
        counts = f"COUNT={count} DISTINCT={distinct}"
        if counts != last:
            last, since = counts, time.monotonic()
        elif count == total and time.monotonic() - since >= settle:
            return counts  # complete, and no duplicate arrived meanwhile
        elif time.monotonic() - since >= 3 * settle + 30:
            return counts
        time.sleep(0.2)  # the interval between two looks at the count
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
            # Mid-stream, possibly mid-batch: once the worker has stored part of what was sent.
            assert wait_for(lambda: 0 < stored(tmp_path) < total, timeout=60)
            worker.send_signal(signal.SIGKILL)
            worker.wait(10)
        time.sleep(0.002)  # pacing, not waiting: the stream keeps coming while the worker is down
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
