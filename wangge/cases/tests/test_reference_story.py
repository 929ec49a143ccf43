"""The reference story through HTTP, as the roles would do it: a man who cannot retire because
he cannot pay his pension arrears. The petition is rightly 无理, and still not finished until the
arrears are paid through social assistance."""

from __future__ import annotations

import json
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from wangge.accounts.models import Role
from wangge.cases import queries
from wangge.cases.models import Case, Category, Department, Step
from wangge.conftest import World

pytestmark = pytest.mark.django_db


def step(client: Client, case: Case, name: str, data: dict[str, Any]) -> None:
    response = client.post(reverse("cases:step", args=[case.pk, name]), data)
    assert response.status_code == 302, response.content.decode()[:3000]


def test_it_keeps_an_unreasonable_petition_open_until_the_need_behind_it_is_solved(
    world: World, client_for: Any, civil_affairs: Department, pension: Category
) -> None:
    desk = client_for(Role.PETITION_OFFICE)
    grid_worker = client_for(Role.GRID_WORKER)
    handler = client_for(Role.DEPARTMENT)
    petitioner = world.residents["a1_1_head"]

    # Walk-in at the reception desk: the petitioner is found in the registry and picked.
    picker = desk.get(reverse("cases:intake"), {"q": petitioner.name})
    assert f"?resident={petitioner.pk}" in picker.content.decode()
    response = desk.post(
        f"{reverse('cases:intake')}?resident={petitioner.pk}",
        {
            "channel": "walk_in",
            "category": pension.pk,
            "text": "我到了退休年龄，但交不起养老保险欠费，办不了退休。",
            "collective_count": 1,
            "resident": petitioner.pk,
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    case = Case.objects.get()
    assert list(case.petitioners.all()) == [petitioner]
    assert case.grid == world.areas["grid_a1_1"]

    step(desk, case, "accept", {"decision": "accept"})

    # Before the home visit the petition can be neither assessed nor answered.
    refused = desk.post(reverse("cases:step", args=[case.pk, "merit"]), {"merit": "unreasonable"})
    assert refused.status_code == 400
    assert "入户走访" in refused.content.decode()
    case.refresh_from_db()
    assert case.merit == ""

    step(
        grid_worker,
        case,
        "visit",
        {"met": "王建国本人及其妻子", "found": "家庭享受低保，无力一次性补缴养老保险欠费约三万元"},
    )
    step(desk, case, "merit", {"merit": "unreasonable", "note": "欠费补缴须由本人承担，诉求于法无据"})
    step(desk, case, "reply", {"text": "您的诉求不符合政策规定；社区将协助申请社会救助。"})

    case.refresh_from_db()
    assert case.merit == Case.Merit.UNREASONABLE
    assert case.status == Case.Status.ACCEPTED  # procedure has spoken, the need is still there
    assert case in queries.needs(world.user(Role.COMMUNITY_STAFF))
    # Nothing to close yet: closure needs a verified resolution.
    refused = desk.post(reverse("cases:step", args=[case.pk, "close"]), {})
    assert refused.status_code == 400
    assert "核查" in refused.content.decode()

    # The department handler does not see the case until it is assigned to civil affairs.
    assert handler.get(reverse("cases:detail", args=[case.pk])).status_code == 404
    step(desk, case, "assign", {"department": civil_affairs.pk})
    assert handler.get(reverse("cases:detail", args=[case.pk])).status_code == 200

    step(
        handler,
        case,
        "resolution",
        {
            "resolution": "solved",
            "done": "通过社会救助一次性补缴养老保险欠费，已办理退休，领取养老金后退出低保",
            "done_by": "民政局社会救助科",
            "cost_yuan": "30000.00",
        },
    )
    # The handler cannot verify their own work; someone else does.
    assert handler.post(reverse("cases:step", args=[case.pk, "verify"]), {}).status_code in (400, 403)
    step(desk, case, "verify", {"note": "电话回访并查看退休手续"})
    step(grid_worker, case, "satisfaction", {"satisfaction": "satisfied", "note": "入户回访"})
    step(desk, case, "close", {"note": "问题已解决"})

    case.refresh_from_db()
    assert case.status == Case.Status.CLOSED
    assert case.resolution == Case.Resolution.SOLVED
    assert case.merit == Case.Merit.UNREASONABLE
    assert str(case.cost_yuan) == "30000.00"
    assert case not in queries.needs(world.user(Role.COMMUNITY_STAFF))
    kinds = list(case.steps.values_list("kind", flat=True))
    assert kinds == [
        Step.Kind.RECEIVE,
        Step.Kind.ACCEPT,
        Step.Kind.VISIT,
        Step.Kind.MERIT,
        Step.Kind.REPLY,
        Step.Kind.ASSIGN,
        Step.Kind.RESOLUTION,
        Step.Kind.VERIFY,
        Step.Kind.SATISFACTION,
        Step.Kind.CLOSE,
    ]
    page = desk.get(reverse("cases:detail", args=[case.pk])).content.decode()
    assert "无理" in page and "已解决" in page and "民政局" in page

    out = StringIO()
    call_command("cases", "stats", "--area", "210304", stdout=out)
    figures = json.loads(out.getvalue().strip().splitlines()[-1])
    assert figures["received"] == figures["accepted"] == figures["closed"] == figures["solved"] == 1
    assert figures["closed_unsolved"] == 0
    assert figures["by_merit"]["unreasonable"] == 1
    assert figures["solved_by_merit"]["unreasonable"] == 1
    assert figures["solution_rate"] == 1.0
    assert figures["satisfaction_rate"] == 1.0
    assert figures["response_rate"] == 1.0
    # 灵西社区 has a petition now; 曙光社区 has none.
    assert str(world.areas["community_b1"].pk) in figures["zero_petition_communities"]
    assert str(world.areas["community_a1"].pk) not in figures["zero_petition_communities"]
