"""Escorted visits (领访/带访) scheduled and recorded; the petitioner's own rating on a one-time
link shown as a QR code and sent by SMS; 不满意 opening a review."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from wangge.accounts.models import Role
from wangge.cases import actions
from wangge.cases.models import Case, Category, EscortedVisit, Review, SatisfactionLink
from wangge.conftest import World
from wangge.protection.models import Notification

pytestmark = pytest.mark.django_db


def accepted(world: World, category: Category, *, replied: bool = False) -> Case:
    office = world.user(Role.PETITION_OFFICE)
    case = actions.case_receive(
        by=office,
        category=category,
        text="交不起养老保险欠费",
        channel="walk_in",
        petitioners=[world.residents["a1_1_head"]],
    )
    case = actions.case_accept(case=case, by=office)
    if replied:
        actions.visit_record(case=case, by=world.user(Role.GRID_WORKER), met="本人", found="低保户")
        case = actions.reply_write(case=case, by=office, text="答复")
    return case


def test_it_schedules_and_records_an_escorted_visit_through_the_case_page(
    world: World, client_for: Any, pension: Category
) -> None:
    case = accepted(world, pension)
    office = client_for(Role.PETITION_OFFICE)
    tomorrow = timezone.localdate() + dt.timedelta(days=1)
    response = office.post(
        reverse("cases:flow_step", args=[case.pk, "escort_schedule"]),
        {"leader": "区长 张明", "date": tomorrow.isoformat(), "note": "到人社局"},
    )
    assert response.status_code == 302
    escort = EscortedVisit.objects.get(case=case)
    assert (escort.leader, escort.scheduled_for, escort.went_on) == ("区长 张明", tomorrow, None)
    worker = client_for(Role.GRID_WORKER)
    page = worker.get(reverse("cases:detail", args=[case.pk])).content.decode()
    assert "待领访" in page and 'id="flow-escort_record"' in page
    future = worker.post(
        reverse("cases:flow_step", args=[case.pk, "escort_record"]),
        {
            "escort": escort.pk,
            "went_on": (tomorrow + dt.timedelta(days=1)).isoformat(),
            "attendees": "张明",
            "outcome": "x",
        },
    )
    assert future.status_code == 400 and "不能晚于今天" in future.content.decode()
    done = worker.post(
        reverse("cases:flow_step", args=[case.pk, "escort_record"]),
        {
            "escort": escort.pk,
            "went_on": timezone.localdate().isoformat(),
            "attendees": "区长张明、网格员、信访人王建国",
            "outcome": "人社局当场答复可经社会救助补缴欠费",
        },
    )
    assert done.status_code == 302
    escort.refresh_from_db()
    assert escort.went_on == timezone.localdate() and "王建国" in escort.attendees
    kinds = list(case.steps.values_list("kind", flat=True))
    assert kinds[-2:] == ["escort_schedule", "escort_record"]
    with pytest.raises(ValidationError):
        actions.escort_record(
            escort=escort, by=world.user(Role.GRID_WORKER), went_on=escort.went_on, attendees="a", outcome="b"
        )


def test_it_refuses_an_escorted_visit_from_another_case(world: World, client_for: Any, pension: Category) -> None:
    mine, other = accepted(world, pension), accepted(world, pension)
    escort = actions.escort_schedule(
        case=other, by=world.user(Role.PETITION_OFFICE), leader="副区长", date=timezone.localdate()
    )
    response = client_for(Role.PETITION_OFFICE).post(
        reverse("cases:flow_step", args=[mine.pk, "escort_record"]),
        {"escort": escort.pk, "went_on": timezone.localdate().isoformat(), "attendees": "a", "outcome": "b"},
    )
    assert response.status_code == 404


def link_from(response: Any) -> str:
    match = re.search(r'href="(https?://[^"]+/s/[^"]+/)"', response.content.decode())
    assert match, "the page shows the link once"
    return match.group(1)


def test_it_collects_satisfaction_once_by_a_link_sent_by_sms_and_shown_as_a_qr_code(
    world: World, client_for: Any, pension: Category
) -> None:
    case = accepted(world, pension, replied=True)
    office = world.user(Role.PETITION_OFFICE)
    actions.resolution_record(case=case, by=office, resolution="solved", done="社会救助补缴欠费", cost_yuan=30000)
    worker = client_for(Role.GRID_WORKER)
    shown = worker.post(reverse("cases:flow_step", args=[case.pk, "satisfaction_link"]), {"send_sms": "on"})
    assert shown.status_code == 200 and "<svg" in shown.content.decode()
    url = link_from(shown)
    sms = Notification.objects.get(channel="sms")
    assert sms.address == world.residents["a1_1_head"].phone and url in sms.payload["body"]
    link = SatisfactionLink.objects.get(case=case)
    assert url.rsplit("/", 2)[-2] not in link.digest  # only the digest is kept
    path = url.split("testserver", 1)[1]
    resident = Client()  # not signed in
    page = resident.get(path)
    assert page.status_code == 200 and "满意度评价" in page.content.decode()
    assert "交不起" not in page.content.decode()  # the petition's text is not on the public page
    assert resident.post(path, {"satisfaction": "satisfied", "note": "谢谢"}).status_code == 200
    case.refresh_from_db()
    assert case.satisfaction == "satisfied"
    assert case.steps.filter(kind="satisfaction", data__via="link").count() == 1
    again = resident.post(path, {"satisfaction": "dissatisfied"})
    assert "已经评价过了" in again.content.decode()
    case.refresh_from_db()
    assert case.satisfaction == "satisfied"


def test_it_opens_a_review_when_the_petitioner_is_dissatisfied_and_asks_for_one(
    world: World, pension: Category
) -> None:
    case = accepted(world, pension, replied=True)
    office = world.user(Role.PETITION_OFFICE)
    actions.resolution_record(case=case, by=office, resolution="not_solved", done="已解释政策")
    _link, url = actions.satisfaction_link_create(case=case, by=office, base_url="https://wangge.example")
    path = url.removeprefix("https://wangge.example")
    response = Client().post(path, {"satisfaction": "dissatisfied", "note": "问题没解决", "want_review": "on"})
    assert response.status_code == 200
    review = Review.objects.get(case=case)
    assert review.level == "review" and review.reason == "问题没解决"


def test_it_404s_an_unknown_revoked_or_expired_link(world: World, pension: Category) -> None:
    case = accepted(world, pension)
    office = world.user(Role.PETITION_OFFICE)
    actions.resolution_record(case=case, by=office, resolution="solved", done="已修")
    _old, old_url = actions.satisfaction_link_create(case=case, by=office, base_url="http://x")
    _new, new_url = actions.satisfaction_link_create(case=case, by=office, base_url="http://x")
    client = Client()
    assert client.get(old_url.removeprefix("http://x")).status_code == 404  # a newer link revokes it
    assert client.get("/s/not-a-token/").status_code == 404
    assert client.get(new_url.removeprefix("http://x")).status_code == 200
    SatisfactionLink.objects.filter(revoked_at__isnull=True).update(expires_at=timezone.now())
    assert client.get(new_url.removeprefix("http://x")).status_code == 404


def test_it_needs_a_resolution_and_a_phone_for_a_link(world: World, pension: Category, facilities: Category) -> None:
    office = world.user(Role.PETITION_OFFICE)
    case = accepted(world, pension)
    with pytest.raises(ValidationError, match="尚未登记问题解决情况"):
        actions.satisfaction_link_create(case=case, by=office, base_url="http://x")
    event = actions.case_receive(
        by=office, category=facilities, text="灯坏了", channel="phone", area=world.areas["grid_a1_1"]
    )
    actions.case_accept(case=event, by=office)
    actions.resolution_record(case=event, by=office, resolution="solved", done="已修")
    with pytest.raises(ValidationError, match="没有反映人的手机号"):
        actions.satisfaction_link_create(case=event, by=office, base_url="http://x", send_sms=True)
    assert not SatisfactionLink.objects.exists() and not Notification.objects.exists()
