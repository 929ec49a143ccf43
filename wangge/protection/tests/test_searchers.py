"""The searcher picker: who is offered, in what role, how far away, nearest first."""

from __future__ import annotations

import re

import pytest
from django.core.exceptions import ValidationError
from django.test import Client

from wangge.accounts import policy
from wangge.accounts.models import Role
from wangge.protection import incidents, queries
from wangge.protection.tests.conftest import Protected, arrive
from wangge.protection.tests.test_incidents import volunteer, worker


def _options(html: str) -> list[str]:
    select = re.search(r'<select name="searcher"[^>]*>(.*?)</select>', html, re.S)
    assert select, "no searcher picker"
    return [
        label.strip()
        for value, label in re.findall(r'<option value="(\d*)"[^>]*>([^<]*)</option>', select.group(1))
        if value
    ]


def test_it_offers_field_searchers_with_role_and_distance_nearest_first(protected: Protected) -> None:
    world = protected.world
    arrive([protected.fix(metres_north=100)])  # inside grid A1-1, near home
    near = worker(world, "grid_a1_2", "neighbour")  # the next grid, about 3 km east
    far = worker(world, "grid_b1_1", "far_away")  # another street, not on the person's path
    helper = volunteer(world, "grid_a1_1", "volunteer")
    staff = world.user("community_staff")
    incident = incidents.incident_report(by=staff, enrolment=protected.enrolment)

    choices = queries.searcher_choices(incident)
    users = [c.user for c in choices]
    assert world.user("guardian") not in users  # family, not asked to help find their relative
    assert world.user("district_admin") not in users  # coordinates from the office
    assert world.user("auditor") not in users
    assert world.user("grid_worker") in users and near in users and helper in users
    assert far not in users or users.index(far) > users.index(near)
    distances = [c.distance_m for c in choices if c.distance_m is not None]
    assert distances == sorted(distances) and distances[0] == 0

    html = Client()
    html.force_login(staff)
    options = _options(html.get(f"/protection/incidents/{incident.pk}/").content.decode())
    assert options[0].endswith("就在其负责区域内")  # nearest first
    assert f"{world.user('grid_worker')} · 网格员 · 就在其负责区域内" in options
    assert any(o.startswith(str(helper)) and "志愿者" in o for o in options)
    assert any(o.startswith(str(near)) and re.search(r"网格员 · [0-9.]+ (米|公里)$", o) for o in options)
    assert not any(o.startswith(str(world.user("guardian"))) for o in options)


def test_it_refuses_to_assign_a_guardian_to_search_for_their_own_relative(protected: Protected) -> None:
    staff = protected.world.user("community_staff")
    incident = incidents.incident_report(by=staff, enrolment=protected.enrolment)
    with pytest.raises(ValidationError, match="监护人"):
        incidents.incident_assign_searcher(by=staff, incident=incident, searcher=protected.world.user("guardian"))
    assert not incident.searchers.exists()
    client = Client()
    client.force_login(staff)
    response = client.post(
        f"/protection/incidents/{incident.pk}/searchers/", {"searcher": protected.world.user("guardian").pk}
    )
    assert response.status_code == 400 and not incident.searchers.exists()


def test_district_admins_are_offered_only_when_the_policy_sends_them_to_the_field(
    protected: Protected, monkeypatch: pytest.MonkeyPatch
) -> None:
    staff = protected.world.user("community_staff")
    incident = incidents.incident_report(by=staff, enrolment=protected.enrolment)
    admin = protected.world.user(Role.DISTRICT_ADMIN)
    assert admin not in queries.searcher_candidates(incident)
    monkeypatch.setattr(policy, "FIELD_SEARCHER_ROLES", policy.FIELD_SEARCHER_ROLES | {Role.DISTRICT_ADMIN})
    assert admin in queries.searcher_candidates(incident)
