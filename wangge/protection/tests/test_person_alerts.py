"""Alerts that stay right with several phones and cannot be forged: the OsmAnd key as a secret,
one time base (the server's), corroborated resolution, the person's state from the freshest fix
of their active phones, phones switched off and on, and one open alert of a kind per person.

Everything a phone sends goes through the real endpoints over HTTP (and the MQTT worker where
the protocol allows it), with real timestamps, since the server's receive time is the time base.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
import threading
import time
import uuid
from typing import Any

import pytest
from django.db import IntegrityError, transaction
from django.test import Client
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from rest_framework.test import APIClient

from wangge.accounts.models import Role, User
from wangge.core.models import AuditEntry
from wangge.protection import actions
from wangge.protection.ingest import check_silent
from wangge.protection.models import Alert, Device, Location, Notification
from wangge.protection.tests.conftest import HOME, Protected
from wangge.protection.tests.test_enrolment_lifecycle import broken_audit

pytestmark = pytest.mark.django_db

OWNTRACKS = "/api/v1/locations/owntracks"
OSMAND = "/api/v1/locations/osmand"
API = "/api/v1/protection"
M_PER_DEG = 110574.0


def owntracks(device: Device, password: str, *, tst: float, metres_north: float = 0.0, **extra: Any) -> int:
    body = {"_type": "location", "lat": HOME[0] + metres_north / M_PER_DEG, "lon": HOME[1], "tst": int(tst)}
    body.update({"acc": 10, "batt": 80} | extra)
    auth = "Basic " + base64.b64encode(f"{device.identifier}:{password}".encode()).decode()
    response = Client().post(OWNTRACKS, data=json.dumps(body), content_type="application/json", HTTP_AUTHORIZATION=auth)
    return response.status_code


def osmand(key: str, *, tst: float, metres_north: float = 0.0, **extra: str) -> int:
    query = {"id": key, "lat": str(HOME[0] + metres_north / M_PER_DEG), "lon": str(HOME[1])}
    query.update({"timestamp": str(int(tst)), "accuracy": "10"} | extra)
    return Client().get(OSMAND, query).status_code


def api(user: User) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def second_phone(protected: Protected, name: str = "备用手机") -> tuple[Device, str]:
    device, credentials = actions.device_register(by=None, enrolment=protected.enrolment, name=name)
    return device, credentials.password


def open_alerts(kind: str) -> list[Alert]:
    return list(Alert.objects.filter(kind=kind, resolved_at__isnull=True))


# -- the OsmAnd key -------------------------------------------------------------------------


def test_it_gives_osmand_a_secret_key_shown_once_and_nowhere_else(protected: Protected) -> None:
    guardian = api(protected.world.user(Role.GUARDIAN))
    created = guardian.post(f"{API}/enrolments/{protected.enrolment.pk}/devices/", {"name": "老人机"}, format="json")
    body = created.json()
    key = body["osmand_key"]
    assert len(key) >= 28 and key.isalnum() and key != body["identifier"]  # 36^28 ≈ 2^145
    assert key in body["traccar_link"] and key not in body["mqtt_topic"]
    device = Device.objects.get(pk=body["id"])
    assert device.osmand_digest and key not in device.osmand_digest  # stored hashed
    # Not in the list, the phone's own record, its setup page seen later, or the alert list.
    listed = guardian.get(f"{API}/enrolments/{protected.enrolment.pk}/devices/").content.decode()
    shown = guardian.get(f"{API}/devices/{device.pk}/").content.decode()
    client = Client()
    client.force_login(protected.world.user(Role.GUARDIAN))
    page = client.get(f"/protection/devices/{device.pk}/").content.decode()
    enrolment_page = client.get(f"/protection/{protected.enrolment.pk}/").content.decode()
    assert all(key not in text for text in (listed, shown, page, enrolment_page))
    # The key works; the identifier (the OwnTracks user name, in topics and lists) does not.
    now = time.time()
    assert osmand(key, tst=now) == 200
    assert osmand(device.identifier, tst=now + 1) == 400
    assert Location.objects.filter(device=device).count() == 1


def test_a_reset_rotates_the_osmand_key(protected: Protected) -> None:
    client = Client()
    client.force_login(protected.world.user(Role.GUARDIAN))
    asked = client.post(f"/protection/devices/{protected.device.pk}/reset/").content.decode()
    assert "旧密码立即失效" in asked and 'id="osmand-key"' not in asked  # nothing reset yet
    page = client.post(f"/protection/devices/{protected.device.pk}/reset/", {"confirmed": "1"}).content.decode()
    match = re.search(r'id="osmand-key">([a-z0-9]+)<', page)
    assert match is not None
    new_key = match.group(1)
    assert new_key != protected.osmand_key and new_key in page  # in the QR's link too
    now = time.time()
    assert osmand(protected.osmand_key, tst=now) == 400
    assert osmand(new_key, tst=now) == 200


def test_a_phone_registered_before_keys_works_until_reset_but_cannot_raise_sos(protected: Protected) -> None:
    # As the data migration leaves phones registered before: the identifier is the OsmAnd id.
    Device.objects.filter(pk=protected.device.pk).update(osmand_digest=None, osmand_legacy=True)
    identifier = protected.device.identifier
    now = time.time()
    assert osmand(identifier, tst=now - 10) == 200
    assert osmand(identifier, tst=now - 5, alarm="sos") == 403
    assert not Alert.objects.filter(kind="sos").exists()
    assert Location.objects.count() == 1
    client = Client()
    client.force_login(protected.world.user(Role.GUARDIAN))
    assert "请重置以确保安全" in client.get(f"/protection/devices/{protected.device.pk}/").content.decode()
    client.post(f"/protection/devices/{protected.device.pk}/reset/", {"confirmed": "1"})
    assert osmand(identifier, tst=now) == 400


def test_an_sos_needs_the_key_or_the_password(protected: Protected) -> None:
    now = time.time()
    assert osmand(protected.device.identifier, tst=now, alarm="sos") == 400
    assert owntracks(protected.device, "wrong-password", tst=now) == 401
    assert not Alert.objects.exists()
    assert osmand(protected.osmand_key, tst=now, alarm="sos") == 200
    (sos,) = open_alerts("sos")
    assert sos.device_id == protected.device.pk


# -- time and corroboration -----------------------------------------------------------------


def test_a_fix_stamped_in_the_future_cannot_freeze_the_alert_state(protected: Protected) -> None:
    now = time.time()
    # Accepted (a phone's clock may run fast), but for alerts it counts as received now.
    assert osmand(protected.osmand_key, tst=now + 540) == 200
    # The real phone, stamped after the server received that fix (on a loaded machine the
    # request can take most of a second: a time taken before it could come out older).
    real = time.time() + 1
    assert owntracks(protected.device, protected.password, tst=real, metres_north=9000) == 200
    assert owntracks(protected.device, protected.password, tst=real + 1, metres_north=9050) == 200
    (alert,) = open_alerts("left_zone")
    assert alert.fix_at is not None and alert.fix_at.timestamp() == int(real + 1)


def test_one_forged_fix_inside_does_not_resolve_a_left_zone_alert(protected: Protected) -> None:
    now = time.time()
    for i, north in enumerate((900, 950)):
        assert owntracks(protected.device, protected.password, tst=now - 30 + i, metres_north=north) == 200
    assert open_alerts("left_zone")
    assert osmand(protected.osmand_key, tst=now - 20) == 200  # one fix "at home"
    assert open_alerts("left_zone")
    assert owntracks(protected.device, protected.password, tst=now - 15, metres_north=1000) == 200
    assert owntracks(protected.device, protected.password, tst=now - 10) == 200
    assert open_alerts("left_zone")  # outside in between: not two consecutive inside
    assert owntracks(protected.device, protected.password, tst=now - 5) == 200
    assert not open_alerts("left_zone")
    assert Alert.objects.filter(kind="left_zone").count() == 1


def test_an_alert_is_raised_and_resolved_on_the_servers_clock(protected: Protected) -> None:
    # A phone uploading a backlog an hour late: the alert cannot look resolved before it was raised.
    before = timezone.now()
    hour_ago = time.time() - 3600
    for i, north in enumerate((900, 950, 0, 0)):
        assert owntracks(protected.device, protected.password, tst=hour_ago + i * 10, metres_north=north) == 200
    (alert,) = Alert.objects.filter(kind="left_zone")
    assert alert.resolved_at is not None
    assert before <= alert.raised_at <= alert.resolved_at <= timezone.now()
    assert alert.fix_at is not None and alert.fix_at < before - dt.timedelta(minutes=50)


# -- the person, not the phone --------------------------------------------------------------


def test_a_phone_left_at_home_raises_no_silent_alerts_while_the_other_walks_out(protected: Protected) -> None:
    other, password = second_phone(protected)
    now = time.time()
    assert owntracks(protected.device, protected.password, tst=now - 900) == 200  # then quiet at home
    silent = []
    for minute in range(15):
        for step in range(0, 60, 20):
            tst = now - 890 + minute * 60 + step
            assert owntracks(other, password, tst=tst, metres_north=300 + minute * 50) == 200
        silent += check_silent(now=dt.datetime.fromtimestamp(now - 830 + minute * 60, tz=dt.UTC))
    assert silent == []
    (left,) = Alert.objects.filter(kind="left_zone")
    assert left.device_id == other.pk and left.detail["phone"] == "备用手机"
    assert left.location is not None and left.location.device_id == other.pk
    # Now both are quiet: the person is silent, named by the phone that reported last.
    (alert,) = check_silent(now=dt.datetime.fromtimestamp(now + 700, tz=dt.UTC))
    assert (alert.kind, alert.device_id) == ("silent", other.pk)


def test_alternating_fixes_from_two_phones_do_not_flap(protected: Protected) -> None:
    other, password = second_phone(protected)
    now = time.time()
    for i in range(10):
        assert owntracks(protected.device, protected.password, tst=now - 20 + 2 * i) == 200
        assert owntracks(other, password, tst=now - 19 + 2 * i, metres_north=1000) == 200
    # One alert (someone may be a kilometre out), never resolved by the phone at home.
    (alert,) = Alert.objects.filter(kind="left_zone")
    assert alert.resolved_at is None and alert.device_id == other.pk


def test_a_phone_switched_off_no_longer_counts_and_can_be_switched_on(protected: Protected) -> None:
    other, password = second_phone(protected)
    client = Client()
    client.force_login(protected.world.user(Role.GUARDIAN))
    assert client.post(f"/protection/devices/{protected.device.pk}/active/", {"active": "0"}).status_code == 302
    assert not Device.objects.get(pk=protected.device.pk).active
    entry = AuditEntry.objects.filter(object_id=str(protected.device.pk)).latest("id")
    assert "停用定位设备" in entry.summary
    now = time.time()
    assert owntracks(protected.device, protected.password, tst=now - 900) == 401  # off: refused
    assert owntracks(other, password, tst=now - 900, metres_north=900) == 200
    assert owntracks(other, password, tst=now - 890, metres_north=950) == 200
    (alert,) = check_silent(now=dt.datetime.fromtimestamp(now, tz=dt.UTC))
    assert alert.kind == "silent"  # the only active phone is quiet
    on = api(protected.world.user(Role.GUARDIAN)).post(
        f"{API}/devices/{protected.device.pk}/active/", {"active": True}, format="json"
    )
    assert on.status_code == 200 and on.json()["active"] is True
    assert owntracks(protected.device, protected.password, tst=now) == 200
    assert Alert.objects.get(kind="silent").resolved_at is not None


def test_switching_a_phone_off_is_rolled_back_when_the_audit_entry_fails(
    protected: Protected, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = Client(raise_request_exception=False)
    client.force_login(protected.world.user(Role.GUARDIAN))
    broken_audit(monkeypatch)
    assert client.post(f"/protection/devices/{protected.device.pk}/active/", {"active": "0"}).status_code == 500
    assert Device.objects.get(pk=protected.device.pk).active


def test_the_alert_list_names_the_phone_and_the_fix(protected: Protected) -> None:
    now = time.time()
    for i in range(2):
        assert owntracks(protected.device, protected.password, tst=now - 10 + i, metres_north=900) == 200
    (row,) = api(protected.world.user(Role.GUARDIAN)).get(f"{API}/alerts/").json()
    alert = Alert.objects.get()
    assert (row["device"], row["phone"], row["location"]) == (protected.device.pk, "手机", alert.location_id)
    assert parse_datetime(row["fix_at"]) == alert.fix_at
    assert alert.fix_at is not None and alert.fix_at.timestamp() == int(now - 9)
    client = Client()
    client.force_login(protected.world.user(Role.GUARDIAN))
    assert "手机：手机" in client.get("/protection/alerts/").content.decode()


def test_a_phone_quiet_at_home_tells_only_the_guardian_after_the_phone_off_hours(protected: Protected) -> None:
    now = time.time()
    assert owntracks(protected.device, protected.password, tst=now - 60) == 200
    at = dt.datetime.fromtimestamp(now, tz=dt.UTC)
    assert check_silent(now=at + dt.timedelta(hours=11)) == []
    (alert,) = check_silent(now=at + dt.timedelta(hours=13))
    assert check_silent(now=at + dt.timedelta(hours=14)) == []
    assert alert.kind == "phone_off" and alert.device_id == protected.device.pk
    told = set(Notification.objects.filter(alert=alert).values_list("recipient__username", flat=True))
    assert told == {"guardian"}
    assert owntracks(protected.device, protected.password, tst=now) == 200
    assert Alert.objects.get(kind="phone_off").resolved_at is not None


def test_a_person_has_one_open_alert_of_a_kind_in_the_database(protected: Protected) -> None:
    def alert() -> Alert:
        row = Alert(enrolment=protected.enrolment, kind="silent")
        row.copy_scope(protected.enrolment)
        return row

    alert().save()
    with pytest.raises(IntegrityError), transaction.atomic():
        alert().save()
    closed = alert()
    closed.resolved_at = timezone.now()
    closed.save()  # resolved ones are history, any number of them


@pytest.mark.django_db(transaction=True)
def test_over_mqtt_a_fix_stamped_in_the_future_does_not_freeze_the_alert_state(protected: Protected) -> None:
    from wangge.protection.mqtt import IngestWorker
    from wangge.protection.tests.test_mqtt import broker_up, forget_session, publisher, wait_for

    if not broker_up():
        pytest.skip("needs Mosquitto at 127.0.0.1:1883")
    worker = IngestWorker(url="mqtt://127.0.0.1:1883", client_id=f"test-alerts-{uuid.uuid4().hex[:10]}")
    thread = threading.Thread(target=worker.run, daemon=True)
    thread.start()
    try:
        assert worker.connected.wait(10)
        time.sleep(0.3)
        pub = publisher()
        topic = f"owntracks/{protected.device.identifier}/phone"
        now = int(time.time())

        def send(tst: int, north: float) -> None:
            body = {"_type": "location", "lat": HOME[0] + north / M_PER_DEG, "lon": HOME[1], "tst": tst, "acc": 10}
            pub.publish(topic, json.dumps(body), qos=1).wait_for_publish(5)

        send(now + 540, 0)  # "at home", from a clock nine minutes fast (or a forger)
        assert wait_for(lambda: Location.objects.count() == 1)
        time.sleep(1.1)
        # Then the real phone, 9 km away, stamped after that fix was stored (``now`` itself can
        # be older than its storing on a loaded machine).
        real = int(time.time()) + 1
        send(real, 9000)
        send(real + 1, 9050)
        assert wait_for(lambda: Alert.objects.filter(kind="left_zone").exists())
        assert Location.objects.count() == 3
        pub.disconnect()
    finally:
        worker.stop.set()
        thread.join(10)
        forget_session(worker.client_id)
