"""The rules of the actions: anonymous events but no anonymous petitions, the home-visit gate,
verification by someone else, merit apart from resolution, and the audit in the same transaction."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import DatabaseError
from django.test import Client
from django.urls import reverse

from wangge.accounts.models import Role
from wangge.cases import actions, queries
from wangge.cases.models import Case, Category, Department, Step
from wangge.conftest import World
from wangge.core.models import AuditEntry

pytestmark = pytest.mark.django_db


def test_it_refuses_an_anonymous_petition_and_accepts_an_anonymous_event(
    world: World, client_for: Any, pension: Category, facilities: Category
) -> None:
    worker = client_for(Role.GRID_WORKER)
    grid = world.areas["grid_a1_1"]
    refused = worker.post(reverse("cases:field"), {"category": pension.pk, "text": "匿名反映", "area": grid.pk})
    assert refused.status_code == 400
    assert "信访不能匿名" in refused.content.decode()
    assert not Case.objects.exists()
    made = worker.post(reverse("cases:field"), {"category": facilities.pk, "text": "3号楼楼道灯坏了", "area": grid.pk})
    assert made.status_code == 302
    event = Case.objects.get()
    assert event.kind == "event" and event.grid == grid and event.channel == "field"
    assert not event.needs_home_visit


def test_it_registers_a_collective_petition_through_the_api(world: World, client_for: Any, pension: Category) -> None:
    response = client_for(Role.PETITION_OFFICE).post(
        "/api/v1/cases/",
        {
            "category": pension.code,
            "text": "多名居民反映养老金发放问题",
            "channel": "leader_day",
            "petitioners": [world.residents["a1_1_head"].pk, world.residents["a1_2_head"].pk],
            "collective_count": 12,
        },
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["collective_count"] == 12
    assert len(body["petitioners"]) == 2
    assert body["steps"][0]["kind"] == "receive"


def test_it_needs_a_home_visit_or_an_exemption_before_a_reply(world: World, pension: Category) -> None:
    office = world.user(Role.PETITION_OFFICE)
    case = actions.case_receive(
        by=office, category=pension, text="求助", channel="phone", petitioners=[world.residents["b1_1_head"]]
    )
    case = actions.case_accept(case=case, by=office)
    with pytest.raises(ValidationError):
        actions.reply_write(case=case, by=office, text="答复")
    with pytest.raises(ValidationError):
        actions.visit_exempt(case=case, by=office, reason="  ")
    actions.visit_exempt(case=case, by=office, reason="信访人拒绝入户")
    case = actions.reply_write(case=case, by=office, text="答复")
    assert case.replied_at is not None
    assert queries.clock_of(case).phase == "stopped"


def test_it_keeps_a_closed_unreasonable_unsolved_case_on_the_needs_list(
    world: World, pension: Category, civil_affairs: Department
) -> None:
    office, admin = world.user(Role.PETITION_OFFICE), world.user(Role.DISTRICT_ADMIN)
    case = actions.case_receive(
        by=office, category=pension, text="求助", channel="letter", petitioners=[world.residents["a1_1_head"]]
    )
    case = actions.case_accept(case=case, by=office)
    actions.visit_record(case=case, by=world.user(Role.GRID_WORKER), met="本人", found="困难")
    actions.merit_decide(case=case, by=office, merit="unreasonable")
    actions.reply_write(case=case, by=office, text="不予支持")
    actions.resolution_record(case=case, by=office, resolution="not_solved", done="已解释政策")
    with pytest.raises(ValidationError):
        actions.case_verify(case=case, by=office)  # the one who recorded it
    actions.case_verify(case=case, by=admin)
    case = actions.case_close(case=case, by=admin)
    assert case.status == Case.Status.CLOSED
    assert case in queries.needs(world.user(Role.GRID_WORKER))
    # Solved later: it leaves the list, and has to be verified again.
    case = actions.resolution_record(case=case, by=office, resolution="solved", done="社会救助补缴")
    assert case.verified_at is None
    assert case not in queries.needs(world.user(Role.GRID_WORKER))


def test_it_allows_one_extension_only(world: World, pension: Category) -> None:
    office = world.user(Role.PETITION_OFFICE)
    case = actions.case_receive(
        by=office, category=pension, text="求助", channel="phone", petitioners=[world.residents["b1_1_head"]]
    )
    case = actions.case_accept(case=case, by=office)
    before = case.handle_due
    assert before is not None
    with pytest.raises(ValidationError):
        actions.case_extend(case=case, by=office, days=31, reason="情况复杂")
    case = actions.case_extend(case=case, by=office, days=30, reason="情况复杂")
    assert case.handle_due is not None and (case.handle_due - before).days == 30
    with pytest.raises(ValidationError):
        actions.case_extend(case=case, by=office, days=1, reason="再延")


def test_it_lists_overdue_and_due_soon_cases(world: World, pension: Category) -> None:
    import datetime as dt

    from django.utils import timezone

    office = world.user(Role.PETITION_OFFICE)
    long_ago = timezone.now() - dt.timedelta(days=20)
    late = actions.case_receive(
        by=office,
        category=pension,
        text="旧案",
        channel="phone",
        petitioners=[world.residents["b1_1_head"]],
        now=long_ago,
    )
    soon = actions.case_receive(
        by=office,
        category=pension,
        text="将到期",
        channel="phone",
        petitioners=[world.residents["b1_1_head"]],
        now=timezone.now() - dt.timedelta(days=14),
    )
    fresh = actions.case_receive(
        by=office, category=pension, text="新案", channel="phone", petitioners=[world.residents["b1_1_head"]]
    )
    assert list(queries.overdue(office)) == [late]
    assert list(queries.due_soon(office)) == [soon]
    assert fresh not in queries.overdue(office) and fresh not in queries.due_soon(office)
    actions.case_accept(case=late, by=office)
    assert late not in queries.overdue(office)  # accepted late, but now has 60 days to handle


def test_it_rolls_back_a_step_when_the_audit_entry_fails(
    world: World, pension: Category, monkeypatch: pytest.MonkeyPatch
) -> None:
    office = world.user(Role.PETITION_OFFICE)
    case = actions.case_receive(
        by=office, category=pension, text="求助", channel="phone", petitioners=[world.residents["b1_1_head"]]
    )
    client = Client(raise_request_exception=False)
    client.force_login(office)

    def refuse(**kwargs: Any) -> None:
        raise DatabaseError("audit log unavailable")

    monkeypatch.setattr(AuditEntry.objects, "create", refuse)
    response = client.post(reverse("cases:step", args=[case.pk, "accept"]), {"decision": "accept"})
    assert response.status_code == 500
    case.refresh_from_db()
    assert case.status == Case.Status.RECEIVED
    assert case.accepted_at is None
    assert list(case.steps.values_list("kind", flat=True)) == [Step.Kind.RECEIVE]
    with pytest.raises(DatabaseError):
        actions.case_receive(
            by=office, category=pension, text="另一件", channel="phone", petitioners=[world.residents["b1_1_head"]]
        )
    assert Case.objects.count() == 1


def test_a_category_code_holding_a_nul_byte_is_a_clear_400_and_registers_nothing(
    world: World, client_for: Any, pension: Category
) -> None:
    response = client_for(Role.PETITION_OFFICE).post(
        "/api/v1/cases/",
        {"category": pension.code + "\x00", "text": "A", "channel": "letter"},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert "category" in response.json()
    assert not Case.objects.exists()
