"""Visits: recorded once per client id from the phone (page and API), completing their tasks;
scoped (the neighbouring grid's worker gets 404) and audited (no visit without its entry)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from django.db import DatabaseError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from wangge.accounts.models import Role, User
from wangge.conftest import World
from wangge.core.models import AuditEntry
from wangge.registry.models import Resident
from wangge.worklist import actions
from wangge.worklist.models import Task, Visit
from wangge.worklist.tests.conftest import ages

Make = Callable[..., Resident]


@pytest.fixture
def task(world: World, person: Make) -> Task:
    # The pages work on the real day (Asia/Shanghai): the task is made for it.
    today = timezone.localdate()
    resident = person(ages(80, days=-8, today=today), name="陈淑珍")  # due in six days
    actions.generate(today=today)
    return Task.objects.get(resident=resident, rule__code="longevity-allowance")


def _post_visit(client: Client, task: Task, client_id: str) -> Any:
    body = {"client_id": client_id, "household": task.household_id, "tasks": [task.pk], "kind": "home"}
    return client.post(reverse("api-worklist-visits"), body, content_type="application/json")


def test_a_phone_resending_a_visit_records_it_once(world: World, task: Task, client_for: Any) -> None:
    client = client_for(Role.GRID_WORKER)
    client_id = str(uuid.uuid4())
    first = _post_visit(client, task, client_id)
    second = _post_visit(client, task, client_id)
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json()["id"] == second.json()["id"]
    assert Visit.objects.count() == 1
    task.refresh_from_db()
    assert task.status == Task.Status.DONE and task.visit_id == first.json()["id"]
    assert AuditEntry.objects.filter(object_type="worklist.visit").count() == 1


def test_the_quick_button_of_the_worklist_records_a_visit_in_one_post(
    world: World, task: Task, client_for: Any
) -> None:
    client = client_for(Role.GRID_WORKER)
    page = client.get(reverse("worklist:today"))
    assert page.status_code == 200
    html = page.content.decode()
    assert "陈淑珍" in html and task.household is not None and task.household.address in html
    body = {"client_id": str(uuid.uuid4())}  # the button's value; the list's one form has no more
    url = reverse("worklist:visit", args=[task.household_id]) + "?quick=1"
    assert f'formaction="{url}"' in html
    assert client.post(url, body).status_code == 302
    assert client.post(url, body).status_code == 302  # a double tap
    assert Visit.objects.count() == 1
    task.refresh_from_db()
    assert task.status == Task.Status.DONE
    assert "陈淑珍" not in client.get(reverse("worklist:today")).content.decode()


def test_a_visit_can_open_a_grid_event_case_in_one_step(world: World, task: Task, client_for: Any) -> None:
    from wangge.cases.models import Case, Category, Kind

    category = Category.objects.filter(kind=Kind.EVENT, active=True).first()
    assert category is not None
    client = client_for(Role.GRID_WORKER)
    url = reverse("worklist:visit", args=[task.household_id])
    body = {"client_id": str(uuid.uuid4()), "kind": "home", "notes": "楼道灯坏了", "case_category": category.pk}
    assert client.post(url, body).status_code == 302
    visit = Visit.objects.get()
    assert visit.case is not None and Case.objects.get(pk=visit.case_id).text == "楼道灯坏了"


def test_the_neighbouring_grids_worker_gets_404_on_a_task_and_a_visit(
    world: World, task: Task, client_for: Any, neighbour_worker: User
) -> None:
    visit, _ = actions.visit_record(
        by=world.user(Role.GRID_WORKER), household=task.household, client_id=uuid.uuid4(), tasks=[task]
    )
    neighbour = Client()
    neighbour.force_login(neighbour_worker)
    assert neighbour.get(reverse("api-worklist-task", args=[task.pk])).status_code == 404
    assert neighbour.get(reverse("api-worklist-visit", args=[visit.pk])).status_code == 404
    assert neighbour.get(reverse("worklist:visit", args=[task.household_id])).status_code == 404
    refused = _post_visit(neighbour, task, str(uuid.uuid4()))
    assert refused.status_code == 400 and Visit.objects.count() == 1
    assert neighbour.get(reverse("api-worklist-tasks"), {"all": "1"}).json()["count"] == 0
    own = client_for(Role.GRID_WORKER)
    assert own.get(reverse("api-worklist-task", args=[task.pk])).status_code == 200
    assert own.get(reverse("api-worklist-visit", args=[visit.pk])).status_code == 200


def test_a_volunteer_sees_only_their_households_tasks(world: World, person: Make, client_for: Any) -> None:
    from wangge.areas.models import Membership, Organisation

    today = timezone.localdate()
    theirs = person(ages(80, today=today), care=("elderly_alone",), name="高玉兰")
    other = person(ages(80, today=today), care=("elderly_alone",), name="黄桂芝")
    team = Organisation.objects.create(name="志愿队", kind=Organisation.Kind.VOLUNTEERS, area=world.areas["grid_a1_1"])
    volunteer = User.objects.create_user(username="vol", password="x-网格-2024", role=Role.GUARDIAN)
    Membership.objects.create(organisation=team, user=volunteer)
    assert theirs.household is not None and other.household is not None
    actions.helper_link(by=world.user(Role.COMMUNITY_STAFF), helper=volunteer, household=theirs.household)
    actions.generate(today=today)
    client = Client()
    client.force_login(volunteer)
    tasks = client.get(reverse("api-worklist-tasks"), {"all": "1"}).json()["results"]
    assert tasks and {t["resident"] for t in tasks} == {theirs.pk}
    page = client.get(reverse("worklist:today")).content.decode()
    assert "高玉兰" in page and "黄桂芝" not in page
    assert client.get(reverse("worklist:visit", args=[other.household.pk])).status_code == 404
    assert client.get(reverse("worklist:coverage")).status_code == 404


def test_it_rolls_back_a_visit_when_the_audit_entry_fails(
    world: World, task: Task, client_for: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = Client(raise_request_exception=False)
    client.force_login(world.user(Role.GRID_WORKER))

    def refuse(**kwargs: Any) -> None:
        raise DatabaseError("audit log unavailable")

    monkeypatch.setattr(AuditEntry.objects, "create", refuse)
    assert _post_visit(client, task, str(uuid.uuid4())).status_code == 500
    task.refresh_from_db()
    assert task.status == Task.Status.OPEN and task.visit_id is None
    assert not Visit.objects.exists()


def test_community_staff_see_coverage_per_grid_and_the_unvisited_households(
    world: World, task: Task, client_for: Any
) -> None:
    actions.visit_record(
        by=world.user(Role.GRID_WORKER), household=task.household, client_id=uuid.uuid4(), tasks=[task]
    )
    client = client_for(Role.COMMUNITY_STAFF)
    page = client.get(reverse("worklist:coverage"))
    assert page.status_code == 200
    html = page.content.decode()
    assert "灵西第一网格" in html and "灵西第二网格" in html and "曙光第一网格" not in html
    unvisited = client.get(reverse("worklist:unvisited", args=[world.areas["grid_a1_1"].pk])).content.decode()
    assert world.households["grid_a1_1"].address in unvisited
    assert task.household is not None and task.household.address not in unvisited
    outside = client.get(reverse("worklist:unvisited", args=[world.areas["grid_b1_1"].pk]))
    assert outside.status_code == 404
    assert client_for(Role.GRID_WORKER).get(reverse("worklist:coverage")).status_code == 404


def test_the_api_lists_rules_and_previews_one(world: World, client_for: Any) -> None:
    client = client_for(Role.COMMUNITY_STAFF)
    rules = client.get(reverse("api-worklist-rules")).json()
    assert rules["count"] == 18
    preview = client.get(reverse("api-worklist-rule-preview", args=["dementia-protection"]))
    assert preview.json() == {"tasks": 1, "grids": 1}  # the world's ward, not yet enrolled
    assert client_for(Role.AUDITOR).get(reverse("api-worklist-rules")).status_code == 404


def test_the_visits_tab_is_offered_to_those_who_visit(world: World, client_for: Any) -> None:
    from wangge.web.context import nav_items

    for role in (Role.DISTRICT_ADMIN, Role.COMMUNITY_STAFF, Role.GRID_WORKER):
        assert "走访" in [str(item.label) for item in nav_items(world.user(role), "/")], role
    for role in (Role.AUDITOR, Role.DEPARTMENT, Role.GUARDIAN):
        assert "走访" not in [str(item.label) for item in nav_items(world.user(role), "/")], role
        assert client_for(role).get(reverse("worklist:today")).status_code == 404
    assert len(nav_items(world.user(Role.DISTRICT_ADMIN), "/")) == 12  # with rentals, groups, places, units


def test_the_visit_form_stores_notes_a_photo_and_the_place(world: World, task: Task, client_for: Any) -> None:
    import io

    from django.core.files.uploadedfile import SimpleUploadedFile
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(buffer, format="JPEG")
    client = client_for(Role.GRID_WORKER)
    url = reverse("worklist:visit", args=[task.household_id])
    form = client.get(url).content.decode()
    assert "陈淑珍" in form and 'name="client_id"' in form
    body = {
        "client_id": str(uuid.uuid4()),
        "kind": "home",
        "tasks": [str(task.pk)],
        "resident": str(task.resident_id),
        "notes": "身体状况良好",
        "follow_up": "on",
        "lon": "122.91",
        "lat": "41.12",
        "photo": SimpleUploadedFile("visit.jpg", buffer.getvalue(), content_type="image/jpeg"),
    }
    assert client.post(url, body).status_code == 302
    visit = Visit.objects.get()
    assert visit.photo.name.startswith("visits/") and visit.photo.storage.exists(visit.photo.name)
    visit.photo.storage.delete(visit.photo.name)
    assert (visit.met, visit.notes, visit.follow_up, visit.lon) == ("陈淑珍", "身体状况良好", True, 122.91)
