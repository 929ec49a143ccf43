"""Repeat (重复访) and cross-level (越级访) petitions: suggestions within the statutory window and
the reader's scope, marks through the page, and the rates they feed."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import DatabaseError
from django.urls import reverse
from django.utils import timezone

from wangge.accounts.models import Role
from wangge.cases import actions, repeats, stats
from wangge.cases.models import Case, Category, CrossLevelMark, RepeatMark
from wangge.conftest import World
from wangge.core.models import AuditEntry

pytestmark = pytest.mark.django_db


def petition(world: World, category: Category, key: str, text: str, days_ago: float = 0, **extra: Any) -> Case:
    return actions.case_receive(
        by=world.user(Role.PETITION_OFFICE),
        category=category,
        text=text,
        channel="walk_in",
        petitioners=[world.residents[key]] if key else [],
        now=timezone.now() - dt.timedelta(days=days_ago),
        **extra,
    )


def test_it_measures_text_similarity_by_chinese_character_pairs() -> None:
    assert repeats.similarity("交不起养老保险欠费", "交不起养老保险欠费。") == 1.0
    assert repeats.similarity("交不起养老保险欠费", "养老保险欠费交不起") > 0.6
    assert repeats.similarity("交不起养老保险欠费", "楼道灯坏了") == 0.0
    assert repeats.similarity("", "楼道灯坏了") == 0.0


def test_it_suggests_earlier_cases_of_the_same_person_and_household_inside_the_window(
    world: World, pension: Category
) -> None:
    earlier = petition(world, pension, "a1_1_head", "交不起养老保险欠费，办不了退休", days_ago=40)
    housemate = petition(world, pension, "a1_1_ward", "老伴的养老保险欠费交不上", days_ago=20)
    too_old = petition(world, pension, "a1_1_head", "交不起养老保险欠费", days_ago=repeats.WINDOW.days + 1)
    stranger = petition(world, pension, "a1_2_head", "交不起养老保险欠费，办不了退休", days_ago=10)
    new = petition(world, pension, "a1_1_head", "还是交不起养老保险欠费，退休办不了")
    found = {s.case.pk: s for s in repeats.suggestions(world.user(Role.PETITION_OFFICE), new)}
    assert set(found) == {earlier.pk, housemate.pk}
    assert found[earlier.pk].reason == "person" and found[housemate.pk].reason == "household"
    assert found[earlier.pk].similarity > found[housemate.pk].similarity
    assert too_old.pk not in found and stranger.pk not in found


def test_it_suggests_events_at_the_same_place_only_when_the_text_is_alike(world: World, facilities: Category) -> None:
    grid = world.areas["grid_a1_1"]
    lamp = petition(world, facilities, "", "3号楼楼道灯坏了", days_ago=5, area=grid)
    Case.objects.filter(pk=lamp.pk).update(address="灵西路3号楼")
    bins = petition(world, facilities, "", "垃圾桶满了没人清", days_ago=4, area=grid)
    Case.objects.filter(pk=bins.pk).update(address="灵西路3号楼")
    new = petition(world, facilities, "", "3号楼楼道灯还是坏的", area=grid)
    Case.objects.filter(pk=new.pk).update(address="灵西路3号楼")
    new.refresh_from_db()
    found = [s.case.pk for s in repeats.suggestions(world.user(Role.COMMUNITY_STAFF), new)]
    assert found == [lamp.pk]


def test_it_never_suggests_a_case_outside_the_readers_scope(world: World, pension: Category) -> None:
    earlier = petition(world, pension, "a1_1_head", "交不起养老保险欠费", days_ago=3)
    Case.objects.filter(pk=earlier.pk).update(grid=world.areas["grid_a1_2"])
    new = petition(world, pension, "a1_1_head", "交不起养老保险欠费")
    assert repeats.suggestions(world.user(Role.GRID_WORKER), new) == []
    assert [s.case.pk for s in repeats.suggestions(world.user(Role.COMMUNITY_STAFF), new)] == [earlier.pk]


def test_it_marks_a_repeat_from_the_page_and_counts_it_in_the_repeat_rate(
    world: World, client_for: Any, pension: Category
) -> None:
    earlier = petition(world, pension, "a1_1_head", "交不起养老保险欠费，办不了退休", days_ago=30)
    new = petition(world, pension, "a1_1_head", "交不起养老保险欠费")
    desk = client_for(Role.PETITION_OFFICE)
    page = desk.get(reverse("cases:repeats", args=[new.pk])).content.decode()
    assert earlier.number in page and "同一反映人" in page
    response = desk.post(reverse("cases:repeats", args=[new.pk]), {"what": "repeat", "earlier": earlier.pk})
    assert response.status_code == 302
    mark = RepeatMark.objects.get(case=new)
    assert mark.earlier == earlier and mark.by == world.user(Role.PETITION_OFFICE) and mark.similarity
    assert AuditEntry.objects.filter(object_type="cases.case", object_id=str(new.pk), detail__repeat_of=earlier.pk)
    again = desk.post(reverse("cases:repeats", args=[new.pk]), {"what": "repeat", "earlier": earlier.pk})
    assert again.status_code == 400 and "已标记为重复访" in again.content.decode()
    figures = stats.figures(user=world.user(Role.DISTRICT_ADMIN))
    assert figures["repeats"] == 1 and figures["repeat_rate"] == 0.5
    community = next(row for row in figures["by_community"] if row["name"] == "灵西社区")
    assert community["repeat_rate"] == 0.5


def test_it_refuses_a_repeat_of_a_later_or_too_old_case(world: World, pension: Category) -> None:
    office = world.user(Role.PETITION_OFFICE)
    old = petition(world, pension, "a1_1_head", "交不起养老保险欠费", days_ago=repeats.WINDOW.days + 2)
    new = petition(world, pension, "a1_1_head", "交不起养老保险欠费")
    with pytest.raises(ValidationError):
        repeats.repeat_mark(case=new, earlier=old, by=office)
    with pytest.raises(ValidationError):
        repeats.repeat_mark(case=old, earlier=new, by=office)
    with pytest.raises(ValidationError):
        repeats.repeat_mark(case=new, earlier=new, by=office)
    assert not RepeatMark.objects.exists()


def test_it_marks_only_a_petition_as_cross_level_and_counts_it(
    world: World, client_for: Any, pension: Category, facilities: Category
) -> None:
    case = petition(world, pension, "a1_1_head", "交不起养老保险欠费")
    event = petition(world, facilities, "", "路灯坏了", area=world.areas["grid_a1_1"])
    desk = client_for(Role.PETITION_OFFICE)
    url = reverse("cases:repeats", args=[case.pk])
    assert desk.post(url, {"what": "cross_level", "level": "province", "note": "到省信访局"}).status_code == 302
    assert CrossLevelMark.objects.get(case=case).level == "province"
    refused = desk.post(reverse("cases:repeats", args=[event.pk]), {"what": "cross_level", "level": "city"})
    assert refused.status_code == 400
    assert desk.post(url, {"what": "cross_level", "level": "moon"}).status_code == 400
    figures = stats.figures(user=None)
    assert figures["cross_level"] == 1 and figures["cross_level_rate"] == 1.0


def test_it_rolls_the_mark_back_when_the_audit_entry_cannot_be_written(
    world: World, pension: Category, monkeypatch: pytest.MonkeyPatch
) -> None:
    earlier = petition(world, pension, "a1_1_head", "交不起养老保险欠费", days_ago=3)
    new = petition(world, pension, "a1_1_head", "交不起养老保险欠费")

    def refuse(**kwargs: Any) -> None:
        raise DatabaseError("audit log unavailable")

    monkeypatch.setattr(AuditEntry.objects, "create", refuse)
    with pytest.raises(DatabaseError):
        repeats.repeat_mark(case=new, earlier=earlier, by=world.user(Role.PETITION_OFFICE))
    with pytest.raises(DatabaseError):
        repeats.cross_level_mark(case=new, level="city", by=world.user(Role.PETITION_OFFICE))
    assert not RepeatMark.objects.exists() and not CrossLevelMark.objects.exists()


def test_it_404s_the_repeats_page_out_of_scope_and_refuses_marks_to_those_who_cannot_decide(
    world: World, client_for: Any, pension: Category
) -> None:
    theirs = petition(world, pension, "b1_1_head", "交不起养老保险欠费", days_ago=2)
    ours = petition(world, pension, "a1_1_head", "交不起养老保险欠费")
    community = client_for(Role.COMMUNITY_STAFF)
    assert community.get(reverse("cases:repeats", args=[theirs.pk])).status_code == 404
    # An earlier case outside the reader's scope cannot be named either.
    response = community.post(reverse("cases:repeats", args=[ours.pk]), {"what": "repeat", "earlier": theirs.pk})
    assert response.status_code == 404
    worker = client_for(Role.GRID_WORKER)
    assert worker.get(reverse("cases:repeats", args=[ours.pk])).status_code == 200
    refused = worker.post(reverse("cases:repeats", args=[ours.pk]), {"what": "cross_level", "level": "city"})
    assert refused.status_code == 404
    assert client_for(Role.AUDITOR).get(reverse("cases:repeats", args=[ours.pk])).status_code == 404
    assert not RepeatMark.objects.exists() and not CrossLevelMark.objects.exists()


@pytest.mark.parametrize("role", list(Role), ids=str)
def test_it_404s_the_repeats_page_and_marks_of_an_out_of_scope_case_for_every_role(
    world: World, client_for: Any, pension: Category, role: Role
) -> None:
    from wangge.cases.tests.test_scope import OUT_OF_SCOPE

    case = petition(world, pension, OUT_OF_SCOPE[role], "反映的问题")
    client = client_for(role)
    url = reverse("cases:repeats", args=[case.pk])
    page = client.get(url)
    assert page.status_code == 404 and "反映的问题" not in page.content.decode()
    assert client.post(url, {"what": "cross_level", "level": "city"}).status_code == 404
    assert not CrossLevelMark.objects.exists()
    # Nor are the figures of the case's area readable by naming it.
    area = case.grid_id or case.community_id
    assert client.get("/api/v1/cases/stats/", {"area": area}).status_code == 404
