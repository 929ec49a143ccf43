"""After re-review (复核) the same matter is not accepted again (信访工作条例 Article 36): a new
intake of the same petitioner's re-reviewed matter is refused with a message naming the earlier
case, at every intake, however long after, unless new facts and grounds are stated."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import translation

from wangge.accounts.models import Role
from wangge.cases import actions, repeats
from wangge.cases.models import Case, Category, Review, Step
from wangge.conftest import World
from wangge.core.audit import Action
from wangge.core.models import AuditEntry

pytestmark = pytest.mark.django_db
TZ = ZoneInfo("Asia/Shanghai")
MATTER = "交不起养老保险欠费，办不了退休"
# Similarity to MATTER exactly at the threshold, and one character pair under it.
AT_THRESHOLD = "老伴的养老保险欠费交不上"
UNDER_THRESHOLD = "老伴的养老保险欠费交不上了"


def at(day: str, time: str = "10:00") -> dt.datetime:
    return dt.datetime.fromisoformat(f"{day}T{time}").replace(tzinfo=TZ)


def rereviewed(world: World, category: Category, *, answer_rereview: bool = True, **intake: Any) -> Case:
    """A petition of 王建国 taken through reply, review and re-review (answered on 2026-05-20)."""
    office = world.user(Role.PETITION_OFFICE)
    intake = {"petitioners": [world.residents["a1_1_head"]]} | intake
    case = actions.case_receive(
        by=office, category=category, text=MATTER, channel="walk_in", now=at("2026-02-01"), **intake
    )
    actions.case_accept(case=case, by=office, now=at("2026-02-01"))
    actions.visit_exempt(case=case, by=office, reason="信访人拒绝入户", now=at("2026-02-01"))
    actions.reply_write(case=case, by=office, text="答复意见", now=at("2026-03-01"))
    actions.review_request(case=case, by=office, reason="不服", now=at("2026-03-10"))
    actions.review_answer(case=case, by=office, outcome="upheld", answer="维持原意见", now=at("2026-04-01"))
    actions.review_request(case=case, by=office, reason="申请复核", now=at("2026-04-20"))
    if answer_rereview:
        actions.review_answer(case=case, by=office, outcome="upheld", answer="维持", now=at("2026-05-20"))
    return case


def receive(
    world: World, category: Category, text: str, key: str = "a1_1_head", day: str = "2026-06-01", **extra: Any
) -> Case:
    return actions.case_receive(
        by=world.user(Role.PETITION_OFFICE),
        category=category,
        text=text,
        channel=extra.pop("channel", "walk_in"),
        petitioners=[world.residents[key]] if key else [],
        now=at(day),
        **extra,
    )


def test_similarity_threshold_examples_are_at_and_just_under_it() -> None:
    assert repeats.similarity(MATTER, AT_THRESHOLD) == repeats.SAME_MATTER
    assert repeats.similarity(MATTER, UNDER_THRESHOLD) < repeats.SAME_MATTER


def test_it_refuses_the_same_matter_at_the_threshold_and_takes_it_just_under(world: World, pension: Category) -> None:
    earlier = rereviewed(world, pension)
    with pytest.raises(ValidationError, match=f"{earlier.number}.*复核.*第三十六条") as refused:
        receive(world, pension, AT_THRESHOLD)
    assert refused.value.code == "rereviewed" and "2026-05-20" in refused.value.messages[0]
    assert "维持原意见" in refused.value.messages[0]
    taken = receive(world, pension, UNDER_THRESHOLD)
    assert taken.status == Case.Status.RECEIVED
    assert "after_rereview" not in taken.steps.get(kind=Step.Kind.RECEIVE).data


def test_it_takes_the_matter_while_the_re_review_is_unanswered_and_refuses_it_once_answered(
    world: World, pension: Category
) -> None:
    earlier = rereviewed(world, pension, answer_rereview=False)
    assert receive(world, pension, MATTER).pk  # a repeat (重复访), not barred yet
    actions.review_answer(
        case=earlier, by=world.user(Role.PETITION_OFFICE), outcome="changed", answer="部分支持", now=at("2026-05-20")
    )
    with pytest.raises(ValidationError, match="变更原意见"):
        receive(world, pension, MATTER)


def test_it_refuses_years_later_and_for_the_household_but_not_a_neighbour_or_an_event(
    world: World, pension: Category, facilities: Category
) -> None:
    rereviewed(world, pension)
    with pytest.raises(ValidationError, match="不再受理"):
        receive(world, pension, MATTER, day="2031-06-01", channel="leader_day")
    with pytest.raises(ValidationError, match="不再受理"):
        receive(world, pension, MATTER, key="a1_1_ward")  # the same household
    assert receive(world, pension, MATTER, key="a1_2_head").pk  # another household: another petitioner
    assert receive(world, facilities, MATTER, key="", area=world.areas["grid_a1_1"]).pk  # a grid event


def test_it_matches_an_unregistered_petitioner_by_name_and_phone_or_place(world: World, pension: Category) -> None:
    rereviewed(
        world,
        pension,
        petitioners=[],
        contact_name="刘大爷",
        contact_phone="13512345678",
        address="3号楼",
        area=world.areas["grid_a1_1"],
    )
    grid = world.areas["grid_a1_1"]
    with pytest.raises(ValidationError, match="不再受理"):
        receive(world, pension, MATTER, key="", contact_name="刘大爷", contact_phone="13512345678", area=grid)
    with pytest.raises(ValidationError, match="不再受理"):
        receive(world, pension, MATTER, key="", contact_name="刘大爷", address="3号楼", area=grid)
    assert receive(world, pension, MATTER, key="", contact_name="刘大爷", area=grid).pk  # only a name
    assert receive(world, pension, MATTER, key="", contact_name="张阿姨", address="3号楼", area=grid).pk


def test_the_desk_shows_the_refusal_and_stores_nothing_then_takes_it_with_new_facts(
    world: World, client_for: Any, pension: Category
) -> None:
    earlier = rereviewed(world, pension)
    desk = client_for(Role.PETITION_OFFICE)
    writes = AuditEntry.objects.exclude(action=Action.VIEW)  # the picked resident's read is audited
    cases, steps, audits = Case.objects.count(), Step.objects.count(), writes.count()
    url = f"{reverse('cases:intake')}?resident={world.residents['a1_1_head'].pk}"
    form = {"channel": "walk_in", "category": pension.pk, "text": MATTER, "collective_count": 1}
    response = desk.post(url, form)
    page = response.content.decode()
    assert response.status_code == 400 and earlier.number in page and "第三十六条" in page
    assert 'name="new_facts"' in page
    assert (Case.objects.count(), Step.objects.count(), writes.count()) == (cases, steps, audits)
    response = desk.post(url, form | {"new_facts": "社保局2026年9月出台了欠费分期补缴的新政策"})
    assert response.status_code == 302, response.content.decode()[:2000]
    case = Case.objects.latest("pk")
    data = case.steps.get(kind=Step.Kind.RECEIVE).data
    assert data["after_rereview"] == earlier.pk and "分期补缴" in data["new_facts"]
    entry = AuditEntry.objects.filter(object_id=str(case.pk)).latest("pk")
    assert entry.detail["after_rereview"] == earlier.pk


def test_the_api_refuses_in_english_and_takes_it_with_new_facts(
    world: World, client_for: Any, pension: Category
) -> None:
    earlier = rereviewed(world, pension)
    api = client_for(Role.PETITION_OFFICE)
    body = {
        "category": pension.code,
        "text": MATTER,
        "channel": "phone",
        "petitioners": [world.residents["a1_1_head"].pk],
    }
    refused = api.post("/api/v1/cases/", body, content_type="application/json", HTTP_ACCEPT_LANGUAGE="en")
    assert refused.status_code == 400
    message = str(refused.json())
    assert earlier.number in message and "re-review" in message and "Article 36" in message, message
    taken = api.post("/api/v1/cases/", body | {"new_facts": "新的证据"}, content_type="application/json")
    assert taken.status_code == 201, taken.content


def test_a_public_report_of_the_matter_is_refused(world: World, pension: Category) -> None:
    rereviewed(
        world,
        pension,
        petitioners=[],
        contact_name="刘大爷",
        contact_phone="13512345678",
        area=world.areas["grid_a1_1"],
    )
    with pytest.raises(ValidationError, match="当面反映"):
        actions.case_report(
            category=pension,
            text=MATTER,
            channel="web",
            area=world.areas["grid_a1_1"],
            contact_name="刘大爷",
            contact_phone="13512345678",
        )
    assert Case.objects.count() == 1


def test_the_refusal_reads_in_english(world: World, pension: Category) -> None:
    rereviewed(world, pension)
    with translation.override("en"), pytest.raises(ValidationError, match="re-review") as refused:
        receive(world, pension, MATTER)
    assert "new facts" in refused.value.messages[0]
    assert Review.objects.filter(level=Review.Level.REREVIEW).count() == 1
