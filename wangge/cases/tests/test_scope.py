"""Out of scope is 404 on every case page and endpoint: other areas for everyone, and for a
department handler also the cases of other departments inside their district."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from wangge.accounts.models import Role
from wangge.cases import actions
from wangge.cases.flow_views import FLOW_FORMS
from wangge.cases.forms import STEP_FORMS
from wangge.cases.models import Case, Category, Department
from wangge.conftest import World

pytestmark = pytest.mark.django_db


def petition(world: World, resident_key: str, category: Category, department: Department | None = None) -> Case:
    admin = world.user(Role.DISTRICT_ADMIN)
    case = actions.case_receive(
        by=admin, category=category, text="反映的问题", channel="walk_in", petitioners=[world.residents[resident_key]]
    )
    case = actions.case_accept(case=case, by=admin)
    if department is not None:
        case = actions.case_assign(case=case, by=admin, department=department)
    return case


def page_and_api_urls(case: Case) -> list[str]:
    return [reverse("cases:detail", args=[case.pk]), f"/api/v1/cases/{case.pk}/"]


def assert_hidden(client: Any, case: Case) -> None:
    for url in page_and_api_urls(case):
        response = client.get(url)
        assert response.status_code == 404, url
        assert "反映的问题" not in response.content.decode()
    for name in STEP_FORMS:
        response = client.post(reverse("cases:step", args=[case.pk, name]), {"note": "x", "reason": "x"})
        assert response.status_code == 404, name
    for name in FLOW_FORMS:
        response = client.post(reverse("cases:flow_step", args=[case.pk, name]), {"reason": "x", "leader": "x"})
        assert response.status_code == 404, name
    listed = {row["id"] for row in client.get("/api/v1/cases/").json().get("results", [])}
    assert case.pk not in listed
    assert case.pk not in {r["id"] for r in client.get("/api/v1/cases/?list=overdue").json().get("results", [])}


OUT_OF_SCOPE = {
    Role.DISTRICT_ADMIN: "other_head",
    Role.STREET_STAFF: "b1_1_head",
    Role.COMMUNITY_STAFF: "b1_1_head",
    Role.GRID_WORKER: "a1_2_head",
    Role.PETITION_OFFICE: "other_head",
    Role.DEPARTMENT: "other_head",
    Role.GUARDIAN: "a1_1_ward",
    Role.AUDITOR: "a1_1_head",
}


@pytest.mark.parametrize("role", list(OUT_OF_SCOPE), ids=str)
def test_it_404s_every_case_page_and_endpoint_out_of_scope(
    world: World, client_for: Any, civil_affairs: Department, pension: Category, role: Role
) -> None:
    case = petition(world, OUT_OF_SCOPE[role], pension, civil_affairs)
    assert_hidden(client_for(role), case)
    # Not modified by any of those posts.
    case.refresh_from_db()
    assert case.steps.count() == 3


def test_it_hides_another_departments_cases_from_a_department_handler(
    world: World, client_for: Any, civil_affairs: Department, pension: Category
) -> None:
    housing = Department.objects.get(code="housing")
    theirs = petition(world, "a1_1_head", pension, housing)
    ours = petition(world, "a1_2_head", pension, civil_affairs)
    helping = petition(world, "b1_1_head", pension, housing)
    actions.case_assign(
        case=helping, by=world.user(Role.DISTRICT_ADMIN), department=housing, co_departments=[civil_affairs]
    )
    handler = client_for(Role.DEPARTMENT)
    assert_hidden(handler, theirs)
    for case in (ours, helping):
        for url in page_and_api_urls(case):
            assert handler.get(url).status_code == 200, url
    listed = {row["id"] for row in handler.get("/api/v1/cases/").json()["results"]}
    assert listed == {ours.pk, helping.pk}


def test_it_refuses_an_out_of_scope_petitioner_at_intake(world: World, client_for: Any, pension: Category) -> None:
    worker = client_for(Role.GRID_WORKER)
    outsider = world.residents["a1_2_head"]
    page = worker.post(f"{reverse('cases:field')}?resident={outsider.pk}", {"category": pension.pk, "text": "求助"})
    assert page.status_code == 404
    api = worker.post(
        "/api/v1/cases/",
        {"category": pension.code, "text": "求助", "channel": "field", "petitioners": [outsider.pk]},
        content_type="application/json",
    )
    assert api.status_code == 400
    assert not Case.objects.exists()
