"""The case pages in English, the audited read, the API schema, the admin for categories, and
the stats command's arguments."""

from __future__ import annotations

import json
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from wangge.accounts.models import Role
from wangge.cases import actions
from wangge.cases.models import Case, Category
from wangge.conftest import World
from wangge.core.models import AuditEntry

pytestmark = pytest.mark.django_db


def received(world: World, category: Category, key: str = "a1_1_head") -> Case:
    return actions.case_receive(
        by=world.user(Role.PETITION_OFFICE),
        category=category,
        text="交不起养老保险欠费",
        channel="walk_in",
        petitioners=[world.residents[key]],
    )


def test_it_shows_a_case_in_english_with_its_clock_and_next_steps(
    world: World, client_for: Any, pension: Category
) -> None:
    case = received(world, pension)
    client = client_for(Role.PETITION_OFFICE)
    client.cookies["django_language"] = "en"
    body = client.get(reverse("cases:detail", args=[case.pk]), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Acceptance due" in body
    assert "Acceptance decision" in body and "Record home visit" in body
    assert "Timeline" in body


def test_it_audits_every_read_of_a_case_and_shows_nothing_when_it_cannot(
    world: World, client_for: Any, pension: Category, monkeypatch: pytest.MonkeyPatch
) -> None:
    case = received(world, pension)
    client_for(Role.PETITION_OFFICE).get(reverse("cases:detail", args=[case.pk]))
    client_for(Role.PETITION_OFFICE).get(f"/api/v1/cases/{case.pk}/")
    reads = AuditEntry.objects.filter(action=AuditEntry.Action.VIEW, object_type="cases.case", object_id=str(case.pk))
    assert reads.count() == 2
    client = Client(raise_request_exception=False)
    client.force_login(world.user(Role.PETITION_OFFICE))

    def refuse(**kwargs: Any) -> None:
        raise DatabaseError("audit log unavailable")

    monkeypatch.setattr(AuditEntry.objects, "create", refuse)
    response = client.get(reverse("cases:detail", args=[case.pk]))
    assert response.status_code == 500
    assert "养老保险" not in response.content.decode()


def test_it_lists_the_case_endpoints_in_the_api_schema(client_for: Any) -> None:
    schema = client_for(Role.DISTRICT_ADMIN).get("/api/v1/schema/", {"format": "json"}).json()
    assert "/api/v1/cases/" in schema["paths"]
    assert "post" in schema["paths"]["/api/v1/cases/"]
    assert "/api/v1/cases/{id}/" in schema["paths"] or "/api/v1/cases/{pk}/" in schema["paths"]


def test_it_lets_a_district_admin_edit_categories_in_the_admin(world: World, client_for: Any) -> None:
    assert client_for(Role.DISTRICT_ADMIN).get("/admin/cases/category/").status_code == 200
    assert client_for(Role.PETITION_OFFICE).get("/admin/cases/category/").status_code == 302


def stats(*args: str) -> dict[str, Any]:
    out = StringIO()
    call_command("cases", "stats", *args, stdout=out)
    return dict(json.loads(out.getvalue().strip().splitlines()[-1]))


def test_it_counts_cases_by_area_and_date_range(world: World, pension: Category) -> None:
    case = received(world, pension)
    day = timezone.localtime(case.received_at).date().isoformat()
    assert stats()["received"] == 1
    assert stats("--from", day, "--to", day)["received"] == 1
    assert stats("--to", "2000-01-01")["received"] == 0
    assert stats("--area", "210302")["received"] == 0  # the other district
    figures = stats("--area", "210304")
    assert figures["received"] == 1 and figures["accepted"] == 0
    assert figures["response_rate"] == 0.0
    assert figures["solution_rate"] is None  # nothing accepted: no rate rather than a false 0
    assert figures["zero_petition_communities"] == [str(world.areas["community_b1"].pk)]


@pytest.mark.parametrize(
    "args", [["--from", "2026-13-01"], ["--from", "2026-02-01", "--to", "2026-01-01"], ["--area", "999999"]]
)
def test_it_refuses_bad_stats_arguments_clearly(world: World, args: list[str]) -> None:
    with pytest.raises(CommandError):
        call_command("cases", "stats", *args)


def test_it_lists_cases_by_tab_with_their_clocks(world: World, client_for: Any, pension: Category) -> None:
    import datetime as dt

    office = world.user(Role.PETITION_OFFICE)
    late = actions.case_receive(
        by=office,
        category=pension,
        text="旧案",
        channel="letter",
        petitioners=[world.residents["b1_1_head"]],
        now=timezone.now() - dt.timedelta(days=16),
    )
    fresh = received(world, pension, "a1_2_head")
    client = client_for(Role.PETITION_OFFICE)
    mine = client.get(reverse("cases:list")).content.decode()
    assert late.number in mine and fresh.number in mine
    overdue = client.get(reverse("cases:list"), {"tab": "overdue"}).content.decode()
    assert late.number in overdue and fresh.number not in overdue
    assert "已超期" in overdue
    assert fresh.number not in client.get(reverse("cases:list"), {"tab": "due"}).content.decode()
    # The grid worker of A1-1 sees neither (B1-1 and A1-2 are not theirs).
    theirs = client_for(Role.GRID_WORKER).get(reverse("cases:list"), {"tab": "all"}).content.decode()
    assert late.number not in theirs and fresh.number not in theirs
    assert client_for(Role.AUDITOR).get(reverse("cases:list")).status_code == 404


def test_it_registers_a_petitioner_who_is_not_in_the_registry_at_the_desk(
    world: World, client_for: Any, pension: Category
) -> None:
    community = world.areas["community_a1"]
    response = client_for(Role.COMMUNITY_STAFF).post(
        reverse("cases:intake"),
        {
            "channel": "phone",
            "category": pension.pk,
            "text": "外地来的老人反映养老金问题",
            "contact_name": "陈老汉",
            "contact_phone": "13512345678",
            "collective_count": 1,
            "area": community.pk,
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    case = Case.objects.get()
    assert case.contact_name == "陈老汉" and case.community == community and case.grid is None
    # An area outside the user's is not offered, and not accepted.
    other = client_for(Role.COMMUNITY_STAFF).post(
        reverse("cases:intake"),
        {
            "channel": "phone",
            "category": pension.pk,
            "text": "x",
            "contact_name": "某人",
            "collective_count": 1,
            "area": world.areas["community_b1"].pk,
        },
    )
    assert other.status_code == 400
    assert Case.objects.count() == 1


def test_it_names_and_links_a_case_in_the_audit_log_for_a_reader_who_may_see_it(
    world: World, pension: Category
) -> None:
    from wangge.core.audit_objects import describe

    case = received(world, pension)
    entries = list(AuditEntry.objects.filter(object_type="cases.case"))
    admin = describe(world.user(Role.DISTRICT_ADMIN), entries)[("cases.case", str(case.pk))]
    assert case.number in admin.name and admin.url == reverse("cases:detail", args=[case.pk])
    auditor = describe(world.user(Role.AUDITOR), entries)[("cases.case", str(case.pk))]
    assert auditor.url == "" and pension.name not in auditor.name
