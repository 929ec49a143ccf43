"""Repeat and cross-level marks in the case's timeline and on its page; the reception desk with
several petitioners and a cross-level checkbox; 不满意 opening a review from a visit and from
the petitioner's link."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from wangge.accounts.models import Role
from wangge.cases import actions, repeats, stats
from wangge.cases.models import Case, Category, CrossLevelMark, Review, Step
from wangge.conftest import World

pytestmark = pytest.mark.django_db


def petition(world: World, category: Category, key: str, text: str, days_ago: float = 0) -> Case:
    return actions.case_receive(
        by=world.user(Role.PETITION_OFFICE),
        category=category,
        text=text,
        channel="walk_in",
        petitioners=[world.residents[key]],
        now=timezone.now() - dt.timedelta(days=days_ago),
    )


def answered(world: World, category: Category) -> Case:
    office = world.user(Role.PETITION_OFFICE)
    case = petition(world, category, "a1_1_head", "交不起养老保险欠费")
    case = actions.case_accept(case=case, by=office)
    actions.visit_record(case=case, by=world.user(Role.GRID_WORKER), met="本人", found="低保户")
    case = actions.reply_write(case=case, by=office, text="答复")
    return actions.resolution_record(case=case, by=office, resolution="not_solved", done="已解释政策")


def test_marking_a_repeat_or_a_cross_level_petition_writes_a_timeline_step(world: World, pension: Category) -> None:
    office = world.user(Role.PETITION_OFFICE)
    earlier = petition(world, pension, "a1_1_head", "交不起养老保险欠费", days_ago=30)
    case = petition(world, pension, "a1_1_head", "还是交不起养老保险欠费")
    repeats.repeat_mark(case=case, earlier=earlier, by=office, note="同一事项")
    repeats.cross_level_mark(case=case, by=office, level="city")
    steps = list(case.steps.order_by("at", "id"))
    assert [s.kind for s in steps] == [Step.Kind.RECEIVE, Step.Kind.REPEAT, Step.Kind.CROSS_LEVEL]
    assert steps[1].data["earlier"] == earlier.pk and steps[1].note == "同一事项" and steps[1].by == office
    assert steps[2].data == {"level": "city"}


def test_a_refused_mark_writes_no_step(world: World, pension: Category) -> None:
    office = world.user(Role.PETITION_OFFICE)
    case = petition(world, pension, "a1_1_head", "交不起养老保险欠费")
    later = petition(world, pension, "a1_1_head", "交不起养老保险欠费")
    with pytest.raises(ValidationError):
        repeats.repeat_mark(case=case, earlier=later, by=office)
    with pytest.raises(ValidationError):
        repeats.cross_level_mark(case=case, by=office, level="moon")
    assert list(case.steps.values_list("kind", flat=True)) == [Step.Kind.RECEIVE]


def test_the_rollup_counts_a_mark_dated_before_the_last_refresh(world: World, pension: Category) -> None:
    office = world.user(Role.PETITION_OFFICE)
    earlier = petition(world, pension, "a1_1_head", "交不起养老保险欠费", days_ago=70)
    case = petition(world, pension, "a1_1_head", "还是交不起养老保险欠费", days_ago=45)
    stats.refresh()
    assert stats.figures(user=None)["repeats"] == 0
    # Marked with the moment it was decided (a day ago), recorded after the refresh: only the
    # step tells the next incremental refresh that the case's month changed.
    a_day_ago = timezone.now() - dt.timedelta(days=1)
    repeats.repeat_mark(case=case, earlier=earlier, by=office, now=a_day_ago)
    repeats.cross_level_mark(case=case, by=office, level="province", now=a_day_ago)
    stats.refresh()
    figures = stats.figures(user=None)
    assert figures["refreshed_at"] is not None
    assert (figures["repeats"], figures["cross_level"]) == (1, 1)


def test_the_case_page_shows_the_marks_and_links_to_the_repeats_page(
    world: World, client_for: Any, pension: Category
) -> None:
    office = world.user(Role.PETITION_OFFICE)
    earlier = petition(world, pension, "a1_1_head", "交不起养老保险欠费", days_ago=30)
    case = petition(world, pension, "a1_1_head", "还是交不起养老保险欠费")
    desk = client_for(Role.PETITION_OFFICE)
    page = desk.get(reverse("cases:detail", args=[case.pk])).content.decode()
    assert f'href="{reverse("cases:repeats", args=[case.pk])}"' in page
    assert "重复访：前次案件" not in page and "越级访：" not in page
    repeats.repeat_mark(case=case, earlier=earlier, by=office)
    repeats.cross_level_mark(case=case, by=office, level="national")
    page = desk.get(reverse("cases:detail", args=[case.pk])).content.decode()
    assert f"重复访：前次案件 {earlier.number}" in page and "越级访：国家级" in page
    assert "标记重复访" in page and "标记越级访" in page  # the timeline's steps
    desk.cookies["django_language"] = "en"
    english = desk.get(reverse("cases:detail", args=[case.pk])).content.decode()
    assert "See possible repeats" in english and "Marked as a repeat" in english


def test_the_desk_registers_a_collective_petition_of_several_residents_marked_cross_level(
    world: World, client_for: Any, pension: Category
) -> None:
    desk = client_for(Role.PETITION_OFFICE)
    first, second = world.residents["a1_1_head"], world.residents["a1_2_head"]
    picker = desk.get(reverse("cases:intake"), {"resident": first.pk, "q": second.name}).content.decode()
    assert first.name in picker and f"resident={first.pk}&amp;resident={second.pk}" in picker
    assert 'name="cross_level"' in picker
    response = desk.post(
        f"{reverse('cases:intake')}?resident={first.pk}&resident={second.pk}",
        {
            "channel": "walk_in",
            "category": pension.pk,
            "text": "两户反映养老保险欠费无力补缴，已去过市信访局",
            "collective_count": 1,
            "cross_level": "on",
            "cross_level_to": "city",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    case = Case.objects.get()
    assert set(case.petitioners.all()) == {first, second} and case.collective_count == 2
    assert CrossLevelMark.objects.get(case=case).level == "city"
    assert case.steps.filter(kind=Step.Kind.CROSS_LEVEL).count() == 1


def test_the_desk_needs_a_level_for_a_cross_level_petition_and_changes_nothing_without(
    world: World, client_for: Any, pension: Category
) -> None:
    response = client_for(Role.PETITION_OFFICE).post(
        reverse("cases:intake"),
        {
            "channel": "walk_in",
            "category": pension.pk,
            "text": "x",
            "collective_count": 1,
            "resident": world.residents["a1_1_head"].pk,
            "cross_level": "on",
        },
    )
    assert response.status_code == 400 and "请选择越级到哪一级" in response.content.decode()
    assert not Case.objects.exists()


def test_the_cross_level_checkbox_is_not_offered_to_who_may_not_mark(world: World, client_for: Any) -> None:
    page = client_for(Role.GRID_WORKER).get(reverse("cases:intake")).content.decode()
    assert 'name="channel"' in page and 'name="cross_level"' not in page


def test_dissatisfied_on_a_visit_opens_a_review_when_asked(world: World, client_for: Any, pension: Category) -> None:
    case = answered(world, pension)
    response = client_for(Role.GRID_WORKER).post(
        reverse("cases:step", args=[case.pk, "satisfaction"]),
        {"satisfaction": "dissatisfied", "note": "补缴的事还是没办成", "want_review": "on"},
    )
    assert response.status_code == 302
    review = Review.objects.get(case=case)
    assert (review.level, review.reason) == ("review", "补缴的事还是没办成")
    case.refresh_from_db()
    assert case.satisfaction == "dissatisfied"
    assert list(case.steps.values_list("kind", flat=True))[-2:] == ["satisfaction", "review_request"]


def test_dissatisfied_on_a_visit_without_asking_opens_no_review(world: World, pension: Category) -> None:
    case = answered(world, pension)
    actions.satisfaction_record(case=case, by=world.user(Role.GRID_WORKER), satisfaction="dissatisfied")
    assert not Review.objects.exists()


def test_a_review_asked_too_late_on_a_visit_leaves_the_rating_unrecorded(world: World, pension: Category) -> None:
    case = answered(world, pension)
    Case.objects.filter(pk=case.pk).update(replied_at=timezone.now() - dt.timedelta(days=40))
    with pytest.raises(ValidationError, match="申请期限已过"):
        actions.satisfaction_record(
            case=case, by=world.user(Role.GRID_WORKER), satisfaction="dissatisfied", want_review=True
        )
    case.refresh_from_db()
    assert case.satisfaction == "" and not Review.objects.exists()


def test_the_rating_page_tells_the_petitioner_whether_the_review_was_opened(world: World, pension: Category) -> None:
    office = world.user(Role.PETITION_OFFICE)
    case = answered(world, pension)
    _link, url = actions.satisfaction_link_create(case=case, by=office, base_url="http://x")
    opened = Client().post(url.removeprefix("http://x"), {"satisfaction": "dissatisfied", "want_review": "on"})
    assert 'id="review-opened"' in opened.content.decode() and Review.objects.filter(case=case).count() == 1

    late = answered(world, pension)
    Case.objects.filter(pk=late.pk).update(replied_at=timezone.now() - dt.timedelta(days=40))
    _link, url = actions.satisfaction_link_create(case=late, by=office, base_url="http://x")
    refused = Client().post(url.removeprefix("http://x"), {"satisfaction": "dissatisfied", "want_review": "on"})
    page = refused.content.decode()
    assert 'id="review-refused"' in page and 'id="review-opened"' not in page
    late.refresh_from_db()
    assert late.satisfaction == "dissatisfied" and not Review.objects.filter(case=late).exists()
