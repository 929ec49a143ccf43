"""Importing the rentals register (出租房屋): the template's columns are the export's, good rows
registered while bad ones are reported with their reasons, the same file (or an export) again
registers nothing, a grid worker imports into their grid only, and the import is one audited
transaction."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import DatabaseError
from django.utils import timezone, translation
from openpyxl import load_workbook

from wangge.accounts.models import Role
from wangge.conftest import World
from wangge.core.models import AuditEntry
from wangge.registry import room_actions, room_export
from wangge.registry.importing.limits import ImportFileError
from wangge.registry.models import Rental, RentalInspection, Room

pytestmark = pytest.mark.django_db

HEADER = room_export.header  # the export's own columns, in Chinese (the default language)


def today() -> dt.date:
    return timezone.localdate()


def lease(**kw: Any) -> dict[str, Any]:
    start = today() - dt.timedelta(days=30)
    values = {
        "社区": "灵西社区",
        "楼栋": "1号楼",
        "单元": "2",
        "房号": "301",
        "出租人": "刘德明",
        "出租人电话": "13812345678",
        "租赁登记备案号": "LS-2024-0001",
        "月租金（元）": "1200",
        "起租日期": start.isoformat(),
        "到期日期": (start + dt.timedelta(days=365)).isoformat(),
        "隐患等级代码": "",
        "隐患等级": "",
        "最近检查日期": "",
    }
    values.update(kw)
    return values


def table(*rows: dict[str, Any], language: str = "zh-hans", columns: Callable[[], list[str]] = HEADER) -> bytes:
    """A CSV of ``rows`` (keyed by the Chinese column names) under the export's header (``columns``)
    in ``language``."""
    with translation.override("zh-hans"):
        keys = columns()
    with translation.override(language):
        header = columns()
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    for row in rows:
        writer.writerow([row.get(column, "") for column in keys])
    return out.getvalue().encode("utf-8")


def run(data: bytes, by: Any = None, name: str = "rentals.csv") -> Any:
    return room_actions.rentals_import(by=by, data=data, file_name=name)


def test_it_registers_a_lease_from_the_filled_in_template_and_makes_its_room(world: World) -> None:
    content = room_export.rentals_template()
    book = load_workbook(io.BytesIO(content))
    sheet = book.worksheets[0]
    header = [cell.value for cell in sheet[1]]
    row = lease(**{"隐患等级代码": "general", "最近检查日期": (today() - dt.timedelta(days=5)).isoformat()})
    sheet.append([row.get(column, "") for column in header])
    out = io.BytesIO()
    book.save(out)
    result = run(out.getvalue(), by=world.user(Role.GRID_WORKER), name="出租房屋.xlsx")
    assert (result.created, result.rejected) == (1, 0), result.problems
    rental = Rental.objects.get()
    room = rental.room
    assert (room.building, room.entrance, room.number, room.use_id) == (
        world.buildings["grid_a1_1"],
        "2",
        "301",
        "rented",
    )
    assert room.grid == world.areas["grid_a1_1"]
    assert (rental.landlord_name, rental.landlord_phone, rental.rent) == ("刘德明", "13812345678", Decimal("1200.00"))
    assert rental.registration_number == "LS-2024-0001"
    # The last inspection is recorded; the next one falls due after the general level's 90 days.
    assert rental.last_inspected == today() - dt.timedelta(days=5)
    assert rental.hazard_level_id == "general"
    assert rental.inspection_due == today() + dt.timedelta(days=85)
    assert RentalInspection.objects.get().rental == rental


def test_a_lease_of_a_room_already_registered_goes_into_that_room(world: World) -> None:
    household = world.households["grid_a1_1"]  # 1号楼 1单元 101
    room = room_actions.household_settle(by=None, household=household)
    result = run(table(lease(**{"单元": "1单元", "房号": "101室", "隐患等级": "重大隐患"})))
    assert result.created == 1, result.problems
    rental = Rental.objects.get()
    assert rental.room == room
    assert rental.hazard_level_id == "major"
    assert Room.objects.count() == 1


def test_the_same_file_again_and_the_export_imported_back_register_nothing(world: World) -> None:
    worker = world.user(Role.GRID_WORKER)
    data = table(lease(), lease(**{"房号": "302", "出租人电话": ""}))
    assert run(data, by=worker).created == 2
    again = run(data, by=worker)
    assert (again.created, again.unchanged, again.rejected) == (0, 2, 0)
    _count, exported = room_export.rentals_export(by=worker)
    back = run(b"".join(exported), by=worker, name="export.xlsx")
    assert (back.rows, back.created, back.unchanged, back.rejected) == (2, 0, 2, 0), back.problems
    assert Rental.objects.count() == 2


def test_each_bad_row_is_reported_with_its_reason_and_the_good_ones_registered(world: World) -> None:
    start = today() - dt.timedelta(days=30)
    result = run(
        table(
            lease(),
            lease(**{"楼栋": ""}),
            lease(**{"楼栋": "火星大厦"}),
            lease(**{"房号": ""}),
            lease(**{"房号": "303", "起租日期": "去年"}),
            lease(**{"房号": "304", "到期日期": (start - dt.timedelta(days=1)).isoformat()}),
            lease(**{"房号": "305", "隐患等级代码": "宇宙级"}),
            lease(**{"房号": "306", "出租人电话": "138****5678"}),
            lease(**{"房号": "307", "月租金（元）": "-5"}),
            lease(**{"房号": "308", "出租人": ""}),
            lease(),  # the same lease as the first row
            lease(**{"起租日期": (start + dt.timedelta(days=10)).isoformat()}),  # overlaps row 2's lease
            lease(**{"房号": "309", "最近检查日期": (today() + dt.timedelta(days=3)).isoformat()}),
        )
    )
    assert result.created == 1
    assert result.rejected == 12
    reasons = {p.row: (p.column, p.reason) for p in result.rejections}
    assert reasons[3] == ("楼栋", "请填写楼栋")
    assert reasons[4][0] == "楼栋" and "火星大厦" in reasons[4][1]
    assert reasons[5] == ("房号", "请填写房号")
    assert reasons[6][0] == "起租日期" and "去年" in reasons[6][1]
    assert reasons[7] == ("到期日期", "到期日期不能早于起租日期")
    assert reasons[8][0] == "隐患等级" and "宇宙级" in reasons[8][1]
    assert reasons[9][0] == "出租人电话" and "隐藏" in reasons[9][1]
    assert reasons[10][0] == "月租金（元）"
    assert reasons[11] == ("出租人", "请填写出租人")
    assert reasons[12] == ("起租日期", "与第 2 行是同一租约")
    assert reasons[13] == ("起租日期", "该房屋在这段时间已有登记的租约")
    assert reasons[14] == ("最近检查日期", "检查日期不能晚于今天")
    # A refused row leaves no room behind, not even the one it would have made.
    assert set(Room.objects.values_list("number", flat=True)) == {"301"}


def test_a_grid_worker_imports_into_their_grid_only(world: World) -> None:
    worker = world.user(Role.GRID_WORKER)  # 灵西第一网格: 1号楼
    result = run(
        table(
            lease(),
            lease(**{"楼栋": "2号楼"}),  # the next grid of the same community
            lease(**{"社区": "解放社区", "楼栋": "4号楼"}),  # another district
        ),
        by=worker,
    )
    assert (result.created, result.rejected) == (1, 2)
    reasons = {p.row: p.reason for p in result.rejections}
    assert reasons[3] == "该楼栋不在您的管辖范围内"
    assert reasons[4] == "该楼栋不在您的管辖范围内"
    assert Rental.objects.get().grid == world.areas["grid_a1_1"]


def test_a_room_of_the_workers_building_that_belongs_to_another_grid_is_refused(world: World) -> None:
    room = room_actions.room_create(by=None, building=world.buildings["grid_a1_1"], number="501")
    Room.objects.filter(pk=room.pk).update(grid=world.areas["grid_a1_2"])  # its household moved it next door
    result = run(table(lease(**{"单元": "", "房号": "501"})), by=world.user(Role.GRID_WORKER))
    assert (result.created, result.rejected) == (0, 1)
    assert result.rejections[0].reason == "该房屋不在您的管辖范围内"


def test_a_role_that_may_not_register_rentals_may_not_import_them(world: World) -> None:
    for role in (Role.PETITION_OFFICE, Role.DEPARTMENT, Role.GUARDIAN, Role.AUDITOR):
        with pytest.raises(PermissionDenied):
            run(table(lease()), by=world.user(role))
    assert not Rental.objects.exists()


def test_a_file_without_the_rentals_columns_is_refused_by_name(world: World) -> None:
    out = io.StringIO()
    csv.writer(out).writerows([["姓名", "公民身份号码"], ["张伟", "210304195603080251"]])
    with pytest.raises(ImportFileError) as caught:
        run(out.getvalue().encode())
    assert "房号" in str(caught.value)


def test_the_import_is_audited_and_a_failing_audit_registers_nothing(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    worker = world.user(Role.GRID_WORKER)
    run(table(lease()), by=worker)
    entry = AuditEntry.objects.filter(action="import", object_type="registry.rental").get()
    assert (entry.actor, entry.detail["created"]) == (worker, 1)

    def refuse(**kwargs: Any) -> None:
        raise DatabaseError("audit log unavailable")

    monkeypatch.setattr(AuditEntry.objects, "create", refuse)
    with pytest.raises(DatabaseError):
        run(table(lease(**{"房号": "302"})), by=worker)
    assert Rental.objects.count() == 1
    assert not Room.objects.filter(number="302").exists()


def test_the_rentals_page_links_to_the_import_page_which_shows_the_report(world: World, client_for: Any) -> None:
    client = client_for(Role.GRID_WORKER)
    assert "/rentals/import/" in client.get("/rentals/").content.decode()
    assert client.get("/rentals/import/").status_code == 200
    upload = SimpleUploadedFile("rentals.csv", table(lease(), lease(**{"楼栋": "2号楼"})))
    response = client.post("/rentals/import/", {"file": upload})
    assert response.status_code == 200
    page = response.content.decode()
    assert "该楼栋不在您的管辖范围内" in page
    assert response.context["result"].created == 1
    token = response.context["report"]
    report = client.get(f"/registry/import/reports/{token}/")
    assert "该楼栋不在您的管辖范围内" in b"".join(report.streaming_content).decode("utf-8-sig")
    for role in (Role.PETITION_OFFICE, Role.GUARDIAN, Role.AUDITOR):
        other = client_for(role)
        assert other.get("/rentals/import/").status_code == 404
        assert "/rentals/import/" not in other.get("/rentals/").content.decode()


def test_the_import_page_answers_an_unreadable_file_with_a_400_and_its_reason(world: World, client_for: Any) -> None:
    response = client_for(Role.GRID_WORKER).post(
        "/rentals/import/", {"file": SimpleUploadedFile("rentals.csv", b"\x00\x01binary")}
    )
    assert response.status_code == 400
    assert "表格文件" in response.content.decode()
    assert not Rental.objects.exists()


def test_the_import_page_speaks_english_and_reads_an_english_export(world: World, client_for: Any) -> None:
    client = client_for(Role.GRID_WORKER)
    client.cookies["django_language"] = "en"
    page = client.get("/rentals/import/").content.decode()
    assert "Import rentals" in page
    data = table(lease(), lease(**{"楼栋": "2号楼"}), language="en")
    assert b"Landlord" in data.splitlines()[0]
    response = client.post("/rentals/import/", {"file": SimpleUploadedFile("rentals.csv", data)})
    assert response.status_code == 200, response.context["form"].errors
    assert response.context["result"].created == 1
    answer = response.content.decode()
    assert "This building is outside your areas" in answer
    assert "Already registered" in answer and "Received" not in answer  # not the cases' 已登记
