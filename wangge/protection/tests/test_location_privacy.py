"""Who sees a missing person's locations on the incident pages and API, and that each read is audited.

(The trail endpoint's own rules are tested in ``test_privacy.py``; these go through the incident.)
"""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from wangge.accounts.models import AreaAssignment, Role, User
from wangge.conftest import PASSWORD, World
from wangge.core.models import AuditEntry
from wangge.protection import actions, incidents
from wangge.protection.incidents import responders
from wangge.protection.ingest import ingest
from wangge.protection.models import Incident
from wangge.protection.tests.conftest import Protected
from wangge.registry.models import Guardianship

pytestmark = pytest.mark.django_db


def login(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def grid_worker(world: World, grid_key: str, username: str) -> User:
    user = User.objects.create_user(username=username, password=PASSWORD, role=Role.GRID_WORKER)
    AreaAssignment.objects.create(user=user, area=world.areas[grid_key])
    return user


def other_guardian(world: World) -> User:
    user = User.objects.create_user(username="other_guardian", password=PASSWORD, role=Role.GUARDIAN)
    Guardianship.objects.create(guardian=user, resident=world.residents["a1_2_head"], relationship="子女")
    return user


@pytest.fixture
def recent(protected: Protected) -> Protected:
    """Fixes from the last hour, so they fall inside the incident page's trail window."""
    now = timezone.now()
    fixes = [
        protected.fix(metres_north=m, recorded_at=now - dt.timedelta(minutes=50 - i * 10))
        for i, m in enumerate((0, 100, 300, 600))
    ]
    ingest(fixes, now=now)
    return protected


def trail_points(html: str) -> list[dict[str, Any]]:
    match = re.search(r'id="incident-map-data" type="application/json">(.*?)</script>', html)
    assert match is not None
    return json.loads(match.group(1))["trail"]


def urls(incident: Incident) -> list[str]:
    enrolment = incident.enrolment_id
    return [
        f"/protection/incidents/{incident.pk}/",
        f"/protection/incidents/{incident.pk}/live/",
        f"/api/v1/protection/incidents/{incident.pk}/location/?purpose=搜寻",
        f"/api/v1/protection/enrolments/{enrolment}/trail/?purpose=搜寻",
    ]


def test_it_hides_everything_from_a_guardian_of_someone_else_and_an_unnotified_neighbouring_worker(
    recent: Protected, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = recent.world
    neighbour = grid_worker(world, "grid_a1_2", "neighbour")
    stranger = other_guardian(world)
    monkeypatch.setattr(responders, "NEAREST_GRIDS", 1)  # only the grid the person is in
    incident = incidents.incident_report(by=world.user("guardian"), enrolment=recent.enrolment)
    assert not incident.responders.filter(user=neighbour).exists()
    for user in (neighbour, stranger):
        client = login(user)
        for url in [*urls(incident), f"/protection/{recent.enrolment.pk}/"]:
            assert client.get(url).status_code == 404, (user.username, url)
    assert not AuditEntry.objects.filter(actor__in=[neighbour, stranger], action="view").exists()


def test_it_shows_the_trail_to_a_notified_neighbouring_worker_only_while_the_search_is_open(recent: Protected) -> None:
    world = recent.world
    neighbour = grid_worker(world, "grid_a1_2", "neighbour")
    client = login(neighbour)
    assert client.get(urls_for_enrolment(recent)).status_code == 404  # no incident: nothing
    incident = incidents.incident_report(by=world.user("community_staff"), enrolment=recent.enrolment)
    assert incident.responders.filter(user=neighbour).exists()  # among the nearest grids
    live = client.get(f"/protection/incidents/{incident.pk}/live/")
    assert live.status_code == 200 and len(trail_points(live.content.decode())) == 4
    assert client.get(urls_for_enrolment(recent)).status_code == 200
    incidents.incident_close(by=world.user("community_staff"), incident=incident, outcome="found", found_where="公园")
    for url in urls(incident):
        assert client.get(url).status_code == 404, url


def urls_for_enrolment(protected: Protected) -> str:
    return f"/api/v1/protection/enrolments/{protected.enrolment.pk}/trail/?purpose=搜寻"


def test_it_gives_an_assigned_searcher_the_trail_and_takes_it_away_when_the_incident_closes(
    recent: Protected, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = recent.world
    staff = world.user("community_staff")
    monkeypatch.setattr(responders, "NEAREST_GRIDS", 1)  # so the neighbour is not notified, only assigned
    searcher = grid_worker(world, "grid_a1_2", "searcher_from_the_next_grid")
    incident = incidents.incident_report(by=staff, enrolment=recent.enrolment)
    client = login(searcher)
    assert client.get(f"/protection/incidents/{incident.pk}/").status_code == 404
    incidents.incident_assign_searcher(by=staff, incident=incident, searcher=searcher)
    page = client.get(f"/protection/incidents/{incident.pk}/")
    assert page.status_code == 200 and len(trail_points(page.content.decode())) == 4
    location = client.get(f"/api/v1/protection/incidents/{incident.pk}/location/?purpose=搜寻")
    assert location.status_code == 200 and len(location.json()["trail"]) == 4
    incidents.incident_close(by=staff, incident=incident, outcome="found", found_where="公园")
    # the closed incident page stays visible to a searcher, but without any location
    closed = client.get(f"/protection/incidents/{incident.pk}/")
    assert closed.status_code == 200
    assert trail_points(closed.content.decode()) == [] and 'id="incident-map"' not in closed.content.decode()
    assert client.get(f"/api/v1/protection/incidents/{incident.pk}/location/?purpose=搜寻").status_code == 404
    assert client.get(urls_for_enrolment(recent)).status_code == 404


def test_it_audits_every_location_read_with_its_purpose(recent: Protected) -> None:
    guardian = recent.world.user("guardian")
    incident = incidents.incident_report(by=guardian, enrolment=recent.enrolment)
    client = login(guardian)

    def reads() -> list[AuditEntry]:
        # The location reads only: the incident page's profile read is audited on the profile.
        rows = AuditEntry.objects.filter(actor=guardian, action="view", object_type="protection.enrolment")
        return list(rows.filter(object_id=str(recent.enrolment.pk)))

    expected = [
        (f"/protection/incidents/{incident.pk}/", "incident"),
        (f"/protection/incidents/{incident.pk}/live/", "incident"),
        (f"/protection/incidents/{incident.pk}/live/", "incident"),
        (f"/api/v1/protection/incidents/{incident.pk}/location/?purpose=联系家人", "联系家人"),
        (f"/api/v1/protection/enrolments/{recent.enrolment.pk}/trail/?purpose=核对轨迹", "核对轨迹"),
    ]
    for count, (url, purpose) in enumerate(expected, start=1):
        assert client.get(url).status_code == 200
        entries = reads()
        assert len(entries) == count, url
        assert max(entries, key=lambda e: e.pk).detail["purpose"] == purpose


def test_it_hides_past_locations_once_consent_is_withdrawn(recent: Protected) -> None:
    guardian = recent.world.user("guardian")
    incident = incidents.incident_report(by=guardian, enrolment=recent.enrolment)
    client = login(guardian)
    assert len(trail_points(client.get(f"/protection/incidents/{incident.pk}/").content.decode())) == 4
    actions.consent_withdraw(by=guardian, enrolment=recent.enrolment)
    page = client.get(f"/protection/incidents/{incident.pk}/").content.decode()
    assert trail_points(page) == [] and 'id="incident-map"' not in page
    assert client.get(f"/api/v1/protection/incidents/{incident.pk}/location/?purpose=联系").status_code == 404
    admin = login(recent.world.user("district_admin"))
    assert admin.get(f"/api/v1/protection/incidents/{incident.pk}/location/?purpose=联系").status_code == 404


def test_it_keeps_the_trail_from_responders_when_consent_does_not_cover_sharing(recent: Protected) -> None:
    recent.enrolment.consents.update(covers_sharing_workers=False)
    incident = incidents.incident_report(by=recent.world.user("guardian"), enrolment=recent.enrolment)
    own = recent.world.user("grid_worker")
    assert incident.responders.filter(user=own, shares_location=False).exists()
    client = login(own)
    page = client.get(f"/protection/incidents/{incident.pk}/")
    assert page.status_code == 200 and trail_points(page.content.decode()) == []
    assert client.get(f"/api/v1/protection/incidents/{incident.pk}/location/?purpose=搜寻").status_code == 404
