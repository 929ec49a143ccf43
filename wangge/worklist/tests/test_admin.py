"""The district edits rules and links helpers in the admin, through the actions."""

from __future__ import annotations

from typing import Any

from wangge.accounts.models import Role, User
from wangge.areas.models import Membership, Organisation
from wangge.conftest import World
from wangge.core.models import AuditEntry
from wangge.worklist.models import HelperLink, Rule


def test_an_edit_in_the_admin_versions_the_rule_and_a_bad_condition_is_refused(world: World, client_for: Any) -> None:
    client = client_for(Role.DISTRICT_ADMIN)
    rule = Rule.objects.get(code="longevity-allowance")
    url = f"/admin/worklist/rule/{rule.pk}/change/"
    form = {
        "code": rule.code,
        "name": rule.name,
        "name_en": rule.name_en,
        "source": rule.source,
        "kind": rule.kind,
        "condition": '{"anchor": {"birthday": 80}, "window_days": 60}',
        "due_days": 21,
        "every_days": "",
        "priority": rule.priority,
        "assignee": rule.assignee,
        "active": "on",
        "order": rule.order,
    }
    assert client.post(url, form).status_code == 302
    rule.refresh_from_db()
    assert (rule.version, rule.due_days) == (2, 21)
    assert AuditEntry.objects.filter(object_type="worklist.rule", object_id=str(rule.pk)).exists()
    refused = client.post(url, form | {"condition": '{"age_minimum": 80}'})
    assert refused.status_code == 200 and "age_minimum" in refused.content.decode()
    rule.refresh_from_db()
    assert rule.version == 2


def test_a_helper_is_linked_in_the_admin_only_to_a_household_of_their_grid(world: World, client_for: Any) -> None:
    client = client_for(Role.DISTRICT_ADMIN)
    team = Organisation.objects.create(
        name="党支部", kind=Organisation.Kind.PARTY_BRANCH, area=world.areas["grid_a1_1"]
    )
    member = User.objects.create_user(username="party", password="x-网格-2024", role=Role.GUARDIAN)
    Membership.objects.create(organisation=team, user=member)
    form = {"helper": member.pk, "household": world.households["grid_a1_2"].pk, "since": "2026-12-01"}
    refused = client.post("/admin/worklist/helperlink/add/", form)
    assert refused.status_code == 200 and not HelperLink.objects.exists()
    form["household"] = world.households["grid_a1_1"].pk
    assert client.post("/admin/worklist/helperlink/add/", form).status_code == 302
    link = HelperLink.objects.get()
    assert link.organisation == team and link.grid_id == world.areas["grid_a1_1"].pk
