"""The rooms register (实有房屋) as a spreadsheet: the template's columns are the export's, a room
is found by building, entrance and number and made or updated, good rows registered while bad
ones are reported with their reasons, an export imported back changes nothing, a grid worker
imports into their grid only, the import is one audited transaction and the export is audited."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import DatabaseError
from django.utils import translation
from openpyxl import load_workbook

from wangge.accounts.models import Role
from wangge.conftest import World
from wangge.core.models import AuditEntry
from wangge.registry import room_actions, room_export
from wangge.registry.importing.limits import ImportFileError
from wangge.registry.models import Room, RoomUse
from wangge.registry.tests.test_rentals_import import table as rentals_table

pytestmark = pytest.mark.django_db

HEADER = room_export.rooms_header  # the export's own columns, in Chinese (the default language)


def room(**kw: Any) -> dict[str, Any]:
    values = {
        "社区": "灵西社区",
        "楼栋": "1号楼",
        "单元": "2",
        "房号": "301",
        "楼层": "",
        "房屋用途代码": "business",
        "房屋用途": "",
        "建筑面积（平方米）": "89.5",
        "产权人": "刘德明",
    }
    values.update(kw)
    return values


def table(*rows: dict[str, Any], language: str = "zh-hans") -> bytes:
    return rentals_table(*rows, language=language, columns=HEADER)


def run(data: bytes, by: Any = None, name: str = "rooms.csv") -> Any:
    return room_actions.rooms_import(by=by, data=data, file_name=name)


def sheet_rows(content: bytes, sheet: int) -> list[list[Any]]:
    return [list(r) for r in load_workbook(io.BytesIO(content)).worksheets[sheet].iter_rows(values_only=True)]


def test_the_template_has_the_export_columns_and_the_room_use_codes(world: World) -> None:
    content = room_export.rooms_template()
    assert sheet_rows(content, 0) == [HEADER()]
    codes = sheet_rows(content, 1)
    uses = list(RoomUse.objects.order_by("order", "id"))
    assert [row[1:] for row in codes[1:]] == [[u.standard_code or u.code, u.name] for u in uses]
    assert {"residence", "rented", "business", "vacant"} <= {row[1] for row in codes[1:]}


def test_it_registers_a_room_from_the_filled_in_template(world: World) -> None:
    content = room_export.rooms_template()
    book = load_workbook(io.BytesIO(content))
    sheet = book.worksheets[0]
    header = [cell.value for cell in sheet[1]]
    sheet.append([room().get(column, "") for column in header])
    out = io.BytesIO()
    book.save(out)
    result = run(out.getvalue(), by=world.user(Role.GRID_WORKER), name="房屋.xlsx")
    assert (result.created, result.updated, result.rejected) == (1, 0, 0), result.problems
    made = Room.objects.get()
    assert (made.building, made.entrance, made.number, made.floor) == (world.buildings["grid_a1_1"], "2", "301", 3)
    assert (made.use_id, made.area, made.owner_name) == ("business", Decimal("89.50"), "刘德明")
    assert made.grid == world.areas["grid_a1_1"]


def test_the_use_is_read_by_code_name_english_name_or_standard_code(world: World) -> None:
    RoomUse.objects.filter(code="office").update(standard_code="40")
    result = run(
        table(
            room(**{"房号": "301", "房屋用途代码": "", "房屋用途": "出租"}),
            room(**{"房号": "302", "房屋用途代码": "vacant", "房屋用途": "自住"}),  # the code wins
            room(**{"房号": "303", "房屋用途代码": "40"}),
            room(**{"房号": "304", "房屋用途代码": "", "房屋用途": "Shop or business"}),
            room(**{"房号": "305", "房屋用途代码": "", "房屋用途": "商铺"}),  # an alias
            room(**{"房号": "306", "房屋用途代码": "", "房屋用途": ""}),  # a new room without a use: vacant
        )
    )
    assert result.created == 6, result.problems
    uses = dict(Room.objects.values_list("number", "use_id"))
    assert uses == {
        "301": "rented",
        "302": "vacant",
        "303": "office",
        "304": "business",
        "305": "business",
        "306": "vacant",
    }


def test_a_registered_room_is_updated_and_keeps_its_registered_owner_while_named(world: World) -> None:
    settled = room_actions.household_settle(by=None, household=world.households["grid_a1_1"])  # 1号楼 1单元 101
    head = world.residents["a1_1_head"]
    room_actions.room_update(by=None, room=settled, owner=head, area=Decimal("60"))
    result = run(table(room(**{"单元": "1单元", "房号": "101室", "产权人": head.name, "建筑面积（平方米）": "72.3㎡"})))
    assert (result.created, result.updated, result.unchanged) == (0, 1, 0), result.problems
    settled.refresh_from_db()
    assert (settled.area, settled.use_id, settled.owner, settled.owner_name) == (Decimal("72.30"), "business", head, "")
    assert Room.objects.count() == 1
    # Another name replaces the registered owner; blank cells change nothing.
    again = run(
        table(room(**{"单元": "1", "房号": "101", "产权人": "陈红", "建筑面积（平方米）": "", "房屋用途代码": ""}))
    )
    assert again.updated == 1, again.problems
    settled.refresh_from_db()
    assert (settled.area, settled.use_id, settled.owner, settled.owner_name) == (
        Decimal("72.30"),
        "business",
        None,
        "陈红",
    )
    update = AuditEntry.objects.filter(action="update", object_type="registry.room").order_by("pk").last()
    assert update is not None and update.detail["before"]["owner"] == str(head.pk)


def test_the_same_file_again_and_the_export_imported_back_change_nothing(world: World) -> None:
    staff = world.user(Role.COMMUNITY_STAFF)
    settled = room_actions.household_settle(by=None, household=world.households["grid_a1_1"])
    room_actions.room_update(by=None, room=settled, owner=world.residents["a1_1_head"], area=Decimal("88.88"))
    data = table(room(), room(**{"房号": "0302", "楼层": "3", "建筑面积（平方米）": "", "产权人": ""}))
    assert run(data, by=staff).created == 2
    again = run(data, by=staff)
    assert (again.created, again.updated, again.unchanged, again.rejected) == (0, 0, 2, 0)
    for language in ("zh-hans", "en"):
        with translation.override(language):
            _count, exported = room_export.rooms_export(by=staff)
            back = run(b"".join(exported), by=staff, name="export.xlsx")
        assert (back.rows, back.created, back.updated, back.unchanged, back.rejected) == (3, 0, 0, 3, 0), back.problems
    assert set(Room.objects.values_list("number", flat=True)) == {"101", "301", "0302"}


def test_each_bad_row_is_reported_with_its_reason_and_the_good_ones_registered(world: World) -> None:
    result = run(
        table(
            room(),
            room(**{"楼栋": ""}),
            room(**{"楼栋": "火星大厦"}),
            room(**{"房号": ""}),
            room(**{"房号": "302", "建筑面积（平方米）": "八十"}),
            room(**{"房号": "303", "建筑面积（平方米）": "0"}),
            room(**{"房号": "304", "房屋用途代码": "宇宙站"}),
            room(**{"房号": "305", "楼层": "三楼"}),
            room(**{"房号": "306", "产权人": "名" * 61}),
            room(),  # the same room as the first row
            room(**{"房号": "307", "建筑面积（平方米）": "NaN"}),
        )
    )
    assert result.created == 1
    assert result.rejected == 10
    reasons = {p.row: (p.column, p.reason) for p in result.rejections}
    assert reasons[3] == ("楼栋", "请填写楼栋")
    assert reasons[4] == ("楼栋", "在您的辖区内找不到该楼栋：火星大厦")
    assert reasons[5] == ("房号", "请填写房号")
    assert reasons[6] == ("建筑面积（平方米）", "建筑面积应为数字（平方米）：八十")
    assert reasons[7] == ("建筑面积（平方米）", "建筑面积应大于 0、小于 10 万平方米：0")
    assert reasons[8] == ("房屋用途", "未知的房屋用途：宇宙站")
    assert reasons[9][0] == "楼层" and "三楼" in reasons[9][1]
    assert reasons[10] == ("产权人", "产权人超过 60 个字")
    assert reasons[11] == ("房号", "与第 2 行是同一房屋")
    assert reasons[12][0] == "建筑面积（平方米）"
    assert set(Room.objects.values_list("number", flat=True)) == {"301"}


def test_a_grid_worker_imports_into_their_grid_only(world: World) -> None:
    worker = world.user(Role.GRID_WORKER)  # 灵西第一网格: 1号楼
    neighbour = room_actions.room_create(by=None, building=world.buildings["grid_a1_1"], number="501")
    Room.objects.filter(pk=neighbour.pk).update(grid=world.areas["grid_a1_2"])  # its household moved it next door
    result = run(
        table(
            room(),
            room(**{"楼栋": "2号楼"}),  # the next grid of the same community
            room(**{"社区": "解放社区", "楼栋": "4号楼"}),  # another district
            room(**{"单元": "", "房号": "501"}),  # a room of the worker's building in the next grid
        ),
        by=worker,
    )
    assert (result.created, result.rejected) == (1, 3)
    reasons = {p.row: p.reason for p in result.rejections}
    assert reasons == {3: "该楼栋不在您的管辖范围内", 4: "该楼栋不在您的管辖范围内", 5: "该房屋不在您的管辖范围内"}
    neighbour.refresh_from_db()
    assert (neighbour.use_id, neighbour.area) == ("vacant", None)


def test_a_role_that_may_not_keep_the_registry_may_not_import_rooms(world: World) -> None:
    for role in (Role.PETITION_OFFICE, Role.DEPARTMENT, Role.GUARDIAN, Role.AUDITOR):
        with pytest.raises(PermissionDenied):
            run(table(room()), by=world.user(role))
    assert not Room.objects.exists()


def test_a_file_without_the_rooms_columns_is_refused_by_name(world: World) -> None:
    out = io.StringIO()
    csv.writer(out).writerows([["姓名", "楼栋", "房号"], ["张伟", "1号楼", "101"]])  # a residents list
    with pytest.raises(ImportFileError) as caught:
        run(out.getvalue().encode())
    assert "房屋用途" in str(caught.value)


def test_the_import_is_audited_and_a_failing_audit_registers_nothing(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    worker = world.user(Role.GRID_WORKER)
    run(table(room()), by=worker)
    entry = AuditEntry.objects.filter(action="import", object_type="registry.room").get()
    assert (entry.actor, entry.detail["created"]) == (worker, 1)
    assert AuditEntry.objects.filter(action="create", object_type="registry.room").count() == 1

    def refuse(**kwargs: Any) -> None:
        raise DatabaseError("audit log unavailable")

    monkeypatch.setattr(AuditEntry.objects, "create", refuse)
    with pytest.raises(DatabaseError):
        run(table(room(**{"房号": "302"}), room(**{"建筑面积（平方米）": "120"})), by=worker)
    assert set(Room.objects.values_list("number", "area")) == {("301", Decimal("89.50"))}


def test_the_export_is_scoped_audited_and_shows_an_owner_only_in_scope(world: World) -> None:
    building = world.buildings["grid_a1_1"]
    own = room_actions.room_create(by=None, building=building, number="301", area=Decimal("50.5"))
    room_actions.room_update(by=None, room=own, owner=world.residents["a1_2_head"])  # lives in grid_a1_2
    room_actions.room_create(by=None, building=world.buildings["grid_a1_2"], number="201", owner_name="钱多多")
    worker = world.user(Role.GRID_WORKER)
    count, chunks = room_export.rooms_export(by=worker)
    rows = sheet_rows(b"".join(chunks), 0)
    assert count == 1 and rows[0] == HEADER()
    assert rows[1] == ["友好街道", "灵西社区", "灵西第一网格", "1号楼", None, "301", 3, "vacant", "空置", 50.5, None]
    entry = AuditEntry.objects.filter(action="export", object_type="registry.room").get()
    assert (entry.actor, entry.detail["count"]) == (worker, 1)
    _count, chunks = room_export.rooms_export(by=world.user(Role.COMMUNITY_STAFF))
    owners = {row[5]: row[10] for row in sheet_rows(b"".join(chunks), 0)[1:]}
    assert owners == {"301": "赵志强", "201": "钱多多"}
    with pytest.raises(PermissionDenied):
        room_export.rooms_export(by=world.user(Role.PETITION_OFFICE))


def test_the_building_plan_links_to_the_import_page_which_shows_the_report(world: World, client_for: Any) -> None:
    building = world.buildings["grid_a1_1"]
    client = client_for(Role.GRID_WORKER)
    plan = client.get(f"/buildings/{building.pk}/plan/").content.decode()
    assert "/rooms/import/" in plan and f"/rooms/export.xlsx?building={building.pk}" in plan
    assert client.get("/rooms/import/").status_code == 200
    assert client.get("/rooms/template.xlsx").status_code == 200
    upload = SimpleUploadedFile("rooms.csv", table(room(), room(**{"楼栋": "2号楼"})))
    response = client.post("/rooms/import/", {"file": upload})
    assert response.status_code == 200
    assert "该楼栋不在您的管辖范围内" in response.content.decode()
    assert response.context["result"].created == 1
    report = client.get(f"/registry/import/reports/{response.context['report']}/")
    assert "该楼栋不在您的管辖范围内" in b"".join(report.streaming_content).decode("utf-8-sig")
    export = client.get(f"/rooms/export.xlsx?building={building.pk}")
    assert export.status_code == 200
    assert sheet_rows(b"".join(export.streaming_content), 0)[1][5] == "301"
    assert client.get(f"/rooms/export.xlsx?building={world.buildings['grid_a1_2'].pk}").status_code == 404
    for role in (Role.PETITION_OFFICE, Role.GUARDIAN, Role.AUDITOR):
        other = client_for(role)
        assert other.get("/rooms/import/").status_code == 404
        assert other.post("/rooms/import/", {"file": SimpleUploadedFile("r.csv", table(room()))}).status_code == 404
    assert client_for(Role.PETITION_OFFICE).get("/rooms/export.xlsx").status_code in (403, 404)
    assert Room.objects.count() == 1


def test_the_import_page_answers_an_unreadable_file_with_a_400_and_its_reason(world: World, client_for: Any) -> None:
    response = client_for(Role.GRID_WORKER).post(
        "/rooms/import/", {"file": SimpleUploadedFile("rooms.csv", b"\x00\x01binary")}
    )
    assert response.status_code == 400
    assert "表格文件" in response.content.decode()
    assert not Room.objects.exists()


def test_the_import_page_speaks_english_and_reads_an_english_export(world: World, client_for: Any) -> None:
    client = client_for(Role.GRID_WORKER)
    client.cookies["django_language"] = "en"
    page = client.get("/rooms/import/").content.decode()
    assert "Import rooms" in page
    data = table(room(), room(**{"楼栋": "2号楼"}), room(**{"房号": "302", "建筑面积（平方米）": "big"}), language="en")
    assert b"Room use code" in data.splitlines()[0]
    response = client.post("/rooms/import/", {"file": SimpleUploadedFile("rooms.csv", data)})
    assert response.status_code == 200, response.context["form"].errors
    assert response.context["result"].created == 1
    answer = response.content.decode()
    assert "This building is outside your areas" in answer
    assert "The floor area must be a number of square metres: big" in answer
    assert "Updated" in answer and "Unchanged" in answer
