"""Special groups and key youth: each register's policy, scope, audited reads with a purpose,
follow-ups falling due, and the facts the actions refuse."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import DatabaseError
from django.http import Http404
from django.utils import timezone

from wangge.accounts.models import Role
from wangge.conftest import World
from wangge.core.models import AuditEntry
from wangge.groups import actions, queries
from wangge.groups.codes import ensure_defaults
from wangge.groups.models import FollowUp, Listing, Register

pytestmark = pytest.mark.django_db


def today() -> dt.date:
    return timezone.localdate()


def register(code: str) -> Register:
    ensure_defaults()
    return Register.objects.get(code=code)


def listed(world: World, key: str, code: str, **kw: Any) -> Listing:
    return actions.listing_add(
        by=None, register=register(code), resident=world.residents[key], start=today() - dt.timedelta(days=40), **kw
    )


def test_it_ships_five_special_groups_and_five_classes_of_key_youth() -> None:
    ensure_defaults()
    kinds = list(Register.objects.values_list("kind", flat=True))
    assert kinds.count("special") == 5
    assert kinds.count("key_youth") == 5


def test_a_listing_is_due_one_period_after_it_starts_and_a_follow_up_moves_it(world: World) -> None:
    listing = listed(world, "a1_1_head", "released", release_date=today() - dt.timedelta(days=60))
    assert listing.next_follow_up == listing.start + dt.timedelta(days=30)
    assert listing.grid_id == world.residents["a1_1_head"].grid_id
    actions.follow_up_record(by=None, listing=listing, date=today(), finding="已在物业公司就业，情况稳定")
    listing.refresh_from_db()
    assert listing.next_follow_up == today() + dt.timedelta(days=30)
    assert listing.last_follow_up == today()


def test_the_due_list_holds_the_person_due_today_and_not_the_one_due_tomorrow(world: World) -> None:
    worker = world.user(Role.GRID_WORKER)
    due_today = listed(world, "a1_1_head", "mental", risk_level=2, guardian_name="王丽")
    due_tomorrow = listed(world, "a1_1_ward", "mental", risk_level=0)
    Listing.objects.filter(pk=due_today.pk).update(next_follow_up=today())
    Listing.objects.filter(pk=due_tomorrow.pk).update(next_follow_up=today() + dt.timedelta(days=1))
    due = queries.listings_due(worker, on=today())
    assert [listing.pk for listing in due] == [due_today.pk]
    assert [listing.pk for listing in queries.listings_due(worker, on=today(), within_days=1)] == [
        due_today.pk,
        due_tomorrow.pk,
    ]


def test_a_role_outside_a_registers_policy_cannot_learn_that_anyone_is_on_it(world: World) -> None:
    aids = listed(world, "a1_1_head", "aids")
    drugs = listed(world, "a1_1_ward", "drugs")
    worker = world.user(Role.GRID_WORKER)  # in scope, but 艾滋病危险人员 is for district and community staff
    with pytest.raises(Http404):
        queries.get_listing(worker, aids.pk, purpose="check")
    assert [x.pk for x in queries.listings_for(worker, purpose="follow_up")] == [drugs.pk]
    assert "aids" not in queries.counts(worker, on=today())
    assert queries.counts(worker, on=today())["drugs"]["listed"] == 1
    assert "aids" not in {r.code for r in queries.registers_visible_to(worker)}

    community = world.user(Role.COMMUNITY_STAFF)
    assert queries.get_listing(community, aids.pk, purpose="check") == aids
    assert queries.counts(community, on=today())["aids"]["listed"] == 1

    for role in (Role.DEPARTMENT, Role.GUARDIAN, Role.AUDITOR, Role.PETITION_OFFICE):
        with pytest.raises(Http404):
            queries.get_listing(world.user(role), drugs.pk, purpose="check")
        assert queries.counts(world.user(role), on=today()) == {}


def test_a_worker_of_the_neighbouring_grid_cannot_read_a_listing(world: World) -> None:
    theirs = listed(world, "a1_2_head", "correction", office="友好司法所", period_end=today() + dt.timedelta(days=200))
    worker = world.user(Role.GRID_WORKER)
    with pytest.raises(Http404):
        queries.get_listing(worker, theirs.pk, purpose="follow_up")
    assert queries.listings_for(worker, purpose="follow_up") == []
    assert queries.counts(worker, on=today()) == {}


def test_every_read_is_audited_with_its_purpose(world: World) -> None:
    listing = listed(world, "a1_1_head", "released")
    worker = world.user(Role.GRID_WORKER)
    queries.get_listing(worker, listing.pk, purpose="follow_up")
    entry = AuditEntry.objects.filter(action="view", object_type="groups.listing").latest("id")
    assert entry.actor == worker
    assert entry.detail["purpose"] == "follow_up"
    assert entry.detail["listings"] == [listing.pk]
    assert "随访帮教" in entry.summary
    queries.listings_due(worker, on=today() + dt.timedelta(days=60))
    entry = AuditEntry.objects.filter(action="view", object_type="groups.listing").latest("id")
    assert entry.detail["purpose"] == "worklist"
    with pytest.raises(ValueError):
        queries.listings_for(worker, purpose="curiosity")


def test_it_shows_nothing_when_the_read_cannot_be_audited(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    listing = listed(world, "a1_1_head", "released")

    def refuse(**kwargs: Any) -> None:
        raise DatabaseError("audit log unavailable")

    monkeypatch.setattr(AuditEntry.objects, "create", refuse)
    with pytest.raises(DatabaseError):
        queries.get_listing(world.user(Role.GRID_WORKER), listing.pk, purpose="check")


def test_it_rolls_back_a_follow_up_when_the_audit_entry_fails(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    listing = listed(world, "a1_1_head", "released")

    def refuse(**kwargs: Any) -> None:
        raise DatabaseError("audit log unavailable")

    monkeypatch.setattr(AuditEntry.objects, "create", refuse)
    with pytest.raises(DatabaseError):
        actions.follow_up_record(by=world.user(Role.GRID_WORKER), listing=listing, date=today(), finding="正常")
    assert not FollowUp.objects.exists()
    listing.refresh_from_db()
    assert listing.last_follow_up is None


def test_the_risk_level_is_graded_0_to_5(world: World) -> None:
    assert listed(world, "a1_1_head", "mental", risk_level=5).risk_level == 5
    with pytest.raises(ValidationError) as error:
        listed(world, "a1_1_ward", "mental", risk_level=6)
    assert "risk_level" in error.value.message_dict


def test_a_person_is_on_a_register_once_until_taken_off(world: World) -> None:
    first = listed(world, "a1_1_head", "drugs")
    with pytest.raises(ValidationError):
        listed(world, "a1_1_head", "drugs")
    actions.listing_end(by=None, listing=first, date=today(), reason="戒断三年未复吸，解除列管")
    again = listed(world, "a1_1_head", "drugs")
    assert again.pk != first.pk
    with pytest.raises(ValidationError):
        actions.follow_up_record(by=None, listing=first, date=today(), finding="x")


def test_a_follow_up_cannot_be_in_the_future_or_set_its_next_date_before_itself(world: World) -> None:
    listing = listed(world, "a1_1_head", "youth_idle")
    with pytest.raises(ValidationError):
        actions.follow_up_record(by=None, listing=listing, date=today() + dt.timedelta(days=1), finding="x")
    with pytest.raises(ValidationError):
        actions.follow_up_record(by=None, listing=listing, date=today(), finding="x", next_date=today())
    assert not FollowUp.objects.exists()


def test_a_district_admin_edits_a_registers_viewers_in_the_admin_and_bad_roles_are_refused(
    world: World, client_for: Any
) -> None:
    ensure_defaults()
    admin = client_for(Role.DISTRICT_ADMIN)
    aids = Register.objects.get(code="aids")
    page = admin.get(f"/admin/groups/register/{aids.pk}/change/")
    assert page.status_code == 200
    bad = Register(code="x", name="某名册", viewer_roles=["janitor"])
    with pytest.raises(ValidationError):
        bad.full_clean()


def test_the_follow_up_page_lists_who_is_due_on_the_registers_the_worker_may_see(world: World, client_for: Any) -> None:
    released = listed(world, "a1_1_head", "released")
    hidden = listed(world, "a1_1_ward", "aids")
    Listing.objects.update(next_follow_up=today())
    worker = client_for(Role.GRID_WORKER)
    page = worker.get("/groups/")
    assert page.status_code == 200
    html = page.content.decode()
    assert f"/groups/listings/{released.pk}/" in html
    assert f"/groups/listings/{hidden.pk}/" not in html
    assert "艾滋病" not in html
    assert worker.get(f"/groups/listings/{hidden.pk}/").status_code == 404
    assert client_for(Role.DEPARTMENT).get("/groups/").status_code == 404
    entry = AuditEntry.objects.filter(object_type="groups.listing", action="view").latest("id")
    assert entry.detail["purpose"] == "follow_up"


def test_a_worker_records_a_follow_up_on_the_page(world: World, client_for: Any) -> None:
    listing = listed(world, "a1_1_head", "correction", office="友好司法所")
    worker = client_for(Role.GRID_WORKER)
    response = worker.post(
        f"/groups/listings/{listing.pk}/follow-up/", {"date": today().isoformat(), "finding": "按时报到，表现良好"}
    )
    assert response.status_code == 302
    listing.refresh_from_db()
    assert listing.next_follow_up == today() + dt.timedelta(days=14)
    assert "按时报到" in worker.get(f"/groups/listings/{listing.pk}/").content.decode()
    bad = worker.post(f"/groups/listings/{listing.pk}/follow-up/", {"date": today().isoformat(), "finding": ""})
    assert bad.status_code == 400


def test_the_api_asks_every_read_for_its_purpose_and_hides_what_the_role_may_not_see(
    world: World, client_for: Any
) -> None:
    released = listed(world, "a1_1_head", "released")
    hidden = listed(world, "a1_1_ward", "aids")
    Listing.objects.update(next_follow_up=today())
    worker = client_for(Role.GRID_WORKER)
    assert worker.get("/api/v1/group-listings/").status_code == 400  # no purpose
    body = worker.get("/api/v1/group-listings/?purpose=worklist&due=0").json()
    assert [row["id"] for row in body] == [released.pk]
    assert worker.get(f"/api/v1/group-listings/{hidden.pk}/?purpose=check").status_code == 404
    detail = worker.get(f"/api/v1/group-listings/{released.pk}/?purpose=check").json()
    assert detail["register"] == "released"
    entry = AuditEntry.objects.filter(object_type="groups.listing", action="view").latest("id")
    assert entry.detail == {"purpose": "check", "listings": [released.pk], "count": 1}

    response = worker.post(
        f"/api/v1/group-listings/{released.pk}/follow-ups/",
        {"date": today().isoformat(), "finding": "在社区公益岗位工作"},
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    assert client_for(Role.DEPARTMENT).get("/api/v1/group-listings/?purpose=check").json() == []


def test_registers_passed_in_are_checked_against_the_policy_again(world: World) -> None:
    aids = listed(world, "a1_1_head", "aids")
    worker = world.user(Role.GRID_WORKER)
    on = aids.next_follow_up
    everything = list(Register.objects.all())  # as if a caller passed registers it did not filter
    assert queries.listings_due(worker, on=on, registers=everything) == []
    community = world.user(Role.COMMUNITY_STAFF)
    assert queries.listings_due(community, on=on, registers=everything) == [aids]
