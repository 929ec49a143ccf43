"""Who may read a person's locations: guardians, incident searchers, district administrators."""

from __future__ import annotations

import pytest
from django.test import Client

from wangge.accounts.models import AreaAssignment, Role, User
from wangge.conftest import PASSWORD, World
from wangge.core.models import AuditEntry
from wangge.protection import actions, incidents
from wangge.protection.tests.conftest import Protected, arrive, protect

pytestmark = pytest.mark.django_db


def trail_url(protected: Protected) -> str:
    return f"/api/v1/protection/enrolments/{protected.enrolment.pk}/trail/?purpose=核实位置&since=2024-01-01T00:00:00Z"


def login(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def neighbour_worker(world: World) -> User:
    user = User.objects.create_user(username="neighbour", password=PASSWORD, role=Role.GRID_WORKER)
    AreaAssignment.objects.create(user=user, area=world.areas["grid_a1_2"])
    return user


@pytest.fixture
def tracked(protected: Protected) -> Protected:
    arrive([protected.fix(), protected.fix(seconds=30)])
    return protected


def test_it_shows_the_trail_to_the_guardian_and_audits_the_purpose(tracked: Protected) -> None:
    guardian = tracked.world.user("guardian")
    response = login(guardian).get(trail_url(tracked))
    assert response.status_code == 200
    assert len(response.json()) == 2
    entry = AuditEntry.objects.filter(actor=guardian, action="view").latest("id")
    assert entry.detail["purpose"] == "核实位置"
    assert entry.object_id == str(tracked.enrolment.pk)


def test_it_shows_the_trail_to_the_district_administrator(tracked: Protected) -> None:
    assert login(tracked.world.user("district_admin")).get(trail_url(tracked)).status_code == 200


def test_it_requires_a_purpose(tracked: Protected) -> None:
    url = f"/api/v1/protection/enrolments/{tracked.enrolment.pk}/trail/"
    assert login(tracked.world.user("guardian")).get(url).status_code == 400


def test_it_hides_the_trail_from_a_neighbouring_grids_worker(tracked: Protected) -> None:
    assert login(neighbour_worker(tracked.world)).get(trail_url(tracked)).status_code == 404


def test_it_hides_the_trail_from_a_guardian_of_someone_else(tracked: Protected) -> None:
    other_guardian = User.objects.create_user(username="g2", password=PASSWORD, role=Role.GUARDIAN)
    actions_world = tracked.world
    from wangge.registry.models import Guardianship

    Guardianship.objects.create(guardian=other_guardian, resident=actions_world.residents["a1_2_head"])
    assert login(other_guardian).get(trail_url(tracked)).status_code == 404


def test_it_shows_the_trail_to_the_own_grid_worker_only_while_assigned_to_an_open_incident(tracked: Protected) -> None:
    worker = tracked.world.user("grid_worker")
    assert login(worker).get(trail_url(tracked)).status_code == 404
    staff = tracked.world.user("community_staff")
    incident = incidents.incident_report(by=staff, enrolment=tracked.enrolment, description="早上出门未归")
    incidents.incident_assign_searcher(by=staff, incident=incident, searcher=worker)
    assert login(worker).get(trail_url(tracked)).status_code == 200
    incidents.incident_close(by=staff, incident=incident, outcome="found", found_where="公园")
    assert login(worker).get(trail_url(tracked)).status_code == 404


def test_it_hides_past_locations_once_consent_is_withdrawn(tracked: Protected) -> None:
    actions.consent_withdraw(by=tracked.world.user("guardian"), enrolment=tracked.enrolment)
    assert login(tracked.world.user("guardian")).get(trail_url(tracked)).status_code == 404
    assert login(tracked.world.user("district_admin")).get(trail_url(tracked)).status_code == 404


def test_it_hides_the_trail_from_community_staff_and_anonymous_callers(tracked: Protected) -> None:
    assert login(tracked.world.user("community_staff")).get(trail_url(tracked)).status_code == 404
    # Token authentication comes first and names its scheme, so an anonymous caller is challenged.
    anonymous = Client().get(trail_url(tracked))
    assert anonymous.status_code == 401
    assert anonymous["WWW-Authenticate"] == "Token"


def test_it_lists_alerts_for_the_persons_community_but_not_the_neighbouring_street(world: World) -> None:
    protected = protect(world)
    arrive([protected.fix(alarm="sos")])
    assert len(login(world.user("community_staff")).get("/api/v1/protection/alerts/").json()) == 1
    other = User.objects.create_user(username="street_b", password=PASSWORD, role=Role.STREET_STAFF)
    AreaAssignment.objects.create(user=other, area=world.areas["street_b"])
    assert login(other).get("/api/v1/protection/alerts/").json() == []
