"""The role × scope matrix: for every role, an in-scope and an out-of-scope household and
resident, tried on pages, the API, search and export.

The world (``wangge/conftest.py``) has two neighbouring grids in one community, a grid in
another street and a second district, so every role has something just outside its reach:
the grid worker the neighbouring grid, the street the other street, district-wide roles the
other district, the guardian the housemate of their ward. An auditor sees no registry at all.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass
from typing import Any

import pytest
from django.db import DatabaseError
from django.test import Client
from django.urls import reverse

from wangge.accounts import policy
from wangge.accounts.models import Role
from wangge.conftest import World
from wangge.core import idnumbers
from wangge.core.models import AuditEntry
from wangge.registry.models import LifeEvent, Resident

pytestmark = pytest.mark.django_db


@dataclass(frozen=True)
class Case:
    role: Role
    resident_in: str | None  # key in world.residents
    resident_out: str
    household_in: str | None  # key in world.households (by grid)
    household_out: str

    def __str__(self) -> str:
        return str(self.role)


CASES = [
    Case(Role.DISTRICT_ADMIN, "a1_1_head", "other_head", "grid_b1_1", "other_grid"),
    Case(Role.STREET_STAFF, "a1_2_head", "b1_1_head", "grid_a1_2", "grid_b1_1"),
    Case(Role.COMMUNITY_STAFF, "a1_2_head", "b1_1_head", "grid_a1_2", "grid_b1_1"),
    Case(Role.GRID_WORKER, "a1_1_head", "a1_2_head", "grid_a1_1", "grid_a1_2"),
    Case(Role.PETITION_OFFICE, "b1_1_head", "other_head", "grid_b1_1", "other_grid"),
    Case(Role.DEPARTMENT, "b1_1_head", "other_head", "grid_b1_1", "other_grid"),
    # The guardian sees their ward and not the ward's housemate (the head of the same household).
    Case(Role.GUARDIAN, "a1_1_ward", "a1_1_head", "grid_a1_1", "grid_a1_2"),
    Case(Role.AUDITOR, None, "a1_1_head", None, "grid_a1_1"),
]
assert {case.role for case in CASES} == set(Role), "every role is in the matrix"


def by_role(case: Case) -> str:
    return str(case.role)


matrix = pytest.mark.parametrize("case", CASES, ids=by_role)


def result_ids(response: Any) -> set[int]:
    assert response.status_code == 200, response.content[:500]
    body = response.json()
    rows = body["results"] if isinstance(body, dict) else body
    return {row["id"] for row in rows}


def all_ids(client: Client, url: str) -> set[int]:
    found: set[int] = set()
    while url:
        response = client.get(url)
        found |= result_ids(response)
        url = response.json().get("next") or ""
    return found


def export_names(response: Any) -> set[str]:
    assert response.status_code == 200
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    return {row[0] for row in list(csv.reader(io.StringIO(text)))[1:]}


# Pages ---------------------------------------------------------------------------------------


@matrix
def test_it_opens_the_in_scope_resident_page_and_hides_the_other(world: World, client_for: Any, case: Case) -> None:
    client = client_for(case.role)
    if case.resident_in:
        assert client.get(reverse("registry:resident", args=[world.residents[case.resident_in].pk])).status_code == 200
    out = client.get(reverse("registry:resident", args=[world.residents[case.resident_out].pk]))
    assert out.status_code == 404
    assert world.residents[case.resident_out].name not in out.content.decode()


@matrix
def test_it_opens_the_in_scope_household_page_and_hides_the_other(world: World, client_for: Any, case: Case) -> None:
    client = client_for(case.role)
    if case.household_in:
        assert (
            client.get(reverse("registry:household", args=[world.households[case.household_in].pk])).status_code == 200
        )
    assert client.get(reverse("registry:household", args=[world.households[case.household_out].pk])).status_code == 404


@matrix
def test_it_hides_the_wards_housemates_on_the_household_page(world: World, client_for: Any, case: Case) -> None:
    if case.role != Role.GUARDIAN:
        return
    body = client_for(case.role).get(reverse("registry:household", args=[world.households["grid_a1_1"].pk]))
    assert world.residents["a1_1_ward"].name in body.content.decode()
    assert world.residents["a1_1_head"].name not in body.content.decode()


# API -----------------------------------------------------------------------------------------


@matrix
def test_it_lists_in_scope_residents_only(world: World, client_for: Any, case: Case) -> None:
    listed = all_ids(client_for(case.role), "/api/v1/residents/")
    if case.resident_in:
        assert world.residents[case.resident_in].pk in listed
    assert world.residents[case.resident_out].pk not in listed


@matrix
def test_it_opens_in_scope_residents_and_404s_the_rest(world: World, client_for: Any, case: Case) -> None:
    client = client_for(case.role)
    if case.resident_in:
        assert client.get(f"/api/v1/residents/{world.residents[case.resident_in].pk}/").status_code == 200
    out = client.get(f"/api/v1/residents/{world.residents[case.resident_out].pk}/")
    missing = client.get("/api/v1/residents/987654/")
    assert out.status_code == missing.status_code == 404
    assert out.content == missing.content


@matrix
def test_it_lists_in_scope_households_only(world: World, client_for: Any, case: Case) -> None:
    client = client_for(case.role)
    listed = all_ids(client, "/api/v1/households/")
    # Members are inlined: an in-scope household must not carry out-of-scope members either.
    assert world.residents[case.resident_out].name not in client.get("/api/v1/households/").content.decode()
    if case.household_in:
        assert world.households[case.household_in].pk in listed
    assert world.households[case.household_out].pk not in listed
    out = client.get(f"/api/v1/households/{world.households[case.household_out].pk}/")
    assert out.status_code == 404
    assert out.content == client.get("/api/v1/households/987654/").content


@matrix
def test_it_never_writes_outside_scope(world: World, client_for: Any, case: Case) -> None:
    target = world.residents[case.resident_out]
    response = client_for(case.role).patch(
        f"/api/v1/residents/{target.pk}/", {"phone": "13011112222"}, content_type="application/json"
    )
    assert response.status_code == 404
    target.refresh_from_db()
    assert target.phone != "13011112222"


@matrix
def test_it_masks_sensitive_fields_in_lists_for_every_role(world: World, client_for: Any, case: Case) -> None:
    client = client_for(case.role)
    bodies = client.get("/api/v1/residents/").content.decode() + client.get("/api/v1/households/").content.decode()
    for resident in world.residents.values():
        assert resident.id_number not in bodies
        assert resident.phone not in bodies
    assert "care_categories" not in bodies


@matrix
def test_it_shows_full_detail_only_to_roles_that_need_it(world: World, client_for: Any, case: Case) -> None:
    if not case.resident_in:
        return
    resident = world.residents[case.resident_in]
    body = client_for(case.role).get(f"/api/v1/residents/{resident.pk}/").json()
    full = policy.sees_full_detail(world.user(case.role))
    assert body["full_detail"] is full
    assert (body["id_number"] == resident.id_number) is full
    assert (body["care_categories"] is not None) is full
    views = AuditEntry.objects.filter(action=AuditEntry.Action.VIEW, object_id=str(resident.pk))
    assert views.count() == (1 if full else 0)


# Search --------------------------------------------------------------------------------------


@matrix
def test_it_never_finds_an_out_of_scope_resident(world: World, client_for: Any, case: Case) -> None:
    client = client_for(case.role)
    outsider = world.residents[case.resident_out]
    response = client.get("/api/v1/search/", {"q": outsider.name})
    if policy.can_view_registry(world.user(case.role)):
        assert outsider.pk not in result_ids(response)
    else:
        assert response.status_code == 404  # no registry, no search: the feature is not there
        assert outsider.name not in response.content.decode()
    by_id_number = client.get("/api/v1/search/", {"q": outsider.id_number})
    assert outsider.name not in by_id_number.content.decode()


@matrix
def test_it_finds_an_in_scope_resident(world: World, client_for: Any, case: Case) -> None:
    if not case.resident_in:
        return
    insider = world.residents[case.resident_in]
    response = client_for(case.role).get("/api/v1/search/", {"q": insider.name})
    assert insider.pk in result_ids(response)
    assert insider.id_number not in response.content.decode()


# Export --------------------------------------------------------------------------------------


@matrix
def test_it_exports_only_in_scope_residents_to_allowed_roles(world: World, client_for: Any, case: Case) -> None:
    client = client_for(case.role)
    for url in ("/api/v1/residents/export/", reverse("registry:export")):
        response = client.get(url)
        if not policy.can_export(world.user(case.role)):
            assert response.status_code == 403, url
            continue
        names = export_names(response)
        assert world.residents[case.resident_out].name not in names
        assert case.resident_in is not None
        assert world.residents[case.resident_in].name in names
    exports = AuditEntry.objects.filter(action=AuditEntry.Action.EXPORT, actor=world.user(case.role))
    assert exports.count() == (2 if policy.can_export(world.user(case.role)) else 0)


# Admin ---------------------------------------------------------------------------------------


@matrix
def test_it_opens_the_admin_to_district_administrators_only(world: World, client_for: Any, case: Case) -> None:
    # Every account gets the staff flag: the role, not the flag, must keep the others out.
    user = world.user(case.role)
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    response = client_for(case.role).get("/admin/registry/resident/")
    if policy.can_use_admin(user):
        assert response.status_code == 200
        assert world.residents["a1_1_head"].name in response.content.decode()
    else:
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("admin:login"))


# Audit ---------------------------------------------------------------------------------------


def test_it_audits_full_views_exports_searches_and_writes_with_actor_and_ip(world: World, client_for: Any) -> None:
    client = client_for(Role.GRID_WORKER)
    head = world.residents["a1_1_head"]
    ip = {"REMOTE_ADDR": "203.0.113.9"}
    assert client.get(f"/api/v1/residents/{head.pk}/", **ip).status_code == 200
    assert client.get("/api/v1/residents/export/", **ip).status_code == 200
    assert client.get("/api/v1/search/", {"q": head.name}, **ip).status_code == 200
    patched = client.patch(
        f"/api/v1/residents/{head.pk}/", {"ethnicity": "满族"}, content_type="application/json", **ip
    )
    assert patched.status_code == 200
    for action in ("view", "export", "search", "update"):
        entry = AuditEntry.objects.filter(action=action).latest("id")
        assert entry.actor == world.user(Role.GRID_WORKER), action
        assert entry.ip == "203.0.113.9", action


def worker_with_broken_audit(world: World, monkeypatch: pytest.MonkeyPatch) -> Client:
    """A signed-in grid worker, after which the audit table refuses writes (a full disk)."""
    client = Client(raise_request_exception=False)
    client.force_login(world.user(Role.GRID_WORKER))  # signing in is audited too: do it first

    def refuse(**kwargs: Any) -> None:
        raise DatabaseError("audit log unavailable")

    monkeypatch.setattr(AuditEntry.objects, "create", refuse)
    return client


def test_it_rolls_back_a_write_when_the_audit_entry_fails(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    head = world.residents["a1_1_head"]
    client = worker_with_broken_audit(world, monkeypatch)
    response = client.patch(f"/api/v1/residents/{head.pk}/", {"phone": "13099998888"}, content_type="application/json")
    assert response.status_code == 500
    head.refresh_from_db()
    assert head.phone == "13800001111"


def test_it_rolls_back_a_registration_when_the_audit_entry_fails(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    client = worker_with_broken_audit(world, monkeypatch)
    number = idnumbers.make(area_code="210304", birth_date=dt.date(2001, 2, 3), sequence=77, sex="M")
    response = client.post(
        "/api/v1/residents/",
        {"household": world.households["grid_a1_1"].pk, "name": "王新", "id_number": number},
        content_type="application/json",
    )
    assert response.status_code == 500
    assert not Resident.objects.filter(id_number=number).exists()
    assert not LifeEvent.objects.filter(resident__name="王新").exists()


def test_it_rolls_back_a_life_event_when_the_audit_entry_fails(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    head = world.residents["a1_1_head"]
    client = worker_with_broken_audit(world, monkeypatch)
    response = client.post(f"/api/v1/residents/{head.pk}/events/", {"kind": "death"}, content_type="application/json")
    assert response.status_code == 500
    head.refresh_from_db()
    assert head.status == Resident.Status.LIVING
    assert not LifeEvent.objects.filter(resident=head, kind=LifeEvent.Kind.DEATH).exists()


def test_it_shows_nothing_when_a_full_view_cannot_be_audited(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    head = world.residents["a1_1_head"]
    response = worker_with_broken_audit(world, monkeypatch).get(f"/api/v1/residents/{head.pk}/")
    assert response.status_code == 500
    assert head.id_number not in response.content.decode()


def test_it_exports_nothing_when_the_export_cannot_be_audited(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    response = worker_with_broken_audit(world, monkeypatch).get("/api/v1/residents/export/")
    assert response.status_code == 500
    assert "王建国" not in response.content.decode()


# Cases (petitions and grid events) -----------------------------------------------------------


@matrix
def test_it_opens_in_scope_cases_and_404s_the_rest(world: World, client_for: Any, case: Case) -> None:
    from wangge.cases import actions as case_actions
    from wangge.cases.models import Category, Department

    # Every case is led by civil affairs, where the department handler works.
    civil_affairs = Department.objects.get(code="civil-affairs")
    civil_affairs.members.add(world.user(Role.DEPARTMENT))
    admin = world.user(Role.DISTRICT_ADMIN)
    category = Category.objects.get(code="social-assistance")

    from wangge.cases.tests.photo_files import phone_jpeg

    def petition_of(key: str) -> Any:
        made = case_actions.case_receive(
            by=admin,
            category=category,
            text="求助",
            channel="walk_in",
            petitioners=[world.residents[key]],
            photos=[phone_jpeg(200, 150)],
        )
        return case_actions.case_accept(case=made, by=admin)

    def urls(made: Any) -> list[str]:
        photo = made.photos.get()
        return [
            reverse("cases:detail", args=[made.pk]),
            f"/api/v1/cases/{made.pk}/",
            reverse("cases:photo", args=[made.pk, photo.pk]),
            reverse("cases:photo_thumb", args=[made.pk, photo.pk]),
        ]

    client = client_for(case.role)
    out = petition_of(case.resident_out)
    for url in urls(out):
        assert client.get(url).status_code == 404, url
    for url in (
        reverse("cases:flow_step", args=[out.pk, "escort_schedule"]),
        reverse("cases:photos_add", args=[out.pk]),
    ):
        assert client.post(url, {"leader": "x", "date": "2030-01-01"}).status_code == 404, url
    if case.resident_in and policy.can_view_cases(world.user(case.role)):
        inside = petition_of(case.resident_in)
        for url in urls(inside):
            assert client.get(url).status_code == 200, url
        assert inside.pk in all_ids(client, "/api/v1/cases/")
    if policy.can_view_cases(world.user(case.role)):
        assert out.pk not in all_ids(client, "/api/v1/cases/")
