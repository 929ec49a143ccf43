"""Imports in short chunked transactions, run by the worker, resumable and undoable as a whole."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import pytest
from django.db import DatabaseError, connection
from django.test import Client
from django.urls import reverse

from wangge.areas.models import Building
from wangge.conftest import World
from wangge.core.models import AuditEntry, Task
from wangge.core.tasks import run_queued
from wangge.registry import imports, search
from wangge.registry.importing import import_residents
from wangge.registry.importing import residents as importer
from wangge.registry.models import (
    CareCategory,
    CareTag,
    Household,
    LifeEvent,
    Resident,
    ResidentImport,
    SearchKey,
)
from wangge.registry.tests.test_import import csv_bytes, id_for

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _small_chunks(settings: Any) -> None:
    settings.WANGGE_IMPORT_CHUNK_ROWS = 2


def rows(count: int, *, start: int = 1, building: str = "新楼") -> list[list[str]]:
    return [
        [f"居民{i}", id_for(i), "", "灵西社区", building, "1", f"{i}01", "", ""] for i in range(start, start + count)
    ]


def refuse_audit(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(**kwargs: Any) -> None:
        raise DatabaseError("audit log unavailable")

    monkeypatch.setattr(AuditEntry.objects, "create", refuse)


def test_a_failing_chunk_keeps_the_chunks_before_it_and_says_where_it_stopped(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = csv_bytes(rows(6))
    write = importer._Writer._write_residents
    calls = {"n": 0}

    def fail_on_the_second_chunk(self: Any, chunk: list[Any]) -> None:
        calls["n"] += 1
        write(self, chunk)
        if calls["n"] == 2:
            raise DatabaseError("disk full")

    monkeypatch.setattr(importer._Writer, "_write_residents", fail_on_the_second_chunk)
    result = import_residents(data=data, file_name="a.csv")
    assert result.failure == {"chunk": 2, "first": 4, "last": 5, "error": "DatabaseError: disk full"}
    assert "第 2 批（第 4–5 行）写入失败" in result.summary
    assert result.created == 2
    assert set(Resident.objects.filter(name__startswith="居民").values_list("name", flat=True)) == {"居民1", "居民2"}
    run = ResidentImport.objects.get()
    assert (run.status, run.chunks_done, run.counts["created"]) == (ResidentImport.Status.FAILED, 1, 2)
    assert "disk full" in run.error
    assert AuditEntry.objects.get(action=AuditEntry.Action.IMPORT).detail["failure"]["chunk"] == 2

    monkeypatch.undo()  # the disk has room again: the same file finishes the import
    again = import_residents(data=data, file_name="a.csv")
    assert (again.created, again.unchanged, again.failure) == (4, 2, None)
    assert Resident.objects.filter(name__startswith="居民").count() == 6


def test_the_same_file_again_adds_nothing_across_chunks(world: World) -> None:
    data = csv_bytes(rows(5))
    first = import_residents(data=data, file_name="a.csv")
    assert (first.created, first.chunks) == (5, 3)
    counts = (Resident.objects.count(), Household.objects.count(), Building.objects.count())
    again = import_residents(data=data, file_name="a.csv")
    assert (again.created, again.updated, again.unchanged) == (0, 0, 5)
    assert (Resident.objects.count(), Household.objects.count(), Building.objects.count()) == counts
    assert Resident.objects.filter(import_run=first.run_id).count() == 5  # still the first import's


@pytest.mark.django_db(transaction=True)
def test_each_chunk_is_committed_before_the_next_is_read(world: World) -> None:
    seen: list[tuple[bool, int]] = []

    def progress(result: Any, estimate: int) -> None:
        # Between chunks no transaction is open: another writer can take its turn now.
        seen.append((connection.in_atomic_block, Resident.objects.filter(name__startswith="居民").count()))

    import_residents(data=csv_bytes(rows(5)), file_name="a.csv", progress=progress)
    assert seen == [(False, 2), (False, 4), (False, 5)]


@pytest.mark.django_db(transaction=True)
def test_search_keys_are_made_before_the_write_transaction_and_match_a_single_edit(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Pinyin is the costly part of a chunk: made while the chunk is validated, it no longer
    # holds SQLite's write lock (other writers, location fixes among them, wait for that lock).
    search._name_keys.cache_clear()
    made_in_transaction: list[bool] = []
    keys_for = search.keys_for

    def recording(*args: Any, **kwargs: Any) -> list[str]:
        made_in_transaction.append(connection.in_atomic_block)
        return keys_for(*args, **kwargs)

    monkeypatch.setattr(search, "keys_for", recording)
    first = [["张　伟", id_for(1), "13900001111", "灵西社区", "新楼", "1", "101", "", ""], *rows(2, start=2)]
    import_residents(data=csv_bytes(first), file_name="a.csv")
    # Again: a new name, and a blank phone (the registered one stays, and so do its keys).
    again = [["張偉國", id_for(1), "", "灵西社区", "新楼", "1", "101", "", ""], *rows(2, start=2)]
    assert import_residents(data=csv_bytes(again), file_name="b.csv").updated == 1
    monkeypatch.undo()

    assert made_in_transaction and not any(made_in_transaction)
    for resident in Resident.objects.filter(id_number__in=[id_for(i) for i in (1, 2, 3)]):
        written = set(SearchKey.objects.filter(resident=resident).values_list("key", flat=True))
        assert written == set(search.keys_for(resident.name, resident.id_number, resident.phone))
    zhang = Resident.objects.get(id_number=id_for(1))
    assert (zhang.name, zhang.phone) == ("張偉國", "13900001111")


def test_the_upload_is_run_by_the_worker_with_progress(world: World, client_for: Callable[[str], Client]) -> None:
    staff = client_for("community_staff")
    upload = io.BytesIO(csv_bytes(rows(5)))
    upload.name = "居民.csv"
    response = staff.post(reverse("registry:import"), {"file": upload})
    assert response.status_code == 302
    task = Task.objects.get()
    assert response["Location"] == reverse("core:task", args=[task.pk])
    assert task.kind == imports.IMPORT_TASK
    stored = imports._upload_path(ResidentImport.objects.get().pk)
    assert stored.stat().st_mode & 0o077 == 0  # owner-only: the file holds ID numbers

    reported: list[tuple[int, str]] = []
    progress = imports.TaskContext.progress

    def watch(self: Any, percent: int, message: str = "") -> None:
        reported.append((percent, message))
        progress(self, percent, message)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(imports.TaskContext, "progress", watch)
        assert run_queued(worker="test") == 1
    assert [message for _p, message in reported][-3:] == ["已处理 2 行", "已处理 4 行", "已处理 5 行"]
    task.refresh_from_db()
    assert (task.status, task.progress) == (Task.Status.DONE, 100)
    assert task.result["url"] == reverse("registry:import-run", args=[ResidentImport.objects.get().pk])
    assert not stored.exists()  # the upload is gone once imported
    assert Resident.objects.filter(name__startswith="居民").count() == 5
    page = staff.get(task.result["url"]).content.decode()
    assert "导入 5 人" in staff.get(reverse("core:task", args=[task.pk])).content.decode()
    assert "撤销这次导入" in page


@pytest.fixture
def imported(world: World) -> ResidentImport:
    """An import that made 3 residents in a new building and tagged a resident already registered."""
    known = world.residents["a1_1_head"]
    category = CareCategory.objects.exclude(tags__resident=known).order_by("pk").first()
    assert category is not None
    community = known.community
    data = csv_bytes(
        [
            *rows(3),
            [
                known.name,
                known.id_number,
                "",
                community.name,
                known.household.building.name,
                known.household.entrance,
                known.household.room,
                "",
                category.name,
            ],
        ]
    )
    result = import_residents(data=data, file_name="a.csv", by=world.user("district_admin"))
    assert (result.created, result.updated, result.buildings_created) == (3, 1, 1)
    assert CareTag.objects.filter(resident=known, category=category).exists()
    return ResidentImport.objects.get(pk=result.run_id)


def test_undo_removes_exactly_what_the_import_created(world: World, imported: ResidentImport) -> None:
    admin = world.user("district_admin")
    before_residents = set(Resident.objects.exclude(import_run=imported).values_list("pk", flat=True))
    before_households = Household.objects.exclude(import_run=imported).count()
    tags_before = CareTag.objects.filter(resident=world.residents["a1_1_head"]).count() - 1
    created = imports.created_counts(imported)
    assert created == {"residents": 3, "households": 3, "tags": 1, "buildings": 1}

    imports.import_undo(by=admin, run=imported)
    assert AuditEntry.objects.filter(action=AuditEntry.Action.DELETE, object_id=str(imported.pk)).count() == 1
    assert run_queued(worker="test") == 1
    assert set(Resident.objects.values_list("pk", flat=True)) == before_residents
    # Search keys have no foreign-key constraint (a derived index): the undo removes them itself.
    assert not SearchKey.objects.exclude(resident__in=Resident.objects.all()).exists()
    assert Household.objects.count() == before_households
    assert not Building.objects.filter(pk__in=imported.buildings).exists()
    assert not CareTag.objects.filter(import_run=imported).exists()
    assert CareTag.objects.filter(resident=world.residents["a1_1_head"]).count() == tags_before
    imported.refresh_from_db()
    assert imported.status == ResidentImport.Status.UNDONE
    assert imported.counts["undo"]["residents"] == 3
    with pytest.raises(imports.UndoRefused):
        imports.import_undo(by=admin, run=imported)


def test_undo_keeps_a_created_resident_that_has_since_gained_a_life_event(
    world: World, imported: ResidentImport
) -> None:
    kept = Resident.objects.filter(import_run=imported).first()
    assert kept is not None
    LifeEvent.objects.create(resident=kept, kind=LifeEvent.Kind.MOVE_IN, date="2026-01-01", detail={})
    imports.import_undo(by=world.user("district_admin"), run=imported)
    run_queued(worker="test")
    assert list(Resident.objects.filter(import_run=imported)) == [kept]
    assert Household.objects.filter(pk=kept.household_id).exists()  # still lived in
    imported.refresh_from_db()
    assert (imported.counts["undo"]["residents"], imported.counts["undo"]["residents_kept"]) == (2, 1)


def test_undo_that_cannot_be_audited_changes_nothing(
    world: World, imported: ResidentImport, monkeypatch: pytest.MonkeyPatch
) -> None:
    refuse_audit(monkeypatch)
    with pytest.raises(DatabaseError):
        imports.import_undo(by=world.user("district_admin"), run=imported)
    monkeypatch.undo()
    imported.refresh_from_db()
    assert imported.status == ResidentImport.Status.DONE
    assert not Task.objects.exists()
    assert Resident.objects.filter(import_run=imported).count() == 3


def test_the_undo_page_asks_for_confirmation_and_only_the_uploader_sees_it(
    world: World, client_for: Callable[[str], Client]
) -> None:
    staff = client_for("community_staff")
    result = import_residents(data=csv_bytes(rows(2)), file_name="a.csv", by=world.user("community_staff"))
    run = ResidentImport.objects.get(pk=result.run_id)
    undo_url = reverse("registry:import-undo", args=[run.pk])
    confirm = staff.get(undo_url, follow=True).content.decode()
    assert "将删除这次导入新建的 2 名居民" in confirm
    assert staff.post(undo_url).status_code == 400  # not confirmed
    assert client_for("street_staff").post(undo_url, {"confirm": "yes"}).status_code == 404
    response = staff.post(undo_url, {"confirm": "yes"})
    assert response.status_code == 302
    run_queued(worker="test")
    assert not Resident.objects.filter(name__startswith="居民").exists()
    assert staff.post(undo_url, {"confirm": "yes"}).status_code == 409
