"""The demo's cases carry what the follow-up pages show: field reports with photos, a review
answered and a re-review under way, escorted visits, a satisfaction link, repeat and
cross-level marks, and the escalation of overdue cases."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.test import override_settings
from django.urls import reverse

from wangge.accounts.models import User
from wangge.cases import photos as case_photos
from wangge.cases import stats
from wangge.cases.models import (
    Case,
    CasePhoto,
    CrossLevelMark,
    Escalation,
    EscortedVisit,
    RepeatMark,
    Review,
    SatisfactionLink,
    Step,
)
from wangge.core.models import AuditEntry
from wangge.demo import accounts as demo_accounts
from wangge.demo.build import build, wipe
from wangge.protection.models import Notification

FAST_HASHER = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(scope="module")
def demo(django_db_setup: Any, django_db_blocker: Any) -> Iterator[Any]:
    with django_db_blocker.unblock(), override_settings(PASSWORD_HASHERS=FAST_HASHER):
        last_audit = AuditEntry.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        summary = build(residents=2000, seed=3)
        yield summary
        files = [name for pair in CasePhoto.objects.values_list("path", "thumb_path") for name in pair]
        wipe()
        assert files and not any(case_photos.absolute(name).exists() for name in files)
        AuditEntry.objects.filter(pk__gt=last_audit).delete()
        User.objects.filter(username__in=list(demo_accounts.SHOWCASE)).delete()
        User.objects.filter(username__startswith=demo_accounts.GRID_WORKER_PREFIX).delete()


@pytest.mark.django_db
def test_the_demo_grid_worker_has_field_reports_with_photos_shown_on_the_case_page(demo: Any, client: Any) -> None:
    worker = User.objects.get(username="demo-grid")
    photos = CasePhoto.objects.filter(case__channel=Case.Channel.FIELD, case__grid__assignments__user=worker)
    assert photos.count() == demo.cases.photos >= 3
    for photo in photos:
        assert case_photos.absolute(photo.path).exists() and case_photos.absolute(photo.thumb_path).exists()
        assert photo.case.steps.filter(kind=Step.Kind.PHOTO).exists()
    photo = photos.first()
    assert photo is not None
    client.force_login(worker)
    page = client.get(reverse("cases:detail", args=[photo.case_id])).content.decode()
    assert reverse("cases:photo_thumb", args=[photo.case_id, photo.pk]) in page
    thumb = client.get(reverse("cases:photo_thumb", args=[photo.case_id, photo.pk]))
    assert thumb.status_code == 200 and thumb["Content-Type"] == "image/jpeg"


@pytest.mark.django_db
def test_the_demo_has_a_review_answered_and_a_re_review_under_way(demo: Any) -> None:
    review = Review.objects.get(level=Review.Level.REVIEW)
    rereview = Review.objects.get(level=Review.Level.REREVIEW)
    assert review.case_id == rereview.case_id
    assert review.answered_at is not None and review.outcome == "upheld"
    assert rereview.answered_at is None and rereview.requested_at > review.answered_at


@pytest.mark.django_db
def test_the_demo_has_an_escorted_visit_recorded_and_one_scheduled(demo: Any) -> None:
    assert EscortedVisit.objects.filter(went_on__isnull=False).count() == 1
    assert EscortedVisit.objects.filter(went_on__isnull=True).count() == 1


@pytest.mark.django_db
def test_the_demo_has_a_satisfaction_link_and_escalations_of_overdue_cases(demo: Any) -> None:
    assert SatisfactionLink.objects.filter(used_at__isnull=True, revoked_at__isnull=True).count() == 1
    assert Escalation.objects.count() == demo.cases.escalations >= 1
    assert Step.objects.filter(kind=Step.Kind.ESCALATE).count() == demo.cases.escalations
    supervisor = User.objects.get(username="demo-petition")
    notified = Notification.objects.filter(recipient=supervisor, payload__title__startswith="督办")
    assert notified.filter(channel=Notification.Channel.IN_APP).count() == demo.cases.escalations
    assert not notified.exclude(channel=Notification.Channel.IN_APP).exists()  # invented phones


@pytest.mark.django_db
def test_the_demo_marks_repeats_and_a_cross_level_petition_that_the_statistics_count(demo: Any, client: Any) -> None:
    marks = RepeatMark.objects.select_related("case", "earlier")
    assert marks.count() == demo.cases.repeats >= 2
    for mark in marks:
        assert set(mark.case.petitioners.all()) == set(mark.earlier.petitioners.all())
        assert mark.case.steps.filter(kind=Step.Kind.REPEAT).exists()
    assert CrossLevelMark.objects.count() == demo.cases.cross_level == 1
    figures = stats.figures(user=None)
    assert figures["repeats"] == marks.count() and figures["cross_level"] == 1
    client.force_login(User.objects.get(username="demo-petition"))
    marked = marks.first()
    assert marked is not None
    page = client.get(reverse("cases:detail", args=[marked.case_id])).content.decode()
    assert f"重复访：前次案件 {marked.earlier.number}" in page
    assert client.get(reverse("cases:repeats", args=[marked.case_id])).status_code == 200


@pytest.mark.django_db
def test_the_demo_statistics_page_renders_for_the_district_admin(demo: Any, client: Any) -> None:
    client.force_login(User.objects.get(username="demo-district"))
    response = client.get(reverse("cases:stats"))
    assert response.status_code == 200
