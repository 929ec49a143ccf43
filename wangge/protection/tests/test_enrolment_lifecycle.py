"""An enrolment's life through the pages and the API: one active enrolment a person, ending it
with a confirmation, the profile saved by one audited action, and notifications read by a POST."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import DatabaseError, IntegrityError, transaction
from django.test import Client
from rest_framework.test import APIClient

from wangge.accounts import policy
from wangge.accounts.models import Role, User
from wangge.core.models import AuditEntry
from wangge.protection import actions, incidents, queries
from wangge.protection.models import Enrolment, Notification
from wangge.protection.tests.conftest import Protected, arrive

pytestmark = pytest.mark.django_db

API = "/api/v1/protection"
CONSENT: dict[str, Any] = {
    "given_by_kind": "guardian",
    "given_by_name": "王小红",
    "relationship": "女儿",
    "date": "2024-04-01",
}


def login(user: User, **kwargs: Any) -> Client:
    client = Client(**kwargs)
    client.force_login(user)
    return client


def api(user: User) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def broken_audit(monkeypatch: pytest.MonkeyPatch, *, action: str = "") -> None:
    """The audit log refuses every entry, or only those of ``action`` (the others are written)."""
    create = AuditEntry.objects.create

    def refuse(**kwargs: Any) -> Any:
        if action and kwargs.get("action") != action:
            return create(**kwargs)
        raise DatabaseError("audit log unavailable")

    monkeypatch.setattr(AuditEntry.objects, "create", refuse)


def test_it_asks_before_ending_protection_and_then_refuses_the_phones(protected: Protected) -> None:
    client = login(protected.world.user(Role.GUARDIAN))
    url = f"/protection/{protected.enrolment.pk}/end/"
    assert url in client.get(f"/protection/{protected.enrolment.pk}/").content.decode()
    confirm = client.get(url)
    assert confirm.status_code == 200 and "手机上报的位置将被拒绝" in confirm.content.decode()
    protected.enrolment.refresh_from_db()
    assert protected.enrolment.active  # asking is not ending
    assert client.post(url).status_code == 302
    protected.enrolment.refresh_from_db()
    assert not protected.enrolment.active and protected.enrolment.ended_at is not None
    entry = AuditEntry.objects.filter(object_type="protection.enrolment", action="update").latest("id")
    assert entry.actor == protected.world.user(Role.GUARDIAN) and "结束走失防护" in entry.summary
    assert arrive([protected.fix()]).refused == 1
    assert "结束走失防护" in client.get(f"/protection/{protected.enrolment.pk}/").content.decode()


def test_it_refuses_to_end_protection_while_a_search_is_open(protected: Protected) -> None:
    guardian = protected.world.user(Role.GUARDIAN)
    incidents.incident_report(by=guardian, enrolment=protected.enrolment)
    page = login(guardian).post(f"/protection/{protected.enrolment.pk}/end/")
    assert page.status_code == 400 and "请先结束走失事件" in page.content.decode()
    response = api(guardian).post(f"{API}/enrolments/{protected.enrolment.pk}/end/")
    assert response.status_code == 400
    protected.enrolment.refresh_from_db()
    assert protected.enrolment.active


def test_it_ends_protection_through_the_api_and_shows_when(protected: Protected) -> None:
    response = api(protected.world.user(Role.COMMUNITY_STAFF)).post(f"{API}/enrolments/{protected.enrolment.pk}/end/")
    assert response.status_code == 200
    assert response.json()["active"] is False and response.json()["ended_at"]
    again = api(protected.world.user(Role.COMMUNITY_STAFF)).post(f"{API}/enrolments/{protected.enrolment.pk}/end/")
    assert again.status_code == 400


def test_it_hides_ending_from_those_who_do_not_manage_the_enrolment(protected: Protected) -> None:
    department = protected.world.user(Role.DEPARTMENT)
    assert login(department).get(f"/protection/{protected.enrolment.pk}/end/").status_code == 404
    assert login(department).post(f"/protection/{protected.enrolment.pk}/end/").status_code == 404
    assert api(department).post(f"{API}/enrolments/{protected.enrolment.pk}/end/").status_code == 404
    protected.enrolment.refresh_from_db()
    assert protected.enrolment.active


def test_it_rolls_back_ending_when_the_audit_entry_fails(protected: Protected, monkeypatch: pytest.MonkeyPatch) -> None:
    client = login(protected.world.user(Role.GUARDIAN), raise_request_exception=False)
    broken_audit(monkeypatch)
    assert client.post(f"/protection/{protected.enrolment.pk}/end/").status_code == 500
    protected.enrolment.refresh_from_db()
    assert protected.enrolment.active and protected.enrolment.ended_at is None


def test_it_keeps_one_active_enrolment_a_person_and_allows_a_new_one_after_the_end(protected: Protected) -> None:
    ward = protected.enrolment.resident
    with pytest.raises(IntegrityError), transaction.atomic():
        second = Enrolment(resident=ward)
        second.copy_scope(ward)
        second.save()
    staff = api(protected.world.user(Role.COMMUNITY_STAFF))
    refused = staff.post(f"{API}/enrolments/", {"resident": ward.pk, "consent": CONSENT}, format="json")
    assert refused.status_code == 400 and "该居民已登记走失防护" in refused.json()["resident"]
    page = login(protected.world.user(Role.GUARDIAN)).get(f"/protection/enrol/{ward.pk}/")
    assert page.status_code == 302 and page["Location"] == f"/protection/{protected.enrolment.pk}/"
    assert staff.post(f"{API}/enrolments/{protected.enrolment.pk}/end/").status_code == 200
    again = staff.post(f"{API}/enrolments/", {"resident": ward.pk, "consent": CONSENT}, format="json")
    assert again.status_code == 201
    assert Enrolment.objects.filter(resident=ward).count() == 2
    assert Enrolment.objects.filter(resident=ward, active=True).count() == 1


def test_it_saves_the_profile_by_page_and_api_through_one_audited_action(protected: Protected) -> None:
    guardian = protected.world.user(Role.GUARDIAN)
    page = login(guardian).post(f"/protection/{protected.enrolment.pk}/profile/", {"appearance": "白发，灰色外套"})
    assert page.status_code == 302
    patched = api(guardian).patch(
        f"{API}/enrolments/{protected.enrolment.pk}/profile/", {"habits": "爱去公园"}, format="json"
    )
    assert patched.status_code == 200 and patched.json()["appearance"] == "白发，灰色外套"
    entries = AuditEntry.objects.filter(object_type="protection.profile", action="update").order_by("id")
    assert [entry.detail["fields"] for entry in entries] == [["appearance"], ["habits"]]
    assert all(entry.actor == guardian for entry in entries)


def test_it_rolls_back_a_profile_save_when_the_audit_entry_fails(
    protected: Protected, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = login(protected.world.user(Role.GUARDIAN), raise_request_exception=False)
    broken_audit(monkeypatch, action="update")  # the read of the form's profile is audited
    response = client.post(f"/protection/{protected.enrolment.pk}/profile/", {"appearance": "白发"})
    assert response.status_code == 500
    protected.enrolment.profile.refresh_from_db()
    assert protected.enrolment.profile.appearance == ""


def test_it_shows_new_notifications_without_marking_them_read_until_asked(protected: Protected) -> None:
    incidents.incident_report(by=protected.world.user(Role.GUARDIAN), enrolment=protected.enrolment)
    worker = protected.world.user(Role.GRID_WORKER)
    client = login(worker)
    unread = Notification.objects.filter(recipient=worker, channel="in_app", read_at__isnull=True)
    assert unread.exists()
    for _ in range(2):
        page = client.get("/protection/").content.decode()
        assert "全部标为已读" in page
    assert unread.exists()  # looking is not reading
    assert client.post("/protection/notifications/read/").status_code == 302
    assert not unread.exists()
    assert "全部标为已读" not in client.get("/protection/").content.decode()


def test_it_answers_who_may_read_locations_by_the_same_rule_as_the_scoped_query(protected: Protected) -> None:
    world = protected.world
    enrolment = protected.enrolment

    def agree() -> None:
        for user in world.users.values():
            listed = queries.enrolments_with_locations_visible_to(user).filter(pk=enrolment.pk).exists()
            assert policy.can_read_locations(user, enrolment, "核实") == listed, user.role
            assert policy.can_read_locations(user, enrolment, " ") is False

    agree()
    incident = incidents.incident_report(by=world.user(Role.GUARDIAN), enrolment=enrolment)
    agree()
    searcher = world.user(Role.DEPARTMENT)
    incidents.incident_assign_searcher(by=world.user(Role.GUARDIAN), incident=incident, searcher=searcher)
    agree()
    incidents.incident_close(by=world.user(Role.GUARDIAN), incident=incident, outcome="found")
    agree()
    actions.consent_withdraw(by=world.user(Role.GUARDIAN), enrolment=enrolment)
    agree()
