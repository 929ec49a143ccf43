"""Tasks from the special-group registers and the rentals: a follow-up due becomes a task only
for those the register's policy lets see it (others get no task and a 404), the reads are
audited with the purpose 工作清单, and a visit records the follow-up on the register; rental
inspections due and leases ending become tasks that close when the rental's page does the work."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.urls import reverse
from django.utils import timezone

from wangge.accounts.models import Role
from wangge.conftest import World
from wangge.core.models import AuditEntry
from wangge.groups import actions as group_actions
from wangge.groups.codes import ensure_defaults
from wangge.groups.models import FollowUp, Listing, Register
from wangge.registry import room_actions
from wangge.registry.models import Rental
from wangge.worklist import actions, queries
from wangge.worklist.models import Rule, Task, Visit

pytestmark = pytest.mark.django_db


def today() -> dt.date:
    return timezone.localdate()


def listed(world: World, code: str, *, due_in: int = 0, key: str = "a1_1_head") -> Listing:
    """A listing of ``world.residents[key]`` whose follow-up falls due ``due_in`` days from today."""
    ensure_defaults()
    register = Register.objects.get(code=code)
    listing = group_actions.listing_add(
        by=None,
        register=register,
        resident=world.residents[key],
        start=today() - dt.timedelta(days=register.follow_up_days - due_in),
    )
    assert listing.next_follow_up == today() + dt.timedelta(days=due_in)
    return listing


def worklist_reads(listing: Listing) -> list[AuditEntry]:
    return [
        entry
        for entry in AuditEntry.objects.filter(object_type="groups.listing", action="view")
        if entry.detail.get("purpose") == "worklist" and listing.pk in entry.detail.get("listings", [])
    ]


def test_a_follow_up_due_becomes_a_task_for_the_grid_worker_and_the_page_read_is_audited(
    world: World, client_for
) -> None:
    listing = listed(world, "released", due_in=2)
    summary = actions.generate(today=today())
    task = Task.objects.get(rule__code="group-follow-up")
    assert (task.listing_id, task.resident_id, task.due) == (listing.pk, listing.resident_id, listing.next_follow_up)
    assert task.household_id == world.households["grid_a1_1"].pk
    assert actions.generate(today=today()).created == 0 < summary.created

    page = client_for(Role.GRID_WORKER).get(reverse("worklist:today"))
    assert "列管对象到期随访" in page.content.decode()
    assert worklist_reads(listing), "the worklist's read of the listing is audited with its purpose"


def test_a_role_without_the_registers_policy_gets_no_task_and_a_404(world: World, client_for) -> None:
    listing = listed(world, "aids")  # district and community staff only, not grid workers
    actions.generate(today=today())
    task = Task.objects.get(listing=listing)
    worker = world.user(Role.GRID_WORKER)

    assert not queries.tasks_visible_to(worker).filter(pk=task.pk).exists()
    assert all(task.pk not in [t.pk for t in stop.tasks] for stop in queries.worklist(worker, today=today()))
    client = client_for(Role.GRID_WORKER)
    assert "列管对象到期随访" not in client.get(reverse("worklist:today")).content.decode()
    assert client.get(reverse("api-worklist-task", args=[task.pk])).status_code == 404
    assert task.pk not in [t["id"] for t in client.get(reverse("api-worklist-tasks")).json()["results"]]
    assert not worklist_reads(listing), "nothing was read, so nothing is audited as read"

    community = client_for(Role.COMMUNITY_STAFF)
    assert community.get(reverse("api-worklist-task", args=[task.pk])).status_code == 200
    assert worklist_reads(listing)


def test_a_register_made_invisible_after_generation_hides_its_tasks(world: World, client_for) -> None:
    listing = listed(world, "released")
    actions.generate(today=today())
    task = Task.objects.get(listing=listing)
    Register.objects.filter(code="released").update(viewer_roles=["district_admin"])
    assert client_for(Role.GRID_WORKER).get(reverse("api-worklist-task", args=[task.pk])).status_code == 404


def test_recording_the_visit_records_the_follow_up_on_the_register(world: World, client_for) -> None:
    listing = listed(world, "released")
    actions.generate(today=today())
    task = Task.objects.get(listing=listing)
    client = client_for(Role.GRID_WORKER)
    url = reverse("worklist:visit", args=[task.household_id])
    assert str(task.pk) in client.get(url).content.decode()
    response = client.post(
        url, {"client_id": str(uuid.uuid4()), "tasks": [task.pk], "kind": "home", "notes": "本人在家，已就业"}
    )
    assert response.status_code == 302
    task.refresh_from_db()
    listing.refresh_from_db()
    assert task.status == Task.Status.DONE
    follow_up = FollowUp.objects.get(listing=listing)
    worker = world.user(Role.GRID_WORKER)
    assert (follow_up.date, follow_up.finding, follow_up.by) == (today(), "本人在家，已就业", worker)
    assert listing.next_follow_up == today() + dt.timedelta(days=listing.follow_up_days)
    assert AuditEntry.objects.filter(object_type="groups.followup").exists()
    # The next period's task is made when it falls due, not again for this one.
    assert actions.generate(today=today()).created == 0


def test_a_follow_up_recorded_on_the_register_closes_the_task(world: World) -> None:
    listing = listed(world, "mental")
    actions.generate(today=today())
    group_actions.follow_up_record(by=None, listing=listing, date=today(), finding="病情稳定，按时服药")
    worker = world.user(Role.GRID_WORKER)
    # Hidden at once (the register no longer lists it as due), closed by the next generation.
    assert not [t for stop in queries.worklist(worker, today=today()) for t in stop.tasks if t.listing_id]
    assert actions.generate(today=today()).closed == 1
    assert Task.objects.get(listing=listing).status == Task.Status.LAPSED


def test_a_listing_due_beyond_the_week_makes_no_task_yet(world: World) -> None:
    listed(world, "released", due_in=8)
    actions.generate(today=today())
    assert not Task.objects.filter(rule__code="group-follow-up").exists()
    rule = Rule.objects.get(code="group-follow-up")
    assert actions.rule_preview(rule=rule, today=today() + dt.timedelta(days=1)) == {"tasks": 1, "grids": 1}


# --- rentals --------------------------------------------------------------------------------


def rental(world: World, *, inspection_in: int, ends_in: int) -> Rental:
    room, _created = room_actions.room_get_or_create(by=None, building=world.buildings["grid_a1_1"], number="302")
    made = room_actions.rental_register(
        by=None,
        room=room,
        start=today() - dt.timedelta(days=30),
        end=today() + dt.timedelta(days=ends_in),
        landlord=world.residents["a1_1_head"],
    )
    Rental.objects.filter(pk=made.pk).update(inspection_due=today() + dt.timedelta(days=inspection_in))
    made.refresh_from_db()
    return made


def test_an_inspection_due_and_a_lease_ending_become_tasks_on_the_walk(world: World, client_for) -> None:
    lease = rental(world, inspection_in=3, ends_in=5)
    actions.generate(today=today())
    tasks = {t.rule.code: t for t in Task.objects.filter(rental=lease).select_related("rule")}
    assert set(tasks) == {"rental-inspection", "lease-ending"}
    assert tasks["rental-inspection"].due == lease.inspection_due
    assert tasks["lease-ending"].due == lease.end
    assert tasks["lease-ending"].grid_id == world.areas["grid_a1_1"].pk
    assert actions.generate(today=today()).created == 0

    page = client_for(Role.GRID_WORKER).get(reverse("worklist:today")).content.decode()
    assert reverse("registry:rental", args=[lease.pk]) in page
    assert "出租房屋到期检查" in page and "出租房屋租期将满" in page


def test_a_rental_far_from_its_dates_makes_no_task_and_a_guardian_sees_none(world: World, client_for) -> None:
    far = rental(world, inspection_in=40, ends_in=200)
    actions.generate(today=today())
    assert not Task.objects.filter(rental=far).exists()
    Rental.objects.filter(pk=far.pk).update(inspection_due=today())
    actions.generate(today=today())
    task = Task.objects.get(rental=far)
    assert client_for(Role.GRID_WORKER).get(reverse("api-worklist-task", args=[task.pk])).status_code == 200
    guardian = world.user(Role.GRID_WORKER).__class__.objects.create_user(
        username="another-guardian", password="x-网格-2024", role=Role.GUARDIAN
    )
    assert not queries.tasks_visible_to(guardian).exists()


def test_an_inspection_recorded_on_the_rental_closes_its_task(world: World) -> None:
    lease = rental(world, inspection_in=0, ends_in=200)
    actions.generate(today=today())
    room_actions.rental_inspect(by=None, rental=lease, date=today(), findings="消防器材齐全")
    summary = actions.generate(today=today())
    assert summary.closed == 1
    assert Task.objects.get(rental=lease).status == Task.Status.LAPSED


def test_a_quick_visit_does_not_complete_a_rental_task(world: World, client_for) -> None:
    lease = rental(world, inspection_in=0, ends_in=200)
    household = world.households["grid_a1_1"]
    household.dwelling = lease.room
    household.save(update_fields=["dwelling"])
    actions.generate(today=today())
    task = Task.objects.get(rental=lease)
    assert task.household_id == household.pk
    actions.visit_record(by=world.user(Role.GRID_WORKER), household=household, client_id=uuid.uuid4(), tasks=[task])
    task.refresh_from_db()
    assert task.status == Task.Status.OPEN
    assert Visit.objects.count() == 1


def test_when_the_follow_up_cannot_be_audited_the_visit_is_not_stored(world: World, monkeypatch) -> None:
    from django.db import DatabaseError

    from wangge.groups import actions as groups_actions_module

    listing = listed(world, "released")
    actions.generate(today=today())
    task = Task.objects.get(listing=listing)

    def refuse(**kwargs: object) -> None:
        raise DatabaseError("audit log unavailable")

    monkeypatch.setattr(groups_actions_module, "audit", refuse)
    with pytest.raises(DatabaseError):
        actions.visit_record(
            by=world.user(Role.GRID_WORKER), household=task.household, client_id=uuid.uuid4(), tasks=[task]
        )
    task.refresh_from_db()
    assert task.status == Task.Status.OPEN
    assert not Visit.objects.exists() and not FollowUp.objects.exists()
