"""The background task queue: enqueue (audited), claim with a lease, progress, result, the page."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import DatabaseError
from django.test import Client
from django.utils import timezone

from wangge.accounts.models import Role
from wangge.conftest import World
from wangge.core import tasks
from wangge.core.models import AuditEntry, Task


@tasks.task_handler("test.count")
def count_to(context: tasks.TaskContext) -> dict[str, Any]:
    upto = int(context.args["upto"])
    for step in range(upto):
        context.progress(100 * step // upto, f"{step} of {upto}")
    return {"counted": upto}


@tasks.task_handler("test.broken")
def broken(context: tasks.TaskContext) -> dict[str, Any]:
    raise RuntimeError("the file is not a spreadsheet")


def test_it_runs_a_queued_task_and_keeps_its_result(world: World) -> None:
    user = world.user(Role.COMMUNITY_STAFF)
    task = tasks.task_enqueue(kind="test.count", args={"upto": 4}, by=user)
    assert task.status == Task.Status.QUEUED
    assert tasks.run_queued(worker="w1") == 1
    task.refresh_from_db()
    assert (task.status, task.progress, task.result, task.claimed_by) == (Task.Status.DONE, 100, {"counted": 4}, "w1")
    assert task.started_at is not None and task.finished_at is not None


def test_it_audits_the_enqueueing(world: World) -> None:
    user = world.user(Role.COMMUNITY_STAFF)
    task = tasks.task_enqueue(kind="test.count", args={"upto": 1}, by=user)
    entry = AuditEntry.objects.get(object_type="core.task", object_id=str(task.pk))
    assert (entry.actor, entry.action) == (user, AuditEntry.Action.CREATE)


def test_it_queues_nothing_when_the_audit_entry_fails(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(**kwargs: Any) -> None:
        raise DatabaseError("audit log unavailable")

    monkeypatch.setattr(AuditEntry.objects, "create", refuse)
    with pytest.raises(DatabaseError):
        tasks.task_enqueue(kind="test.count", args={"upto": 1}, by=world.user(Role.COMMUNITY_STAFF))
    assert not Task.objects.exists()


def test_it_refuses_a_kind_nobody_handles(world: World) -> None:
    with pytest.raises(ValueError, match="no handler"):
        tasks.task_enqueue(kind="test.nobody", by=world.user(Role.COMMUNITY_STAFF))


def test_it_records_a_failing_task_as_failed(world: World) -> None:
    task = tasks.task_enqueue(kind="test.broken", by=world.user(Role.COMMUNITY_STAFF))
    tasks.run_queued(worker="w1")
    task.refresh_from_db()
    assert task.status == Task.Status.FAILED
    assert "the file is not a spreadsheet" in task.error


def test_it_gives_a_task_to_one_worker_only(world: World) -> None:
    tasks.task_enqueue(kind="test.count", args={"upto": 1}, by=world.user(Role.COMMUNITY_STAFF))
    first = tasks.claim(worker="w1")
    assert first is not None
    assert tasks.claim(worker="w2") is None


def test_it_hands_an_abandoned_task_to_another_worker(world: World) -> None:
    task = tasks.task_enqueue(kind="test.count", args={"upto": 2}, by=world.user(Role.COMMUNITY_STAFF))
    long_ago = timezone.now() - tasks.LEASE - dt.timedelta(seconds=1)
    dead = tasks.claim(worker="dead", now=long_ago)
    assert dead is not None
    taken = tasks.claim(worker="alive")
    assert taken is not None and taken.pk == task.pk and taken.attempts == 2
    # The first worker, woken up, finds it has lost the task and stops.
    with pytest.raises(tasks.LeaseLost):
        tasks.TaskContext(dead, worker="dead").progress(50)
    tasks.run(taken, worker="alive")
    assert Task.objects.get(pk=task.pk).status == Task.Status.DONE


def test_it_gives_up_on_a_task_that_keeps_killing_workers(world: World) -> None:
    task = tasks.task_enqueue(kind="test.count", args={"upto": 1}, by=world.user(Role.COMMUNITY_STAFF))
    lease = tasks.LEASE + dt.timedelta(seconds=1)
    start = timezone.now() - tasks.MAX_ATTEMPTS * lease
    for attempt in range(tasks.MAX_ATTEMPTS):
        assert tasks.claim(worker=f"dead-{attempt}", now=start + attempt * lease) is not None
    last = tasks.claim(worker="w")
    assert last is not None
    tasks.run(last, worker="w")
    task.refresh_from_db()
    assert task.status == Task.Status.FAILED and "gave up" in task.error


def test_it_shows_its_creator_the_progress_and_the_result(world: World, client_for: Any) -> None:
    user = world.user(Role.COMMUNITY_STAFF)
    task = tasks.task_enqueue(kind="test.count", args={"upto": 3}, by=user)
    client = client_for(Role.COMMUNITY_STAFF)
    page = client.get(f"/tasks/{task.pk}/")
    assert page.status_code == 200
    assert 'hx-trigger="every 2s"' in page.content.decode()  # polls while queued
    tasks.run_queued(worker="w1")
    partial = client.get(f"/tasks/{task.pk}/", HTTP_HX_REQUEST="true")
    body = partial.content.decode()
    assert partial.status_code == 200
    assert "<html" not in body and "hx-trigger" not in body  # done: the polling stops
    assert "counted" in body and 'value="100"' in body


def test_it_hides_a_task_from_everyone_but_its_creator(world: World, client_for: Any) -> None:
    task = tasks.task_enqueue(kind="test.count", args={"upto": 1}, by=world.user(Role.COMMUNITY_STAFF))
    assert client_for(Role.DISTRICT_ADMIN).get(f"/tasks/{task.pk}/").status_code == 404
    assert client_for(Role.GRID_WORKER).get(f"/tasks/{task.pk}/").status_code == 404
    anonymous = Client().get(f"/tasks/{task.pk}/")
    assert anonymous.status_code == 302 and "/login/" in anonymous["Location"]
