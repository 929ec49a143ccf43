"""The protection REST API: scoped, written through the actions, locations audited with a purpose."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from rest_framework.test import APIClient

from wangge.accounts.models import AreaAssignment, Role, User
from wangge.conftest import PASSWORD, World
from wangge.core.models import AuditEntry
from wangge.protection.models import Alert, Enrolment, Incident, SafeZone
from wangge.protection.tests.conftest import NOW, Protected, arrive

pytestmark = pytest.mark.django_db

API = "/api/v1/protection"


def api(user: User) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_it_enrols_through_the_api_with_consent_and_refuses_without_a_relationship(world: World) -> None:
    ward = world.residents["a1_1_ward"]
    client = api(world.user("grid_worker"))
    consent: dict[str, Any] = {"given_by_kind": "guardian", "given_by_name": "王小红", "date": "2024-04-01"}
    assert (
        client.post(f"{API}/enrolments/", {"resident": ward.pk, "consent": consent}, format="json").status_code == 400
    )
    consent["relationship"] = "女儿"
    created = client.post(f"{API}/enrolments/", {"resident": ward.pk, "consent": consent}, format="json")
    assert created.status_code == 201 and created.json()["consent_active"] is True
    enrolment = Enrolment.objects.get(resident=ward)
    assert [e["id"] for e in client.get(f"{API}/enrolments/").json()["results"]] == [enrolment.pk]
    # out of scope: a resident of another street is "not found"
    other = world.residents["b1_1_head"]
    assert (
        client.post(f"{API}/enrolments/", {"resident": other.pk, "consent": consent}, format="json").status_code == 404
    )


def test_it_returns_device_credentials_once_and_they_work(protected: Protected) -> None:
    client = api(protected.world.user("guardian"))
    response = client.post(f"{API}/enrolments/{protected.enrolment.pk}/devices/", {"name": "老人机"}, format="json")
    assert response.status_code == 201
    body = response.json()
    assert body["password"] and body["owntracks_url"].endswith("/api/v1/locations/owntracks")
    config = json.loads(base64.b64decode(body["owntracks_config_link"].split("inline=", 1)[1]))
    assert config["password"] == body["password"] and config["mode"] == 3
    listed = client.get(f"{API}/enrolments/{protected.enrolment.pk}/devices/").json()
    assert all("password" not in d for d in listed) and len(listed) == 2
    osmand = APIClient().get(
        "/api/v1/locations/osmand",
        {"id": body["osmand_key"], "lat": 41.12, "lon": 122.91, "timestamp": NOW.isoformat()},
    )
    assert osmand.status_code == 200
    # another grid's worker cannot see or reset the phone
    neighbour = User.objects.create_user(username="n", password=PASSWORD, role=Role.GRID_WORKER)
    AreaAssignment.objects.create(user=neighbour, area=protected.world.areas["grid_a1_2"])
    assert api(neighbour).post(f"{API}/devices/{body['id']}/reset-password/").status_code == 404


def test_it_keeps_the_profile_and_hides_medical_notes_from_roles_without_full_detail(protected: Protected) -> None:
    guardian = api(protected.world.user("guardian"))
    url = f"{API}/enrolments/{protected.enrolment.pk}/profile/"
    saved = guardian.patch(url, {"appearance": "白发，驼背", "medical_notes": "糖尿病"}, format="json")
    assert saved.status_code == 200 and saved.json()["medical_notes"] == "糖尿病"
    assert api(protected.world.user("grid_worker")).get(url).json()["medical_notes"] == "糖尿病"
    volunteer = User.objects.create_user(username="v", password=PASSWORD, role=Role.GUARDIAN)
    assert api(volunteer).get(url).status_code == 404


def test_it_creates_zones_and_rejects_a_broken_polygon(protected: Protected) -> None:
    client = api(protected.world.user("community_staff"))
    url = f"{API}/enrolments/{protected.enrolment.pk}/zones/"
    ring = [[122.90, 41.11], [122.92, 41.11], [122.92, 41.13], [122.90, 41.11]]
    ok = client.post(
        url, {"name": "小区", "kind": "polygon", "geojson": {"type": "Polygon", "coordinates": [ring]}}, format="json"
    )
    assert ok.status_code == 201
    bowtie = [[122.90, 41.11], [122.92, 41.13], [122.92, 41.11], [122.90, 41.13], [122.90, 41.11]]
    bad = client.post(
        url, {"name": "坏", "kind": "polygon", "geojson": {"type": "Polygon", "coordinates": [bowtie]}}, format="json"
    )
    assert bad.status_code == 400
    zone_id = ok.json()["id"]
    assert client.delete(f"{API}/zones/{zone_id}/").status_code == 204
    assert not SafeZone.objects.filter(pk=zone_id).exists()


def test_it_runs_an_incident_from_alert_to_found(protected: Protected) -> None:
    arrive([protected.fix(alarm="sos")])
    alert = Alert.objects.get()
    staff = api(protected.world.user("community_staff"))
    escalated = staff.post(f"{API}/alerts/{alert.pk}/escalate/", {"description": "SOS 后联系不上"}, format="json")
    assert escalated.status_code == 201
    incident_id = escalated.json()["id"]
    assert escalated.json()["status"] == "open"
    assert {r["kind"] for r in escalated.json()["responders"]} == {"own_worker"}
    worker = api(protected.world.user("grid_worker"))
    location = worker.get(f"{API}/incidents/{incident_id}/location/", {"purpose": "搜寻"})
    assert location.status_code == 200 and location.json()["last_lat"] == pytest.approx(alert.lat)
    assert AuditEntry.objects.filter(actor=protected.world.user("grid_worker"), detail__purpose="搜寻").exists()
    assert worker.get(f"{API}/incidents/{incident_id}/location/").status_code == 400  # no purpose
    sighting = {"kind": "sighting", "text": "菜市场", "lat": 41.121, "lon": 122.911}
    assert worker.post(f"{API}/incidents/{incident_id}/updates/", sighting, format="json").status_code == 201
    # community staff are not entitled to coordinates: the sighting's place is withheld from them
    assert staff.get(f"{API}/incidents/{incident_id}/updates/").json()[0]["lat"] is None
    searcher = User.objects.create_user(username="s", password=PASSWORD, role=Role.GRID_WORKER)
    AreaAssignment.objects.create(user=searcher, area=protected.world.areas["community_a1"])
    assigned = staff.post(f"{API}/incidents/{incident_id}/searchers/", {"searcher": searcher.pk}, format="json")
    assert assigned.status_code == 200 and searcher.pk in assigned.json()["searchers"]
    closed = staff.post(
        f"{API}/incidents/{incident_id}/close/",
        {"outcome": "found", "found_where": "菜市场门口", "condition": "良好"},
        format="json",
    )
    assert closed.status_code == 200
    assert closed.json()["status"] == "closed" and closed.json()["time_to_found_seconds"] is not None
    assert Incident.objects.get().found_where == "菜市场门口"
    # the searcher's access ended with the search
    assert api(searcher).get(f"{API}/incidents/{incident_id}/location/", {"purpose": "搜寻"}).status_code == 404


def test_it_describes_the_protection_api_in_the_schema(world: World) -> None:
    schema = api(world.user("district_admin")).get("/api/v1/schema/", {"format": "json"})
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    for path in (
        "/api/v1/protection/enrolments/",
        "/api/v1/protection/enrolments/{id}/devices/",
        "/api/v1/protection/enrolments/{id}/report/",
        "/api/v1/protection/incidents/{id}/location/",
        "/api/v1/protection/incidents/{id}/close/",
        "/api/v1/protection/alerts/{id}/escalate/",
    ):
        assert path in paths, path
