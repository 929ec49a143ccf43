"""Reading a protected person's profile and medical notes is audited on every page and API
read, and the safe zones (where the person lives) stay hidden from the volunteers and workers
a search notifies unless the consent covers sharing with them."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import DatabaseError
from django.test import Client

from wangge.accounts.models import Role, User
from wangge.areas.models import Membership, Organisation
from wangge.conftest import PASSWORD, World
from wangge.core.models import AuditEntry
from wangge.protection import incidents
from wangge.protection.models import Incident
from wangge.protection.tests.conftest import HOME, Protected

pytestmark = pytest.mark.django_db

API = "/api/v1/protection"
NOTES = "需按时服用多奈哌齐"


def login(user: User, **kwargs: Any) -> Client:
    client = Client(**kwargs)
    client.force_login(user)
    return client


def volunteer(world: World) -> User:
    """A volunteer of the person's grid, so notified when the person goes missing."""
    user = User.objects.create_user(username="vol", password=PASSWORD, role=Role.GUARDIAN)
    team = Organisation.objects.create(name="灵西志愿服务队", kind="volunteers", area=world.areas["grid_a1_1"])
    Membership.objects.create(organisation=team, user=user)
    return user


def profile_reads(user: User) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(actor=user, action="view", summary__contains="走失预案档案").order_by("id"))


@pytest.fixture
def noted(protected: Protected) -> Protected:
    profile = protected.enrolment.profile
    profile.medical_notes = NOTES
    profile.appearance = "白发，灰色外套"
    profile.save()
    return protected


def report(protected: Protected, *, sharing: bool) -> Incident:
    protected.enrolment.consents.update(covers_sharing_workers=sharing)
    return incidents.incident_report(by=protected.world.user("guardian"), enrolment=protected.enrolment)


def test_it_audits_a_profile_view_on_the_enrolment_page_with_whether_the_medical_notes_were_shown(
    noted: Protected,
) -> None:
    guardian = noted.world.user("guardian")
    page = login(guardian).get(f"/protection/{noted.enrolment.pk}/")
    assert page.status_code == 200 and NOTES in page.content.decode()
    [entry] = profile_reads(guardian)
    assert entry.object_type == "protection.profile" and entry.object_id == str(noted.enrolment.profile.pk)
    assert entry.detail == {"purpose": "enrolment", "enrolment": noted.enrolment.pk, "medical_notes": True}
    assert noted.enrolment.resident.name in entry.summary


def test_it_audits_the_profile_on_the_incident_page_and_records_that_a_volunteer_got_no_medical_notes(
    noted: Protected,
) -> None:
    responder = volunteer(noted.world)
    incident = report(noted, sharing=True)
    page = login(responder).get(f"/protection/incidents/{incident.pk}/").content.decode()
    assert "白发，灰色外套" in page and NOTES not in page
    [entry] = profile_reads(responder)
    assert entry.detail["purpose"] == "incident" and entry.detail["medical_notes"] is False


def test_it_audits_profile_reads_through_the_api_with_the_callers_purpose(noted: Protected) -> None:
    guardian = noted.world.user("guardian")
    client = login(guardian)
    url = f"{API}/enrolments/{noted.enrolment.pk}/profile/"
    answered = client.get(url, {"purpose": "核对外貌"})
    assert answered.status_code == 200 and answered.json()["medical_notes"] == NOTES
    assert client.get(url).status_code == 200
    assert [e.detail["purpose"] for e in profile_reads(guardian)] == ["核对外貌", "api"]


def test_it_audits_the_profile_edit_page_and_the_photo(noted: Protected) -> None:
    guardian = noted.world.user("guardian")
    client = login(guardian)
    form = client.get(f"/protection/{noted.enrolment.pk}/profile/")
    assert form.status_code == 200 and NOTES in form.content.decode()
    assert client.get(f"/protection/{noted.enrolment.pk}/photo/").status_code == 404  # no photo yet
    reads = [(e.detail["purpose"], e.detail["medical_notes"]) for e in profile_reads(guardian)]
    assert reads == [("profile edit", True), ("photo", False)]


def test_it_shows_no_profile_when_its_read_cannot_be_audited(noted: Protected, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(**kwargs: Any) -> None:
        raise DatabaseError("audit log unavailable")

    client = login(noted.world.user("guardian"), raise_request_exception=False)
    monkeypatch.setattr(AuditEntry.objects, "create", refuse)
    assert client.get(f"/protection/{noted.enrolment.pk}/").status_code == 500
    assert client.get(f"{API}/enrolments/{noted.enrolment.pk}/profile/").status_code == 500


def test_it_refuses_the_profile_to_a_volunteer_once_the_search_is_closed(noted: Protected) -> None:
    responder = volunteer(noted.world)
    incident = report(noted, sharing=True)
    client = login(responder)
    assert client.get(f"{API}/enrolments/{noted.enrolment.pk}/profile/").status_code == 200
    incidents.incident_close(by=noted.world.user("guardian"), incident=incident, outcome="found")
    assert client.get(f"{API}/enrolments/{noted.enrolment.pk}/profile/").status_code == 404
    assert len(profile_reads(responder)) == 1  # a refused read is not a read


def test_it_hides_the_safe_zones_from_a_volunteer_when_consent_excludes_sharing_with_workers(
    protected: Protected,
) -> None:
    responder = volunteer(protected.world)
    incident = report(protected, sharing=False)
    client = login(responder)
    assert client.get(f"/protection/{protected.enrolment.pk}/zones/").status_code == 404
    assert client.get(f"{API}/enrolments/{protected.enrolment.pk}/zones/").status_code == 404
    assert client.get(f"{API}/zones/{protected.zone.pk}/").status_code == 404
    enrolment_page = client.get(f"/protection/{protected.enrolment.pk}/")
    assert enrolment_page.status_code == 200 and 'id="zones"' not in enrolment_page.content.decode()
    for url in (f"/protection/incidents/{incident.pk}/", f"/protection/incidents/{incident.pk}/live/"):
        page = client.get(url).content.decode()
        assert str(HOME[0]) not in page and str(HOME[1]) not in page
    detail = client.get(f"{API}/incidents/{incident.pk}/").content.decode()
    assert str(HOME[0]) not in detail and str(HOME[1]) not in detail


def test_it_shows_the_safe_zones_to_a_volunteer_when_consent_covers_sharing_and_always_to_the_guardian(
    protected: Protected,
) -> None:
    responder = volunteer(protected.world)
    report(protected, sharing=True)
    zones = login(responder).get(f"{API}/enrolments/{protected.enrolment.pk}/zones/")
    assert zones.status_code == 200
    assert [(z["center_lat"], z["center_lon"]) for z in zones.json()] == [HOME]
    page = login(responder).get(f"/protection/{protected.enrolment.pk}/").content.decode()
    assert 'id="zones"' in page
    protected.enrolment.consents.update(covers_sharing_workers=False)
    guardian = login(protected.world.user("guardian"))
    assert guardian.get(f"{API}/enrolments/{protected.enrolment.pk}/zones/").status_code == 200
    assert guardian.get(f"/protection/{protected.enrolment.pk}/zones/").status_code == 200
    assert login(responder).get(f"{API}/enrolments/{protected.enrolment.pk}/zones/").status_code == 404
