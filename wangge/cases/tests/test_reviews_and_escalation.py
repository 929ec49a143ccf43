"""Review (复查) and re-review (复核) with their windows and answer clocks, nothing after a
re-review, and escalation (督办) of a missed deadline to the supervisors, once, with a
notification: by the worker's job and by ``wangge cases_escalate``."""

from __future__ import annotations

import datetime as dt
import json
from io import StringIO
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.urls import reverse

from wangge.accounts.models import Role
from wangge.cases import actions, queries
from wangge.cases.models import Case, Category, Escalation, Review
from wangge.conftest import World
from wangge.core import periodic
from wangge.protection.models import Notification

pytestmark = pytest.mark.django_db
TZ = ZoneInfo("Asia/Shanghai")


def at(day: str, time: str = "10:00") -> dt.datetime:
    return dt.datetime.fromisoformat(f"{day}T{time}").replace(tzinfo=TZ)


def answered_petition(world: World, category: Category, *, replied: dt.datetime) -> Case:
    office = world.user(Role.PETITION_OFFICE)
    start = replied - dt.timedelta(days=20)
    case = actions.case_receive(
        by=office,
        category=category,
        text="养老金问题",
        channel="walk_in",
        petitioners=[world.residents["a1_1_head"]],
        now=start,
    )
    actions.case_accept(case=case, by=office, now=start)
    actions.visit_exempt(case=case, by=office, reason="信访人拒绝入户", now=start)
    return actions.reply_write(case=case, by=office, text="答复意见", now=replied)


def test_it_takes_a_review_within_thirty_days_of_the_reply_and_not_on_day_thirty_one(
    world: World, pension: Category
) -> None:
    office = world.user(Role.PETITION_OFFICE)
    late = answered_petition(world, pension, replied=at("2026-06-30", "15:00"))
    with pytest.raises(ValidationError, match="申请期限已过"):
        actions.review_request(
            case=late, by=office, reason="不服", requested_at=at("2026-07-31", "00:00"), now=at("2026-08-02")
        )
    review = actions.review_request(
        case=late, by=office, reason="不服", requested_at=at("2026-07-30", "23:59"), now=at("2026-08-02")
    )
    assert review.level == Review.Level.REVIEW
    assert review.answer_due == at("2026-08-30", "00:00")  # day 30 after the request is 29 August
    assert queries.clock_of(late, review=review, now=at("2026-08-29", "23:59")).phase == "review"
    assert queries.clock_of(late, review=review, now=at("2026-08-30", "00:00")).overdue
    assert late in queries.overdue(office, now=at("2026-08-30", "00:00"))
    assert late in queries.due_soon(office, now=at("2026-08-28"))


def test_it_allows_a_re_review_after_the_review_and_nothing_after_that(
    world: World, client_for: Any, pension: Category
) -> None:
    office = world.user(Role.PETITION_OFFICE)
    case = answered_petition(world, pension, replied=at("2026-03-01"))
    with pytest.raises(ValidationError, match="没有待答复"):
        actions.review_answer(case=case, by=office, outcome="upheld", answer="维持", now=at("2026-03-05"))
    actions.review_request(case=case, by=office, reason="不服", now=at("2026-03-10"))
    with pytest.raises(ValidationError, match="复查尚未答复"):
        actions.review_request(case=case, by=office, reason="再申请", now=at("2026-03-11"))
    actions.review_answer(case=case, by=office, outcome="upheld", answer="维持原意见", now=at("2026-04-01"))
    with pytest.raises(ValidationError, match="申请期限已过"):
        actions.review_request(case=case, by=office, reason="复核", now=at("2026-05-02"))
    rereview = actions.review_request(case=case, by=office, reason="申请复核", now=at("2026-05-01", "23:00"))
    assert rereview.level == Review.Level.REREVIEW
    assert rereview.answer_due == at("2026-06-01", "00:00")
    actions.review_answer(case=case, by=office, outcome="changed", answer="部分支持", now=at("2026-05-20"))
    assert queries.is_final(case)
    with pytest.raises(ValidationError, match="不再受理"):
        actions.review_request(case=case, by=office, reason="还不服", now=at("2026-05-21"))
    kinds = list(case.steps.values_list("kind", flat=True))
    assert kinds[-4:] == ["review_request", "review_answer", "rereview_request", "rereview_answer"]
    page = client_for(Role.PETITION_OFFICE).get(reverse("cases:detail", args=[case.pk])).content.decode()
    assert "同一事项" in page and 'id="flow-review_request"' not in page


def test_it_refuses_a_review_of_an_event_or_of_an_unanswered_petition(
    world: World, pension: Category, facilities: Category
) -> None:
    office = world.user(Role.PETITION_OFFICE)
    case = actions.case_receive(
        by=office, category=pension, text="求助", channel="phone", petitioners=[world.residents["a1_1_head"]]
    )
    actions.case_accept(case=case, by=office)
    with pytest.raises(ValidationError, match="尚未书面答复"):
        actions.review_request(case=case, by=office, reason="不服")
    event = actions.case_receive(
        by=office, category=facilities, text="灯坏了", channel="phone", area=world.areas["grid_a1_1"]
    )
    with pytest.raises(ValidationError, match="只有信访"):
        actions.review_request(case=event, by=office, reason="不服")
    assert not Review.objects.exists()


def test_it_records_a_review_request_through_the_case_page(world: World, client_for: Any, pension: Category) -> None:
    case = answered_petition(world, pension, replied=dt.datetime.now(TZ) - dt.timedelta(days=2))
    client = client_for(Role.GRID_WORKER)
    assert 'id="flow-review_request"' in client.get(reverse("cases:detail", args=[case.pk])).content.decode()
    response = client.post(reverse("cases:flow_step", args=[case.pk, "review_request"]), {"reason": "对答复不服"})
    assert response.status_code == 302
    review = Review.objects.get(case=case)
    assert review.reason == "对答复不服"
    # The grid worker may not answer it; the petition office may.
    answer = {"outcome": "upheld", "answer": "维持"}
    assert client.post(reverse("cases:flow_step", args=[case.pk, "review_answer"]), answer).status_code == 403
    office = client_for(Role.PETITION_OFFICE)
    assert office.post(reverse("cases:flow_step", args=[case.pk, "review_answer"]), answer).status_code == 302
    review.refresh_from_db()
    assert review.answered_at is not None and review.outcome == "upheld"


def overdue_cases(world: World, pension: Category, facilities: Category) -> tuple[Case, Case]:
    office = world.user(Role.PETITION_OFFICE)
    undecided = actions.case_receive(
        by=office,
        category=pension,
        text="无人受理",
        channel="phone",
        petitioners=[world.residents["a1_1_head"]],
        now=at("2026-03-01"),
    )
    event = actions.case_receive(
        by=office,
        category=facilities,
        text="灯坏了",
        channel="phone",
        area=world.areas["grid_a1_1"],
        now=at("2026-03-20"),
    )
    actions.case_accept(case=event, by=office, now=at("2026-03-20", "11:00"))
    return undecided, event


def test_it_escalates_a_missed_deadline_once_to_the_supervisors_with_a_notification(
    world: World, client_for: Any, pension: Category, facilities: Category
) -> None:
    undecided, event = overdue_cases(world, pension, facilities)
    supervisor = world.user(Role.PETITION_OFFICE)
    supervisor.phone = "13900001234"
    supervisor.save(update_fields=["phone"])
    assert actions.cases_escalate(now=at("2026-03-16", "23:59")) == []  # day 15 is not over
    made = actions.cases_escalate(now=at("2026-03-28"))  # the event's 7 days ran out on the 27th
    assert {(e.case_id, e.phase) for e in made} == {(undecided.pk, "accept"), (event.pk, "handle")}
    assert actions.cases_escalate(now=at("2026-03-29")) == []  # once per deadline
    notes = Notification.objects.filter(recipient=supervisor)
    assert set(notes.values_list("channel", flat=True)) == {"in_app", "sms"}
    title = notes.filter(channel="in_app", payload__url=reverse("cases:detail", args=[undecided.pk])).get().payload
    assert "督办" in title["title"] and undecided.number in title["title"]
    assert undecided.steps.filter(kind="escalate").count() == 1
    assert (
        "已督办" in client_for(Role.PETITION_OFFICE).get(reverse("cases:detail", args=[undecided.pk])).content.decode()
    )
    # Accepted at last: its handling deadline, when missed, is escalated afresh.
    actions.case_accept(case=undecided, by=supervisor, now=at("2026-03-29"))
    again = actions.cases_escalate(now=at("2026-06-01"))
    assert [(e.case_id, e.phase) for e in again] == [(undecided.pk, "handle")]


def test_it_escalates_an_unanswered_review(world: World, pension: Category) -> None:
    office = world.user(Role.PETITION_OFFICE)
    case = answered_petition(world, pension, replied=at("2026-03-01"))
    actions.review_request(case=case, by=office, reason="不服", now=at("2026-03-10"))
    assert [e.phase for e in actions.cases_escalate(now=at("2026-04-11"))] == ["review"]


def test_it_escalates_from_the_worker_job_and_the_command(
    world: World, pension: Category, facilities: Category
) -> None:
    overdue_cases(world, pension, facilities)
    job = periodic.registered_jobs()["cases.escalate"]
    assert job.every == actions.ESCALATE_EVERY
    assert job.run(at("2026-03-17")) == 1  # the undecided petition; the event is not late yet
    out = StringIO()
    call_command("cases_escalate", stdout=out)  # now: the event is long overdue
    assert json.loads(out.getvalue().splitlines()[-1]) == {"escalated": 1}
    assert Escalation.objects.count() == 2


def test_it_rolls_back_an_escalation_when_its_audit_fails(
    world: World, pension: Category, facilities: Category, monkeypatch: pytest.MonkeyPatch
) -> None:
    from django.db import DatabaseError

    from wangge.core.models import AuditEntry

    overdue_cases(world, pension, facilities)

    def refuse(**kwargs: Any) -> None:
        raise DatabaseError("audit log unavailable")

    monkeypatch.setattr(AuditEntry.objects, "create", refuse)
    with pytest.raises(DatabaseError):
        actions.cases_escalate(now=at("2026-03-28"))
    assert not Escalation.objects.exists()
    assert not Notification.objects.exists()
