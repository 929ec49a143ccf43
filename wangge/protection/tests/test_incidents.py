"""Missing-person incidents: report, the nearest responders notified, updates, close as found."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from wangge.accounts.models import AreaAssignment, Role, User
from wangge.areas.models import Membership, Organisation
from wangge.conftest import PASSWORD, World
from wangge.core.models import AuditEntry
from wangge.protection import incidents
from wangge.protection.incidents import labels
from wangge.protection.models import Alert, Incident, IncidentUpdate, Notification, Responder
from wangge.protection.notify import deliver_due
from wangge.protection.tests.conftest import HOME, NOW, Protected, arrive

pytestmark = pytest.mark.django_db


def worker(world: World, grid_key: str, username: str) -> User:
    user = User.objects.create_user(
        username=username, password=PASSWORD, role=Role.GRID_WORKER, email=f"{username}@example.org"
    )
    AreaAssignment.objects.create(user=user, area=world.areas[grid_key])
    return user


def volunteer(world: World, grid_key: str, username: str) -> User:
    user = User.objects.create_user(username=username, password=PASSWORD, role=Role.GUARDIAN, phone="13912345678")
    team, _ = Organisation.objects.get_or_create(
        kind=Organisation.Kind.VOLUNTEERS, area=world.areas[grid_key], defaults={"name": "志愿服务队"}
    )
    Membership.objects.create(organisation=team, user=user)
    return user


@pytest.fixture
def tracked(protected: Protected) -> Protected:
    profile = protected.enrolment.profile
    profile.appearance = "身高155厘米，白发，穿蓝色外套"
    profile.places = "灵西公园、菜市场"
    profile.medical_notes = "阿尔茨海默病中期，需按时服药"
    profile.save()
    arrive([protected.fix(), protected.fix(seconds=60, metres_north=50)])
    return protected


def test_it_records_the_last_known_location_and_notifies_the_nearest_workers_and_volunteers(
    tracked: Protected, django_capture_on_commit_callbacks: Any
) -> None:
    world = tracked.world
    own = world.user("grid_worker")  # grid A1-1, the person's own grid
    neighbour = worker(world, "grid_a1_2", "neighbour")
    near_volunteer = volunteer(world, "grid_a1_2", "volunteer")
    far = worker(world, "other_grid", "far_away")  # another district, kilometres away
    staff = world.user("community_staff")

    with django_capture_on_commit_callbacks(execute=True):
        incident = incidents.incident_report(by=staff, enrolment=tracked.enrolment, description="早饭后出门未归")

    assert incident.status == Incident.Status.OPEN
    assert incident.last_source == "device"
    assert incident.last_lat == pytest.approx(HOME[0] + 50 / 110574.0)
    assert incident.last_seen_at == NOW + dt.timedelta(seconds=60)
    responders = {r.user_id: r for r in incident.responders.all()}
    assert set(responders) == {own.pk, neighbour.pk, near_volunteer.pk}
    assert responders[own.pk].kind == Responder.Kind.OWN_GRID_WORKER
    assert responders[own.pk].distance_m == 0
    assert responders[neighbour.pk].distance_m > 1000
    assert responders[near_volunteer.pk].kind == Responder.Kind.VOLUNTEER
    assert far.pk not in responders

    rows = Notification.objects.filter(incident=incident)
    recipients = set(rows.values_list("recipient_id", flat=True))
    assert {own.pk, neighbour.pk, near_volunteer.pk, world.user("guardian").pk} <= recipients
    assert far.pk not in recipients and staff.pk not in recipients
    channels = set(rows.filter(recipient=neighbour).values_list("channel", flat=True))
    assert channels == {"in_app", "email"}
    assert rows.filter(recipient=near_volunteer, channel="sms").exists()
    payload = rows.filter(recipient=neighbour, channel="in_app").get().payload
    assert payload["lat"] == pytest.approx(incident.last_lat)
    assert payload["lon"] == pytest.approx(HOME[1])
    assert payload["profile"]["appearance"] == "身高155厘米，白发，穿蓝色外套"
    assert payload["profile"]["places"] == "灵西公园、菜市场"
    assert "medical_notes" not in payload["profile"]
    assert "阿尔茨海默" not in payload["body"]
    assert payload["url"] == f"/protection/incidents/{incident.pk}/"
    # Written with the incident, sent by the worker's senders: in-app, e-mail through Django's
    # mail, SMS via the adapter; nothing is sent by reporting.
    assert set(rows.values_list("status", flat=True)) == {"pending"}
    assert deliver_due() == rows.count()
    assert set(rows.values_list("status", flat=True)) == {"sent"}
    assert AuditEntry.objects.filter(action="create", object_id=str(incident.pk)).exists()


def test_it_returns_the_open_incident_instead_of_opening_a_second(tracked: Protected) -> None:
    staff = tracked.world.user("community_staff")
    first = incidents.incident_report(by=staff, enrolment=tracked.enrolment)
    second = incidents.incident_report(
        by=tracked.world.user("guardian"), enrolment=tracked.enrolment, description="还没回"
    )
    assert first.pk == second.pk
    assert first.updates.filter(text__contains="还没回").exists()


def test_it_withholds_the_location_from_workers_when_consent_does_not_cover_sharing(tracked: Protected) -> None:
    tracked.enrolment.consents.update(covers_sharing_workers=False)
    incident = incidents.incident_report(by=tracked.world.user("guardian"), enrolment=tracked.enrolment)
    own = tracked.world.user("grid_worker")
    payload = Notification.objects.get(incident=incident, recipient=own, channel="in_app").payload
    assert "lat" not in payload
    assert incident.responders.get(user=own).shares_location is False


def test_it_uses_the_home_address_when_no_phone_has_reported(protected: Protected) -> None:
    incident = incidents.incident_report(by=protected.world.user("guardian"), enrolment=protected.enrolment)
    building = protected.world.buildings["grid_a1_1"]
    assert incident.last_source == "home"
    assert (incident.last_lat, incident.last_lon) == (building.lat, building.lon)
    assert incident.responders.filter(user=protected.world.user("grid_worker")).exists()


def test_it_escalates_an_alert_into_an_incident_with_the_alerts_fix(protected: Protected) -> None:
    arrive([protected.fix(alarm="sos", metres_north=30)])
    alert = Alert.objects.get(kind="sos")
    incident = incidents.alert_escalate(by=protected.world.user("community_staff"), alert=alert)
    alert.refresh_from_db()
    assert incident.alert == alert
    assert alert.resolved_at is not None and alert.detail["escalated_incident"] == incident.pk
    assert incident.last_lat == pytest.approx(alert.lat)


def test_it_logs_updates_and_a_newer_sighting_moves_the_last_known_location(tracked: Protected) -> None:
    staff = tracked.world.user("community_staff")
    incident = incidents.incident_report(by=staff, enrolment=tracked.enrolment)
    incidents.incident_log_update(by=staff, incident=incident, text="已联系派出所")
    seen = timezone.now()
    incidents.incident_log_update(
        by=tracked.world.user("grid_worker"),
        incident=incident,
        text="超市门口有人看到",
        kind=IncidentUpdate.Kind.SIGHTING,
        lat=41.125,
        lon=122.915,
        seen_at=seen,
    )
    incident.refresh_from_db()
    assert (incident.last_lat, incident.last_lon, incident.last_source) == (41.125, 122.915, "sighting")
    assert incident.updates.count() == 2
    with pytest.raises(ValidationError):
        incidents.incident_log_update(by=staff, incident=incident, text="x", lat=95.0, lon=122.0)


def test_it_closes_as_found_and_measures_the_time_to_found(tracked: Protected) -> None:
    staff = tracked.world.user("community_staff")
    incident = incidents.incident_report(by=staff, enrolment=tracked.enrolment)
    # reported three hours ago
    Incident.objects.filter(pk=incident.pk).update(opened_at=timezone.now() - dt.timedelta(hours=3))
    incident.refresh_from_db()
    searcher = worker(tracked.world, "grid_a1_2", "searcher")
    incidents.incident_assign_searcher(by=staff, incident=incident, searcher=searcher)
    assert Notification.objects.filter(incident=incident, recipient=searcher).exists()
    found_at = incident.opened_at + dt.timedelta(hours=2, minutes=5)
    with pytest.raises(ValidationError):
        incidents.incident_close(
            by=staff, incident=incident, outcome="found", found_at=timezone.now() + dt.timedelta(hours=1)
        )
    closed = incidents.incident_close(
        by=staff, incident=incident, outcome="found", found_where="灵西公园长椅", found_at=found_at, condition="良好"
    )
    assert closed.status == Incident.Status.CLOSED
    assert labels.time_to_found(closed) == dt.timedelta(hours=2, minutes=5)
    assert labels.duration_label(labels.time_to_found(closed)) == "2小时05分"
    entry = AuditEntry.objects.filter(object_id=str(incident.pk), summary__startswith="结束走失事件").get()
    assert entry.detail["time_to_found_seconds"] == 7500
    titles = [n.payload["title"] for n in Notification.objects.filter(incident=incident, recipient=searcher)]
    assert any(title.startswith("搜寻结束") for title in titles)
    with pytest.raises(ValidationError):
        incidents.incident_log_update(by=staff, incident=closed, text="太晚了")
