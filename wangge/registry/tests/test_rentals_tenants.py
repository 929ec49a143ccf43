"""Tenants in the rentals register (出租房屋): the import links each tenant named by document number
to a resident the importer may see, reports every number that links no one as a warning of its
row (the lease still imports), adds the tenants a later file names to a lease registered already
and nothing twice; the export writes the same columns (numbers masked) and imports back unchanged.

The grid worker of the world (``wangge/conftest.py``) works grid_a1_1; 赵志强 (a1_2_head) lives in
grid_a1_2 next door, which community staff see and the worker does not.
"""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import DatabaseError
from openpyxl import load_workbook

from wangge.accounts.models import Role
from wangge.conftest import World
from wangge.core import idnumbers
from wangge.core.models import AuditEntry
from wangge.registry import room_export
from wangge.registry.models import Rental, Resident
from wangge.registry.tests.test_rentals_import import lease, run, table

pytestmark = pytest.mark.django_db

NUMBERS = "承租人证件号码"
UNREGISTERED = idnumbers.make(area_code="110101", birth_date=dt.date(1995, 5, 5), sequence=7, sex="F")


def number(world: World, key: str) -> str:
    return world.residents[key].id_number


def passport_holder(world: World, *, grid: str = "grid_a1_1", id_number: str = "E12345678") -> Resident:
    """A foreign tenant registered with a passport, living in ``grid``."""
    household = world.households[grid]
    resident = Resident(
        household=household,
        name="Anna Schmidt",
        id_number=id_number,
        document_type_id="passport",
        population_type_id="foreign",
        sex="F",
        birth_date=dt.date(1992, 4, 1),
        relationship=Resident.Relationship.OTHER,
    )
    resident.copy_scope(household)
    resident.save()
    return resident


def warnings_of(result: Any) -> dict[int, list[str]]:
    found: dict[int, list[str]] = {}
    for problem in result.warnings:
        assert problem.column == NUMBERS
        found.setdefault(problem.row, []).append(problem.reason)
    return found


def test_it_links_tenants_by_national_id_old_15_digit_number_or_passport(world: World) -> None:
    foreigner = passport_holder(world)
    head = number(world, "a1_1_head")
    old = head[:6] + head[8:17]  # the same person's first-generation 15-digit card
    ward = number(world, "a1_1_ward").lower()  # a check character typed as x would be lower case
    result = run(
        table(
            lease(**{NUMBERS: f"{head}、 e12345678"}),
            lease(**{"房号": "302", NUMBERS: f"{old}，{ward}"}),
        ),
        by=world.user(Role.GRID_WORKER),
    )
    assert (result.created, result.rejected, result.warned) == (2, 0, 0), result.problems
    first, second = Rental.objects.order_by("room__number")
    assert set(first.tenants.all()) == {world.residents["a1_1_head"], foreigner}
    assert set(second.tenants.all()) == {world.residents["a1_1_head"], world.residents["a1_1_ward"]}
    created = AuditEntry.objects.get(object_type="registry.rental", object_id=str(first.pk), action="create")
    assert sorted(created.detail["tenants"]) == sorted([world.residents["a1_1_head"].pk, foreigner.pk])


def test_a_tenant_from_the_next_grid_is_not_linked_by_a_worker_who_cannot_see_them(world: World) -> None:
    neighbour = number(world, "a1_2_head")
    row = lease(**{NUMBERS: f"{number(world, 'a1_1_head')}、{neighbour}、{UNREGISTERED}"})
    result = run(table(row), by=world.user(Role.GRID_WORKER))
    # The lease imports with the tenant the worker may see; the other two are reported, alike.
    assert (result.created, result.rejected, result.warned) == (1, 0, 1)
    assert list(Rental.objects.get().tenants.all()) == [world.residents["a1_1_head"]]
    reasons = warnings_of(result)[2]
    assert reasons == [
        f"在您的辖区内找不到证件号码为 {idnumbers.mask(n)} 的居民（未登记或不在您的管辖范围内），未关联为承租人"
        for n in (neighbour, UNREGISTERED)
    ]
    assert neighbour not in " ".join(reasons)  # the report, kept for a week, holds no full number


def test_community_staff_who_see_the_next_grid_link_its_resident(world: World) -> None:
    row = lease(**{NUMBERS: number(world, "a1_2_head")})
    result = run(table(row), by=world.user(Role.COMMUNITY_STAFF))
    assert (result.created, result.warned) == (1, 0)
    assert list(Rental.objects.get().tenants.all()) == [world.residents["a1_2_head"]]


def test_a_resident_registered_as_moved_out_is_reported_and_not_linked(world: World) -> None:
    Resident.objects.filter(pk=world.residents["a1_1_ward"].pk).update(status=Resident.Status.MOVED_OUT)
    result = run(table(lease(**{NUMBERS: number(world, "a1_1_ward")})), by=world.user(Role.GRID_WORKER))
    assert (result.created, result.warned) == (1, 1)
    assert not Rental.objects.get().tenants.exists()
    assert "已迁出" in warnings_of(result)[2][0]


def test_names_without_numbers_and_a_masked_number_on_a_new_lease_are_warnings(world: World) -> None:
    result = run(
        table(
            lease(**{"承租人姓名": "王建国"}),
            lease(**{"房号": "302", NUMBERS: idnumbers.mask(number(world, "a1_1_head"))}),
        ),
        by=world.user(Role.GRID_WORKER),
    )
    assert (result.created, result.warned) == (2, 2)
    warnings = warnings_of(result)
    assert warnings[2] == ["承租人按证件号码关联：请在“承租人证件号码”列填写承租人的证件号码"]
    assert "隐藏中间位" in warnings[3][0]
    assert not Rental.objects.filter(tenants__isnull=False).exists()


def test_the_same_file_again_links_nothing_more_and_reports_the_same_warnings(world: World) -> None:
    worker = world.user(Role.GRID_WORKER)
    data = table(lease(**{NUMBERS: f"{number(world, 'a1_1_head')}、{UNREGISTERED}"}))
    first = run(data, by=worker)
    entries = AuditEntry.objects.exclude(action="import").count()
    again = run(data, by=worker)
    assert (again.created, again.updated, again.unchanged, again.warned) == (0, 0, 1, 1)
    assert [p.reason for p in again.warnings] == [p.reason for p in first.warnings]
    assert list(Rental.objects.get().tenants.all()) == [world.residents["a1_1_head"]]
    assert AuditEntry.objects.exclude(action="import").count() == entries  # nothing written but the import's own


def test_a_registered_lease_gains_the_tenant_registered_since_and_keeps_the_others(world: World) -> None:
    worker = world.user(Role.GRID_WORKER)
    data = table(lease(**{NUMBERS: f"{number(world, 'a1_1_head')}、{UNREGISTERED}"}))
    run(data, by=worker)
    rental = Rental.objects.get()
    rental.tenants.add(world.residents["a1_2_head"])  # linked by community staff: the worker cannot see them
    newcomer = passport_holder(world, id_number=UNREGISTERED)  # registered since (any document type)

    result = run(data, by=worker)
    assert (result.created, result.updated, result.unchanged, result.warned) == (0, 1, 0, 0), result.problems
    assert set(rental.tenants.all()) == {world.residents["a1_1_head"], world.residents["a1_2_head"], newcomer}
    entry = AuditEntry.objects.filter(object_type="registry.rental", object_id=str(rental.pk), action="update").get()
    assert entry.detail["after"] == sorted(t.pk for t in rental.tenants.all())
    assert "补登承租人 1 处" in AuditEntry.objects.filter(action="import").latest("id").summary
    assert run(data, by=worker).unchanged == 1


def test_linking_tenants_to_a_registered_lease_rolls_back_when_the_audit_fails(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    worker = world.user(Role.GRID_WORKER)
    data = table(lease(**{NUMBERS: UNREGISTERED}))
    run(data, by=worker)
    passport_holder(world, id_number=UNREGISTERED)

    def refuse(**kwargs: Any) -> None:
        raise DatabaseError("audit log unavailable")

    monkeypatch.setattr(AuditEntry.objects, "create", refuse)
    with pytest.raises(DatabaseError):
        run(data, by=worker)
    assert not Rental.objects.get().tenants.exists()


def exported(world: World, role: str) -> tuple[list[dict[str, Any]], bytes]:
    _count, chunks = room_export.rentals_export(by=world.user(role))
    content = b"".join(chunks)
    rows = list(load_workbook(io.BytesIO(content)).worksheets[0].iter_rows(values_only=True))
    return [dict(zip(rows[0], row, strict=True)) for row in rows[1:]], content


def test_the_export_names_the_tenants_in_scope_masked_and_imports_back_unchanged(world: World) -> None:
    head, neighbour = number(world, "a1_1_head"), number(world, "a1_2_head")
    run(table(lease(**{NUMBERS: f"{head}、{neighbour}"})), by=world.user(Role.COMMUNITY_STAFF))

    rows, content = exported(world, Role.COMMUNITY_STAFF)
    assert rows[0]["承租人数"] == 2
    assert rows[0]["承租人姓名"] == "王建国、赵志强"
    assert rows[0][NUMBERS] == f"{idnumbers.mask(head)}、{idnumbers.mask(neighbour)}"
    back = run(content, by=world.user(Role.COMMUNITY_STAFF), name="export.xlsx")
    assert (back.created, back.updated, back.unchanged, back.rejected, back.warned) == (0, 0, 1, 0, 0), back.problems

    # The grid worker's export names only the tenant they may see (the count is of all) and
    # imports back unchanged as well.
    rows, content = exported(world, Role.GRID_WORKER)
    assert (rows[0]["承租人数"], rows[0]["承租人姓名"], rows[0][NUMBERS]) == (2, "王建国", idnumbers.mask(head))
    back = run(content, by=world.user(Role.GRID_WORKER), name="export.xlsx")
    assert (back.unchanged, back.warned) == (1, 0), back.problems
    assert Rental.objects.get().tenants.count() == 2


def test_an_export_with_a_full_number_added_links_that_tenant(world: World) -> None:
    worker = world.user(Role.GRID_WORKER)
    run(table(lease(**{NUMBERS: number(world, "a1_1_head")})), by=worker)
    _count, chunks = room_export.rentals_export(by=worker)
    book = load_workbook(io.BytesIO(b"".join(chunks)))
    sheet = book.worksheets[0]
    column = [cell.value for cell in sheet[1]].index(NUMBERS) + 1
    cell = sheet.cell(row=2, column=column)
    cell.value = f"{cell.value}、{number(world, 'a1_1_ward')}"
    out = io.BytesIO()
    book.save(out)
    result = run(out.getvalue(), by=worker, name="export.xlsx")
    assert (result.updated, result.warned) == (1, 0), result.problems
    assert set(Rental.objects.get().tenants.all()) == {world.residents["a1_1_head"], world.residents["a1_1_ward"]}


def test_the_template_has_the_tenant_columns_as_text(world: World) -> None:
    sheet = load_workbook(io.BytesIO(room_export.rentals_template())).worksheets[0]
    header = [cell.value for cell in sheet[1]]
    assert header.index("承租人姓名") == header.index("承租人数") + 1
    assert header.index(NUMBERS) == header.index("承租人数") + 2


def test_the_import_page_shows_the_tenant_warnings_in_chinese_and_english(world: World, client_for: Any) -> None:
    client = client_for(Role.GRID_WORKER)
    data = table(lease(**{NUMBERS: number(world, "a1_2_head")}))
    response = client.post("/rentals/import/", {"file": SimpleUploadedFile("rentals.csv", data)})
    page = response.content.decode()
    assert response.status_code == 200
    assert "未关联为承租人" in page and "补登承租人" in page
    assert number(world, "a1_2_head") not in page
    client.cookies["django_language"] = "en"
    data = table(lease(**{"房号": "302", NUMBERS: UNREGISTERED}), language="en")
    assert b"Tenants' document numbers" in data.splitlines()[0]
    answer = client.post("/rentals/import/", {"file": SimpleUploadedFile("rentals.csv", data)}).content.decode()
    assert "not linked as a tenant" in answer and "Tenants added" in answer
    assert Rental.objects.count() == 2


def test_a_number_excel_turned_into_a_number_is_reported_as_such(world: World) -> None:
    result = run(table(lease(**{NUMBERS: "2.10304E+17"})), by=world.user(Role.GRID_WORKER))
    assert (result.created, result.warned) == (1, 1)
    assert "科学计数法" in warnings_of(result)[2][0]
