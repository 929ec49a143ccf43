"""The notification outbox: nothing is sent where alerts are stored, people before webhooks,
each delivery sent once however many senders race, and given-up deliveries on the incident page.

A "hung" webhook is a real local HTTP server that accepts connections and never answers."""

from __future__ import annotations

import io
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from wangge.protection import incidents, notify
from wangge.protection.models import Alert, Notification
from wangge.protection.tests.conftest import Protected, arrive, protect, wait_for

SMS_BACKEND = "wangge.protection.tests.test_outbox.RecordingSms"


class RecordingSms:
    """An SMS gateway that records what it sent and when (``time.time()``)."""

    sent: list[tuple[str, str, float]] = []
    lock = threading.Lock()
    delay = 0.0
    during_send: Any = None  # called inside the first send: another sender at work meanwhile

    def send(self, phone: str, text: str, *, timeout: float | None = None) -> None:
        hook, RecordingSms.during_send = RecordingSms.during_send, None
        if hook is not None:
            hook()
        if self.delay:
            time.sleep(self.delay)
        with self.lock:
            RecordingSms.sent.append((phone, text, time.time()))


@pytest.fixture(autouse=True)
def _recording_sms() -> Iterator[None]:
    RecordingSms.sent, RecordingSms.delay, RecordingSms.during_send = [], 0.0, None
    with override_settings(WANGGE_SMS_BACKEND=SMS_BACKEND):
        yield


class HungServer:
    """Accepts every connection and never answers; remembers when each was accepted."""

    def __init__(self) -> None:
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}/hook"
        self.accepted: list[float] = []
        self.connections: list[socket.socket] = []
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            self.accepted.append(time.time())
            self.connections.append(conn)

    def close(self) -> None:
        for conn in self.connections:
            conn.close()
        self.listener.close()


@pytest.fixture
def hung() -> Iterator[HungServer]:
    server = HungServer()
    yield server
    server.close()


def reachable(protected: Protected) -> None:
    """The guardian and the grid worker both have a phone."""
    for role, phone in (("guardian", "13800000001"), ("grid_worker", "13800000002")):
        user = protected.world.user(role)
        user.phone = phone
        user.save()


@pytest.mark.django_db
def test_a_hung_webhook_does_not_delay_storing_other_phones_fixes(
    protected: Protected, hung: HungServer, django_capture_on_commit_callbacks: Any
) -> None:
    reachable(protected)
    other = protect(protected.world, "a1_1_head")
    with override_settings(WANGGE_WEBHOOK_URL=hung.url, WANGGE_WEBHOOK_TIMEOUT_SECONDS=5):
        started = time.monotonic()
        with django_capture_on_commit_callbacks(execute=True):
            (alert,) = arrive([protected.fix(alarm="sos")]).alerts
        with django_capture_on_commit_callbacks(execute=True):
            assert arrive([other.fix()]).stored == 1
        took = time.monotonic() - started
    assert took < 1.0, f"storing took {took:.2f} s"
    assert hung.accepted == [] and RecordingSms.sent == []  # storing sent nothing
    assert set(alert.notifications.values_list("channel", "status")) == {
        ("in_app", "pending"),
        ("sms", "pending"),
        ("webhook", "pending"),
    }


@pytest.mark.django_db
def test_sms_and_in_app_go_out_before_the_webhook(protected: Protected, hung: HungServer) -> None:
    reachable(protected)
    other = protect(protected.world, "a1_1_head")
    with override_settings(WANGGE_WEBHOOK_URL=hung.url, WANGGE_WEBHOOK_TIMEOUT_SECONDS=0.3):
        arrive([protected.fix(alarm="sos")])
        arrive([other.fix(alarm="sos")])
        assert notify.deliver_due() == Notification.objects.count()
    assert len(RecordingSms.sent) == 3  # the ward's guardian and grid worker, the other's grid worker
    assert len(hung.accepted) == 2
    assert max(at for _phone, _text, at in RecordingSms.sent) < min(hung.accepted)
    last_in_app = max(n.sent_at for n in Notification.objects.filter(channel="in_app"))
    assert last_in_app is not None and last_in_app.timestamp() < min(hung.accepted)
    for webhook in Notification.objects.filter(channel="webhook"):
        assert (webhook.status, webhook.attempts) == ("failed", 1)
        assert "timed out" in webhook.last_error
        assert webhook.next_attempt_at > timezone.now()
        assert (webhook.claimed_by, webhook.claimed_until) == ("", None)


@pytest.mark.django_db
def test_a_second_sender_never_sends_a_delivery_another_is_sending(protected: Protected) -> None:
    reachable(protected)
    arrive([protected.fix(alarm="sos")])
    raced: list[int] = []

    def second_sender() -> None:
        # Another sender (or the retry of an earlier design) runs while the first is mid-send.
        raced.append(notify.deliver_due(channels=["sms"], sender="worker-b/sms"))

    RecordingSms.during_send = second_sender
    assert notify.deliver_due(channels=["sms"], sender="worker-a/sms") == 1
    assert raced == [1]  # it sent the other SMS, not the one being sent
    assert sorted(phone for phone, _text, _at in RecordingSms.sent) == ["13800000001", "13800000002"]
    assert set(Notification.objects.filter(channel="sms").values_list("status", "attempts")) == {("sent", 1)}
    assert notify.deliver_due(channels=["sms"], sender="worker-c/sms") == 0


@pytest.mark.django_db
def test_a_leased_delivery_is_not_claimed_again_until_its_lease_runs_out(protected: Protected) -> None:
    reachable(protected)
    arrive([protected.fix(alarm="sos")])
    now = timezone.now()
    claimed = notify.claim(channels=["sms"], sender="dead-worker", now=now)
    assert claimed is not None
    first, _token = claimed
    other = notify.claim(channels=["sms"], sender="b", now=now)
    assert other is not None and other[0].pk != first.pk  # the other SMS, never the leased one
    assert notify.claim(channels=["sms"], sender="b", now=now) is None
    # The first sender died mid-send: once its lease has run out, another sender takes over.
    later = now + notify.LEASE_GRACE + notify.dt.timedelta(seconds=notify.timeout_for("sms") + 1)
    retaken = notify.claim(channels=["sms"], sender="b", now=later)
    assert retaken is not None and retaken[0].pk == first.pk and retaken[0].attempts == 2


@pytest.mark.django_db
def test_a_rolled_back_alert_leaves_no_notification(
    protected: Protected, django_capture_on_commit_callbacks: Any
) -> None:
    reachable(protected)
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError), transaction.atomic():
        assert arrive([protected.fix(alarm="sos")]).alerts
        assert Notification.objects.exists()
        raise RuntimeError("the storing transaction fails after the alert")
    assert not Alert.objects.exists() and not Notification.objects.exists()
    assert notify.deliver_due() == 0
    assert RecordingSms.sent == []


@pytest.mark.django_db
@override_settings(WANGGE_WEBHOOK_URL="http://127.0.0.1:9/refused")  # discard port: nothing listens
def test_a_given_up_delivery_is_shown_on_the_incident_page(protected: Protected, client_for: Any) -> None:
    staff = protected.world.user("community_staff")
    incident = incidents.incident_report(by=staff, enrolment=protected.enrolment)
    moment = timezone.now()
    for _ in range(notify.MAX_ATTEMPTS):
        notify.deliver_due(channels=["webhook"], now=moment)
        moment += notify.dt.timedelta(hours=2)
    webhook = Notification.objects.get(incident=incident, channel="webhook")
    assert (webhook.status, webhook.attempts) == ("given_up", notify.MAX_ATTEMPTS)
    notify.deliver_due()
    page = client_for("community_staff").get(reverse("protection:incident", args=[incident.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="deliveries"' in html and 'class="given-up"' in html
    assert "已放弃 1" in html
    assert "Webhook" in html and "Connection refused" in html


@pytest.mark.django_db
def test_jobs_once_also_delivers_the_notifications_due(protected: Protected) -> None:
    reachable(protected)
    arrive([protected.fix(alarm="sos")])
    out = io.StringIO()
    call_command("worker", "--jobs-once", stdout=out)
    # (the jobs run at today's time, so the 2024 fixes' phone also counts as switched off)
    assert "notifications attempted: " in out.getvalue()
    assert {"13800000001", "13800000002"} <= {phone for phone, _text, _at in RecordingSms.sent}
    assert not Notification.objects.exclude(status="sent").exists()


def _real_threads_only() -> None:
    if connection.vendor == "sqlite":
        # SQLite's shared-cache memory test database takes table locks no busy timeout waits
        # for; the deterministic tests above cover SQLite, PostgreSQL races here.
        pytest.skip("real threads on the in-memory shared-cache test database lock tables")


@pytest.mark.django_db(transaction=True)
def test_three_senders_racing_deliver_each_notification_exactly_once() -> None:
    _real_threads_only()
    phones = [f"139{i:08d}" for i in range(60)]
    Notification.objects.bulk_create(
        Notification(channel="sms", address=phone, payload={"title": "t", "body": phone}) for phone in phones
    )
    RecordingSms.delay = 0.005
    barrier = threading.Barrier(3)
    errors: list[BaseException] = []

    def sender(name: str) -> None:
        try:
            barrier.wait(timeout=30)
            notify.deliver_due(channels=["sms"], sender=name)
        except BaseException as exc:
            errors.append(exc)
            barrier.abort()
        finally:
            connection.close()

    threads = [threading.Thread(target=sender, args=(f"worker-{n}",)) for n in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads) and not errors
    assert sorted(phone for phone, _text, _at in RecordingSms.sent) == phones
    assert set(Notification.objects.values_list("status", "attempts")) == {("sent", 1)}


@pytest.mark.django_db(transaction=True)
def test_the_worker_senders_get_sms_out_while_the_webhook_hangs(protected: Protected, hung: HungServer) -> None:
    _real_threads_only()
    reachable(protected)
    stop = threading.Event()
    with override_settings(WANGGE_WEBHOOK_URL=hung.url, WANGGE_WEBHOOK_TIMEOUT_SECONDS=2):
        senders = notify.sender_threads(worker="test", stop=stop, poll=0.1)
        for thread in senders:
            thread.start()
        try:
            stored = time.time()
            arrive([protected.fix(alarm="sos")])
            assert wait_for(lambda: len(RecordingSms.sent) == 2, timeout=10)
            assert wait_for(lambda: len(hung.accepted) == 1, timeout=10)
            assert Notification.objects.get(channel="webhook").status == "pending"  # still hanging
        finally:
            stop.set()
            for thread in senders:
                thread.join(timeout=30)
    assert max(at for _phone, _text, at in RecordingSms.sent) - stored < 1.0
    assert Notification.objects.get(channel="in_app", recipient__phone="13800000001").status == "sent"
