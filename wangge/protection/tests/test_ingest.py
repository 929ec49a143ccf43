"""The ingest service: consent, storage, zones with jitter and dwell, alerts and notifications."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.core import mail
from django.test import override_settings
from django.utils import timezone

from wangge.core.coords import wgs84_to_gcj02
from wangge.protection import actions
from wangge.protection.ingest import check_silent
from wangge.protection.models import Alert, Device, Enrolment, Location, Notification
from wangge.protection.notify import deliver_due
from wangge.protection.tests.conftest import HOME, NOW, Protected, arrive

pytestmark = [pytest.mark.django_db(transaction=False), pytest.mark.usefixtures("protected")]


def test_it_stores_a_fix_and_updates_the_phone(protected: Protected) -> None:
    result = arrive([protected.fix(battery=64.0)])
    assert result.stored == 1
    device = Device.objects.get(pk=protected.device.pk)
    assert device.last_seen == NOW
    assert device.battery == 64.0
    assert device.last_lat == pytest.approx(HOME[0])


def test_it_refuses_fixes_without_active_consent(protected: Protected) -> None:
    actions.consent_withdraw(by=None, enrolment=protected.enrolment)
    result = arrive([protected.fix()])
    assert (result.stored, result.refused) == (0, 1)
    assert not Location.objects.exists()


def test_it_refuses_fixes_from_unknown_devices(protected: Protected) -> None:
    fix = protected.fix()
    fix.identifier = "nosuchdevice"
    assert arrive([fix]).refused == 1
    assert not Location.objects.exists()


def test_it_stores_a_redelivered_fix_once(protected: Protected) -> None:
    arrive([protected.fix(), protected.fix()])
    arrive([protected.fix()])
    assert Location.objects.count() == 1


def test_it_converts_gcj02_phones_to_wgs84(protected: Protected) -> None:
    Device.objects.filter(pk=protected.device.pk).update(coord_system="gcj02")
    glat, glon = wgs84_to_gcj02(*HOME)
    arrive([protected.fix(lat=glat, lon=glon)])
    location = Location.objects.get()
    assert location.lat == pytest.approx(HOME[0], abs=1e-7)
    assert location.lon == pytest.approx(HOME[1], abs=1e-7)
    assert not Alert.objects.exists()  # the GCJ offset (hundreds of metres) is not "leaving"


def test_it_raises_left_zone_after_two_outside_fixes_and_notifies(protected: Protected) -> None:
    world = protected.world
    world.user("guardian").email = "guardian@example.cn"
    world.user("guardian").save()
    arrive([protected.fix(metres_north=500, seconds=0)])
    assert not Alert.objects.exists()
    result = arrive([protected.fix(metres_north=520, seconds=10)])
    (alert,) = result.alerts
    assert alert.kind == "left_zone"
    assert alert.location is not None
    assert alert.grid_id == world.areas["grid_a1_1"].pk
    recipients = set(
        Notification.objects.filter(alert=alert, channel="in_app").values_list("recipient__username", flat=True)
    )
    assert recipients == {"guardian", "grid_worker"}


def test_it_stores_the_notifications_with_the_alert_and_a_sender_delivers_them(
    protected: Protected, django_capture_on_commit_callbacks
) -> None:  # type: ignore[no-untyped-def]
    user = protected.world.user("guardian")
    user.email = "guardian@example.cn"
    user.save()
    with django_capture_on_commit_callbacks(execute=True):
        arrive([protected.fix(metres_north=500), protected.fix(metres_north=510, seconds=5)])
    assert Notification.objects.filter(status="pending").count() == Notification.objects.count() > 0
    assert not mail.outbox  # storing sends nothing
    assert deliver_due() == Notification.objects.count()
    assert Notification.objects.filter(status="sent").count() == Notification.objects.count()
    assert len(mail.outbox) == 1
    assert "李秀英" in mail.outbox[0].subject


def test_it_ignores_gps_jitter_within_the_fix_accuracy(protected: Protected) -> None:
    # 230 m north is 30 m outside a 200 m zone, but the fixes are only good to 50 m.
    fixes = [protected.fix(metres_north=230, seconds=i * 10, accuracy=50.0) for i in range(10)]
    arrive(fixes)
    assert not Alert.objects.filter(kind="left_zone").exists()


def test_it_raises_after_the_dwell_time_with_one_fix_per_batch(protected: Protected) -> None:
    with override_settings(WANGGE_ZONE_DWELL_SECONDS=60):
        arrive([protected.fix(metres_north=500)])
        assert not Alert.objects.exists()
        # a late, older fix does not count as a second consecutive one
        arrive([protected.fix(metres_north=500, seconds=-30)])
        assert not Alert.objects.exists()
        arrive([protected.fix(metres_north=300, seconds=90)])
    assert Alert.objects.filter(kind="left_zone").count() == 1


def test_it_does_not_raise_for_out_of_order_fixes(protected: Protected) -> None:
    arrive([protected.fix(seconds=100)])
    arrive([protected.fix(metres_north=900, seconds=10), protected.fix(metres_north=900, seconds=20)])
    assert Location.objects.count() == 3
    assert not Alert.objects.exists()
    assert Device.objects.get().last_seen == NOW + dt.timedelta(seconds=100)


def test_it_stores_a_batch_in_time_order_and_judges_by_the_newest(protected: Protected) -> None:
    # Arriving newest first: sorted, so the last state is "back inside" (two fixes) and the
    # alert resolves, at the time the server received the batch.
    arrive(
        [
            protected.fix(seconds=40),
            protected.fix(seconds=30),
            protected.fix(metres_north=600, seconds=20),
            protected.fix(metres_north=600, seconds=10),
        ],
        late=2,
    )
    alert = Alert.objects.get(kind="left_zone")
    assert alert.resolved_at == alert.raised_at == NOW + dt.timedelta(seconds=42)


def test_it_resolves_left_zone_only_when_two_consecutive_fixes_are_back_inside(protected: Protected) -> None:
    arrive([protected.fix(metres_north=500), protected.fix(metres_north=500, seconds=10)])
    assert Alert.objects.get().resolved_at is None
    arrive([protected.fix(seconds=60)])
    assert Alert.objects.get().resolved_at is None  # one fix inside could be a stray or forged one
    arrive([protected.fix(seconds=70)], late=3)
    assert Alert.objects.get().resolved_at == NOW + dt.timedelta(seconds=73)
    assert Enrolment.objects.get().outside_since is None


def test_it_only_uses_zones_in_their_hours(protected: Protected) -> None:
    # The home zone only applies 20:00–07:00; at 10:00 local time nothing constrains her.
    protected.zone.active_from, protected.zone.active_until = dt.time(20, 0), dt.time(7, 0)
    protected.zone.save()
    arrive([protected.fix(metres_north=900), protected.fix(metres_north=900, seconds=10)])
    assert not Alert.objects.exists()
    night = 14 * 3600  # 22:00 local
    arrive([protected.fix(metres_north=900, seconds=night), protected.fix(metres_north=900, seconds=night + 10)])
    assert Alert.objects.filter(kind="left_zone").count() == 1


def test_it_raises_low_battery_once_and_resolves_it_when_charged(protected: Protected) -> None:
    arrive([protected.fix(battery=10.0), protected.fix(battery=9.0, seconds=10)])
    assert Alert.objects.filter(kind="low_battery", resolved_at__isnull=True).count() == 1
    arrive([protected.fix(battery=60.0, seconds=20)])
    assert Alert.objects.filter(kind="low_battery", resolved_at__isnull=True).count() == 0


def test_it_raises_sos(protected: Protected) -> None:
    (alert,) = arrive([protected.fix(alarm="sos")]).alerts
    assert alert.kind == "sos"


def test_it_raises_silent_for_a_phone_outside_that_stops_reporting(protected: Protected) -> None:
    arrive([protected.fix(metres_north=500)])
    assert check_silent(now=NOW + dt.timedelta(minutes=5)) == []
    (alert,) = check_silent(now=NOW + dt.timedelta(minutes=11))
    assert alert.kind == "silent"
    assert check_silent(now=NOW + dt.timedelta(minutes=20)) == []  # once
    arrive([protected.fix(metres_north=500, seconds=1300)])
    assert Alert.objects.get(kind="silent").resolved_at is not None


def test_it_does_not_raise_silent_for_a_phone_at_home(protected: Protected) -> None:
    arrive([protected.fix()])
    assert check_silent(now=NOW + dt.timedelta(hours=3)) == []


@override_settings(EMAIL_BACKEND="wangge.protection.tests.test_ingest.BrokenMail")
def test_it_retries_a_failed_notification_until_it_gives_up(
    protected: Protected, django_capture_on_commit_callbacks
) -> None:  # type: ignore[no-untyped-def]
    user = protected.world.user("guardian")
    user.email = "guardian@example.cn"
    user.save()
    with django_capture_on_commit_callbacks(execute=True):
        arrive([protected.fix(alarm="sos")])
    deliver_due()
    email = Notification.objects.get(channel="email")
    assert (email.status, email.attempts) == ("failed", 1)
    assert "SMTP down" in email.last_error
    assert deliver_due() == 0  # not before its back-off
    later = email.next_attempt_at
    for _ in range(10):
        deliver_due(now=later)
        later += dt.timedelta(hours=2)
    email.refresh_from_db()
    assert (email.status, email.attempts) == ("given_up", 8)
    assert Notification.objects.get(channel="in_app", recipient=user).status == "sent"


class BrokenMail:
    def __init__(self, *args: object, **kwargs: object) -> None:
        pass

    def send_messages(self, messages: object) -> int:
        raise OSError("SMTP down")


def test_it_measures_many_fixes_against_their_zones_as_one_fix_at_a_time_would() -> None:
    import random

    from wangge.protection.ingest.alerts import outside_many
    from wangge.protection.protocols import Fix
    from wangge.protection.zones import CompiledZone, circle_polygon, compile_zone

    def outside_by(zones: list[CompiledZone], fix: Fix) -> float | None:
        """The one-fix-at-a-time measure ``outside_many`` must agree with."""
        if not zones:
            return None
        local = timezone.localtime(fix.recorded_at).time()
        active = [zone for zone in zones if zone.active_at(local)]
        if not active:
            return None
        return min(zone.metres_outside(fix.lat, fix.lon) for zone in active)

    def zone(n: int, **fields: object) -> object:
        values: dict = {
            "id": n,
            "enrolment_id": 1,
            "name": "z",
            "kind": "circle",
            "geojson": None,
            "center_lat": HOME[0],
            "center_lon": HOME[1],
            "radius_m": 150.0,
            "active_from": None,
            "active_until": None,
        }
        values.update(fields)
        return compile_zone(**values)

    circle = zone(1)
    square = zone(
        2,
        kind="polygon",
        geojson={
            "type": "Polygon",
            "coordinates": [[[122.92, 41.12], [122.925, 41.12], [122.925, 41.125], [122.92, 41.125], [122.92, 41.12]]],
        },
    )
    daytime = zone(
        3, kind="polygon", geojson=circle_polygon(41.13, 122.9, 300), active_from=dt.time(8), active_until=dt.time(18)
    )
    night = zone(4, center_lat=41.11, radius_m=80.0, active_from=dt.time(20), active_until=dt.time(7))
    rng = random.Random(5)
    items = []
    for k in range(300):
        fix = Fix(
            identifier="x",
            recorded_at=NOW + dt.timedelta(hours=rng.randrange(24)),
            lat=HOME[0] + rng.uniform(-0.02, 0.02) * (k % 4 != 0),  # every fourth at home's latitude
            lon=HOME[1] + rng.uniform(-0.01, 0.03) * (k % 8 != 0),
            source="osmand",
        )
        zones = [[], [circle], [square], [circle, square, daytime, night], [night], [daytime]][k % 6]
        items.append((fix, zones))
    expected = [outside_by(zones, fix) for fix, zones in items]
    got = outside_many(items)
    assert [value is None for value in got] == [value is None for value in expected]
    assert [v for v in got if v is not None] == pytest.approx([v for v in expected if v is not None], abs=1e-6)
    assert any(v == 0.0 for v in got) and any(v is not None and v > 100 for v in got)


def test_it_raises_left_zone_for_two_outside_fixes_in_one_batch_whatever_their_order(protected: Protected) -> None:
    far = 1000.0
    result = arrive([protected.fix(seconds=20, metres_north=far), protected.fix(seconds=10, metres_north=far)])
    assert result.stored == 2
    assert Alert.objects.filter(kind=Alert.Kind.LEFT_ZONE, resolved_at__isnull=True).count() == 1


def test_it_judges_by_a_zone_edited_after_it_was_cached(protected: Protected) -> None:
    arrive([protected.fix(seconds=0)])  # the zone is compiled and cached
    protected.zone.radius_m = 1000
    protected.zone.save()
    arrive([protected.fix(metres_north=500, seconds=10), protected.fix(metres_north=500, seconds=20)])
    assert not Alert.objects.exists()  # inside the enlarged zone
    protected.zone.radius_m = 200
    protected.zone.save()
    arrive([protected.fix(metres_north=500, seconds=30), protected.fix(metres_north=500, seconds=40)])
    assert Alert.objects.get().kind == "left_zone"


def test_it_builds_binary_arrays_postgresql_reads_back_unchanged() -> None:
    from django.db import connection

    from wangge.protection.ingest.pgbinary import pg_array, raw_cursor

    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL's binary array format")
    times = [dt.datetime(2026, 11, 25, 19, 3, 15, 123456, tzinfo=dt.UTC), None, dt.datetime(1999, 1, 1, tzinfo=dt.UTC)]
    values = [[1.5, None, -2.25], [2**40, None, 3], [1, 2, None], times, []]
    kinds = ["float8", "int8", "int4", "timestamptz", "float8"]
    with raw_cursor() as cursor:
        cursor.execute(
            "SELECT %b::float8[], %b::int8[], %b::int4[], %b::timestamptz[], %b::float8[]",
            [pg_array(kind, column) for kind, column in zip(kinds, values, strict=True)],
        )
        assert list(cursor.fetchone()) == values


def _person_writes(fixes: list, *, late: float = 0.0) -> int:
    """How many statements ``arrive(fixes)`` ran that write the person's row (checking that the
    phone's row, written by the same kind of statement, was seen being written)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        arrive(fixes, late=late)
    statements = [query["sql"] for query in queries.captured_queries]
    assert any('UPDATE "protection_device"' in sql for sql in statements)
    return sum('UPDATE "protection_enrolment"' in sql for sql in statements)


def test_it_writes_the_persons_row_only_when_a_fix_changes_their_zone_state(protected: Protected) -> None:
    def state() -> tuple:
        enrolment = Enrolment.objects.get()
        return enrolment.outside_since is not None, enrolment.outside_fixes, enrolment.inside_fixes

    # At home and staying there: the phone's row moves, the person's is left alone.
    assert _person_writes([protected.fix(seconds=0)]) == 0
    assert _person_writes([protected.fix(seconds=10)]) == 0
    assert _person_writes([protected.fix(seconds=20), protected.fix(seconds=35)]) == 0
    assert state() == (False, 0, 0)
    assert Device.objects.get().last_seen == NOW + dt.timedelta(seconds=35)

    far = 1000.0
    assert _person_writes([protected.fix(seconds=40, metres_north=far)]) == 1  # left: a change
    assert state() == (True, 1, 0)
    assert _person_writes([protected.fix(seconds=50, metres_north=far)]) == 1  # raises the alert
    assert state() == (True, 2, 0)
    open_alerts = Alert.objects.filter(kind=Alert.Kind.LEFT_ZONE, resolved_at__isnull=True)
    assert open_alerts.count() == 1
    # Still outside with the alert open: nothing left to change.
    assert _person_writes([protected.fix(seconds=60, metres_north=far)]) == 0
    assert _person_writes([protected.fix(seconds=70, metres_north=far)]) == 0
    assert state() == (True, 2, 0) and open_alerts.count() == 1

    assert _person_writes([protected.fix(seconds=80)]) == 1  # back inside, once: not yet resolved
    assert open_alerts.count() == 1
    assert _person_writes([protected.fix(seconds=90)]) == 1  # twice: resolved
    assert state() == (False, 0, 2) and open_alerts.count() == 0
    assert Alert.objects.get().resolved_at is not None
    assert _person_writes([protected.fix(seconds=100)]) == 0  # home again, for good
    # Outside once, then back: the single outside fix is forgotten only after two inside.
    assert _person_writes([protected.fix(seconds=110, metres_north=far)]) == 1
    assert _person_writes([protected.fix(seconds=120)]) == 1
    assert state() == (True, 1, 1)
    assert _person_writes([protected.fix(seconds=130, metres_north=far)]) == 1  # second outside: raised
    assert open_alerts.count() == 1


def test_it_takes_the_persons_freshest_fix_from_their_active_phones(protected: Protected) -> None:
    other, _credentials = actions.device_register(by=None, enrolment=protected.enrolment, name="备用手机")
    far = 1000.0
    left = Alert.objects.filter(kind=Alert.Kind.LEFT_ZONE, resolved_at__isnull=True)
    arrive([protected.fix(identifier=other.identifier, seconds=s, metres_north=far) for s in (100, 110)])
    assert left.count() == 1
    # The first phone's fixes are older than the second's: they say nothing about now.
    arrive([protected.fix(seconds=50), protected.fix(seconds=60)], late=60)
    assert left.count() == 1
    # Switched off, the second phone no longer counts: the first phone's are the freshest fixes.
    actions.device_set_active(by=None, device=other, active=False)
    arrive([protected.fix(seconds=70), protected.fix(seconds=80)], late=60)
    assert left.count() == 0


@pytest.mark.django_db(transaction=True)
def test_a_batch_waits_for_another_holding_a_phone_of_the_same_person(protected: Protected) -> None:
    """PostgreSQL (SQLite writes one transaction at a time): two workers each holding a fix of
    one person, from two phones, take turns, so the second counts the first's outside fix."""
    import threading

    from django.db import connection, transaction

    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL's row locks")
    other, _credentials = actions.device_register(by=None, enrolment=protected.enrolment, name="备用手机")
    far = 1000.0
    done = threading.Event()

    def second_worker() -> None:
        try:
            arrive([protected.fix(identifier=other.identifier, seconds=10, metres_north=far)])
        finally:
            connection.close()
            done.set()

    thread = threading.Thread(target=second_worker)
    with transaction.atomic():
        arrive([protected.fix(seconds=0, metres_north=far)])  # phone A's batch, not yet committed
        thread.start()
        assert not done.wait(1.0)  # phone B's batch waits for it
    assert done.wait(15)
    thread.join()
    assert Enrolment.objects.get().outside_fixes == 2
    assert Alert.objects.filter(kind=Alert.Kind.LEFT_ZONE, resolved_at__isnull=True).count() == 1


def _statements(fixes: list) -> list[str]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        arrive(fixes)
    return [" ".join(query["sql"].split()) for query in queries.captured_queries]


def test_a_batch_reads_its_phones_once_and_their_zones_in_one_statement(protected: Protected) -> None:
    """One look-up of the batch's phones by identifier (on PostgreSQL the locking read returns
    the phones, and the people are then read by key), and one read of the zones, also when a
    circle is compiled for the first time; a polygon's shape is read only to compile it."""
    other, _credentials = actions.device_register(by=None, enrolment=protected.enrolment, name="备用手机")
    fixes = [protected.fix(seconds=0), protected.fix(identifier=other.identifier, seconds=5)]
    statements = _statements(fixes)
    assert sum(bool(re.search(r"\.identifier (IN \(|= ANY)", sql)) for sql in statements) == 1
    assert sum("protection_safezone" in sql for sql in statements) == 1
    assert Location.objects.count() == 2

    square = {
        "type": "Polygon",
        "coordinates": [[[122.90, 41.11], [122.92, 41.11], [122.92, 41.13], [122.90, 41.13], [122.90, 41.11]]],
    }
    protected.zone.kind, protected.zone.geojson = "polygon", square
    protected.zone.save()
    first = _statements([protected.fix(seconds=10)])
    assert sum("protection_safezone" in sql for sql in first) == 2  # the shape, to compile it
    again = _statements([protected.fix(seconds=20)])
    assert sum("protection_safezone" in sql for sql in again) == 1
    assert not Alert.objects.exists()  # at home, inside the square
    far = 5000.0
    arrive([protected.fix(seconds=30, metres_north=far), protected.fix(seconds=40, metres_north=far)])
    assert Alert.objects.get().kind == Alert.Kind.LEFT_ZONE
