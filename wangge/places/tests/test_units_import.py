"""Importing the units register: good rows in, bad rows reported row by row, the same file twice
changes nothing, an export re-imported keeps the masked phones, scope and audit hold."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.db import DatabaseError

from wangge.accounts.models import Role
from wangge.areas.models import Building
from wangge.conftest import World
from wangge.core.models import AuditEntry
from wangge.places import actions as place_actions
from wangge.places import creditcode, exchange, unit_imports
from wangge.places.codes import ensure_defaults
from wangge.places.importing import import_units
from wangge.places.models import PlaceType, Unit, UnitImport
from wangge.registry.importing.reading import ImportFileError

pytestmark = pytest.mark.django_db

CODE = creditcode.make("91210304MA0XYW123")
OTHER_CODE = creditcode.make("92210304MA0ABC456")
HEADER = [
    "单位名称",
    "统一社会信用代码",
    "单位类别",
    "法定代表人（负责人）",
    "联系电话",
    "从业人员数",
    "党组织",
    "社区",
    "楼栋",
    "地址",
]


def table(*rows: list[str], header: list[str] = HEADER) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def shop(**kw: str) -> list[str]:
    values = {
        "name": "鞍山市立山区好邻居便利店",
        "code": CODE,
        "kind": "个体工商户",
        "rep": "刘志刚",
        "phone": "13812345678",
        "staff": "3",
        "party": "未建立党组织",
        "community": "灵西社区",
        "building": "1号楼",
        "address": "",
    }
    values.update(kw)
    return list(values.values())


@pytest.fixture(autouse=True)
def kinds(db: None) -> None:
    ensure_defaults()


def run(data: bytes, by: Any = None) -> Any:
    return import_units(data=data, file_name="units.csv", by=by)


def test_it_imports_a_unit_into_its_buildings_grid(world: World) -> None:
    result = run(table(shop()))
    assert (result.created, result.rejected) == (1, 0)
    unit = Unit.objects.get()
    assert unit.credit_code == CODE
    assert unit.kind_id == "individual"
    assert unit.building == world.buildings["grid_a1_1"]
    assert unit.grid == world.areas["grid_a1_1"]
    assert unit.staff_count == 3
    assert unit.legal_rep_phone == "13812345678"


def test_the_same_file_again_changes_nothing(world: World) -> None:
    data = table(shop(), shop(name="无代码的修鞋铺", code="", kind="individual"))
    assert run(data).created == 2
    again = run(data)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 2)
    assert Unit.objects.count() == 2


def test_a_changed_row_updates_the_unit_found_by_its_credit_code(world: World) -> None:
    run(table(shop()))
    result = run(table(shop(name="好邻居便利店（更名）", staff="5", building="2号楼")))
    assert (result.created, result.updated) == (0, 1)
    unit = Unit.objects.get()
    assert (unit.name, unit.staff_count) == ("好邻居便利店（更名）", 5)
    assert unit.grid == world.areas["grid_a1_2"]  # moved with its building


def test_blank_cells_and_a_masked_phone_keep_what_the_register_holds(world: World) -> None:
    run(table(shop()))
    result = run(table(shop(phone="138****5678", staff="", kind="", rep="")))
    assert result.unchanged == 1
    unit = Unit.objects.get()
    assert (unit.legal_rep_phone, unit.staff_count, unit.legal_rep) == ("13812345678", 3, "刘志刚")


def test_an_export_imported_again_changes_nothing(world: World) -> None:
    run(table(shop(), shop(name="社区卫生服务站", code=OTHER_CODE, kind="机关事业单位", building="2号楼")))
    _count, chunks = exchange.units_export(by=world.user(Role.COMMUNITY_STAFF))
    content = b"".join(chunks)
    result = import_units(data=content, file_name="export.xlsx", by=world.user(Role.COMMUNITY_STAFF))
    assert (result.rows, result.unchanged, result.rejected) == (2, 2, 0), result.problems
    assert set(Unit.objects.values_list("legal_rep_phone", flat=True)) == {"13812345678"}


def test_each_bad_row_is_reported_and_the_good_ones_imported(world: World) -> None:
    wrong = CODE[:17] + ("0" if CODE[17] != "0" else "1")
    result = run(
        table(
            shop(),
            shop(name="", code=OTHER_CODE),
            shop(name="另一家", code=wrong),
            shop(name="重复代码", code=CODE),
            shop(name="未知社区的店", code="", community="火星社区"),
            shop(name="电话错了", code="", phone="12345"),
            shop(name="类别错了", code="", kind="宇宙公司"),
            shop(name="新店没有法人", code="", rep=""),
        )
    )
    assert result.created == 1
    assert result.rejected == 7
    reasons = {(p.row, p.column): p.reason for p in result.rejections}
    assert reasons[(3, "单位名称")] == "缺少单位名称"
    assert "校验码" in reasons[(4, "统一社会信用代码")]
    assert "第 2 行重复" in reasons[(5, "统一社会信用代码")]
    assert "火星社区" in reasons[(6, "社区")]
    assert (7, "联系电话") in reasons
    assert "宇宙公司" in reasons[(8, "单位类别")]
    assert (9, "法定代表人（负责人）") in reasons


def test_a_code_failing_only_its_check_character_is_refused_as_the_unit_form_refuses_it(world: World) -> None:
    result = run(table(shop(code="91350100M0001TGQXM")))  # an early pilot code, or a typo
    assert (result.created, result.rejected) == (0, 1)
    assert "校验码" in result.rejections[0].reason


def test_an_unrecognised_party_organisation_is_a_warning_and_keeps_the_register(world: World) -> None:
    run(table(shop(party="党支部")))
    result = run(table(shop(party="有几个党员")))
    assert (result.unchanged, result.warned) == (1, 1)
    assert "有几个党员" in result.warnings[0].reason
    assert Unit.objects.get().party_org == Unit.PartyOrg.BRANCH


def test_a_building_the_community_lacks_is_created_to_be_located(world: World) -> None:
    result = run(table(shop(building="新建的18")))
    assert result.buildings_created == 1
    building = Building.objects.get(name="新建的18")
    assert building.needs_location
    assert Unit.objects.get().building == building


def test_a_community_staff_member_cannot_import_into_another_community(world: World) -> None:
    staff = world.user(Role.COMMUNITY_STAFF)  # 灵西社区
    run(table(shop(name="曙光的店", code=OTHER_CODE, community="曙光社区")))
    result = run(
        table(shop(), shop(name="曙光的店", code=OTHER_CODE, community="灵西社区", building="2号楼")),
        by=staff,
    )
    assert (result.created, result.rejected) == (1, 1)
    assert "管辖范围以外" in result.rejections[0].reason
    assert Unit.objects.get(credit_code=OTHER_CODE).community == world.areas["community_b1"]


def test_a_grid_worker_may_not_import(world: World) -> None:
    with pytest.raises(PermissionDenied):
        run(table(shop()), by=world.user(Role.GRID_WORKER))
    assert not Unit.objects.exists()


def test_a_file_without_the_units_columns_is_refused_by_name(world: World) -> None:
    with pytest.raises(ImportFileError) as caught:
        run(table(["张伟", "210304195603080251"], header=["姓名", "公民身份号码"]))
    assert "单位名称" in str(caught.value)


def test_the_import_is_audited_and_a_failing_audit_writes_nothing(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    run(table(shop()))
    entry = AuditEntry.objects.filter(action="import", object_type="places.unit").latest("id")
    assert entry.detail["created"] == 1

    def refuse(**kwargs: Any) -> None:
        raise DatabaseError("audit log unavailable")

    monkeypatch.setattr(AuditEntry.objects, "create", refuse)
    with pytest.raises(DatabaseError):
        run(table(shop(name="第二家", code=OTHER_CODE, building="新楼")))
    assert Unit.objects.count() == 1
    assert not Building.objects.filter(name="新楼").exists()


def test_the_import_page_shows_the_result_and_the_report_for_its_uploader(world: World, client_for: Any) -> None:
    client = client_for(Role.COMMUNITY_STAFF)
    assert "导入" in client.get("/units/").content.decode()
    upload = io.BytesIO(table(shop(), shop(name="", code=OTHER_CODE)))
    upload.name = "units.csv"
    response = client.post("/units/import/", {"file": upload})
    assert response.status_code == 200
    page = response.content.decode()
    assert "导入单位 1 个" in page
    assert "缺少单位名称" in page
    token = response.context["report"]
    report = client.get(f"/registry/import/reports/{token}/")
    assert "缺少单位名称" in b"".join(report.streaming_content).decode("utf-8-sig")
    assert client_for(Role.STREET_STAFF).get(f"/registry/import/reports/{token}/").status_code == 404
    assert client_for(Role.GRID_WORKER).get("/units/import/").status_code == 404


def test_the_import_page_answers_a_file_it_cannot_read_with_a_clear_400(world: World, client_for: Any) -> None:
    upload = io.BytesIO(b"\x00\x01binary")
    upload.name = "units.csv"
    response = client_for(Role.COMMUNITY_STAFF).post("/units/import/", {"file": upload})
    assert response.status_code == 400
    assert "表格文件" in response.content.decode()
    assert not Unit.objects.exists()


# The run record: what each import created, undone as a whole


def test_each_import_keeps_a_run_record_of_the_units_and_buildings_it_created(world: World) -> None:
    staff = world.user(Role.COMMUNITY_STAFF)
    result = run(table(shop(), shop(name="新楼里的店", code=OTHER_CODE, building="新建的9号楼")), by=staff)
    record = UnitImport.objects.get(pk=result.run_id)
    assert (record.file_name, record.created_by, record.status) == ("units.csv", staff, UnitImport.Status.DONE)
    assert record.counts["created"] == 2
    assert set(Unit.objects.filter(import_run=record).values_list("credit_code", flat=True)) == {CODE, OTHER_CODE}
    assert record.buildings == [Building.objects.get(name="新建的9号楼").pk]
    assert unit_imports.created_counts(record) == {"units": 2, "units_kept": 0, "buildings": 1}


def test_undoing_an_import_removes_what_it_created_and_keeps_what_it_only_updated(world: World) -> None:
    staff = world.user(Role.COMMUNITY_STAFF)
    run(table(shop()), by=staff)  # registered by an earlier import
    second = run(
        table(shop(staff="9"), shop(name="新楼里的店", code=OTHER_CODE, building="新建的9号楼")),
        by=staff,
    )
    summary = unit_imports.unit_import_undo(by=staff, run=UnitImport.objects.get(pk=second.run_id))
    assert summary == {"units": 1, "units_kept": 0, "buildings": 1, "buildings_kept": 0}
    assert list(Unit.objects.values_list("credit_code", "staff_count")) == [(CODE, 9)]  # the update stays
    assert not Building.objects.filter(name="新建的9号楼").exists()
    record = UnitImport.objects.get(pk=second.run_id)
    assert record.status == UnitImport.Status.UNDONE
    assert record.counts["undo"]["units"] == 1
    entry = AuditEntry.objects.filter(action="delete", object_type="places.unitimport").get()
    assert entry.actor == staff
    assert entry.detail["units"] == 1


def test_undoing_keeps_a_unit_a_key_place_now_belongs_to_and_its_building(world: World) -> None:
    staff = world.user(Role.COMMUNITY_STAFF)
    result = run(table(shop(building="新建的9号楼")), by=staff)
    unit = Unit.objects.get()
    place_actions.place_register(
        by=staff, name="好邻居便利店", place_type=PlaceType.objects.first().code, building=unit.building, unit=unit
    )
    record = UnitImport.objects.get(pk=result.run_id)
    assert unit_imports.created_counts(record) == {"units": 0, "units_kept": 1, "buildings": 1}
    summary = unit_imports.unit_import_undo(by=staff, run=record)
    assert summary == {"units": 0, "units_kept": 1, "buildings": 0, "buildings_kept": 1}
    assert Unit.objects.filter(pk=unit.pk).exists()
    assert Building.objects.filter(name="新建的9号楼").exists()


def test_an_undo_whose_audit_entry_fails_removes_nothing(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    staff = world.user(Role.COMMUNITY_STAFF)
    result = run(table(shop(building="新建的9号楼")), by=staff)

    def refuse(**kwargs: Any) -> None:
        raise DatabaseError("audit log unavailable")

    monkeypatch.setattr(AuditEntry.objects, "create", refuse)
    with pytest.raises(DatabaseError):
        unit_imports.unit_import_undo(by=staff, run=UnitImport.objects.get(pk=result.run_id))
    assert Unit.objects.count() == 1
    assert Building.objects.filter(name="新建的9号楼").exists()
    assert UnitImport.objects.get(pk=result.run_id).status == UnitImport.Status.DONE


def test_the_run_page_lists_the_runs_and_undoes_one_after_a_confirmation(world: World, client_for: Any) -> None:
    client = client_for(Role.COMMUNITY_STAFF)
    upload = io.BytesIO(table(shop(), shop(name="", code=OTHER_CODE)))
    upload.name = "units.csv"
    response = client.post("/units/import/", {"file": upload})
    run_id = response.context["result"].run_id
    assert f"/units/import/{run_id}/" in response.content.decode()
    assert f"/units/import/{run_id}/" in client.get("/units/import/").content.decode()  # recent runs
    page = client.get(f"/units/import/{run_id}/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "缺少单位名称" in text
    assert "撤销这次导入" in text
    assert client.post(f"/units/import/{run_id}/undo/").status_code == 400  # not confirmed
    assert Unit.objects.count() == 1
    done = client.post(f"/units/import/{run_id}/undo/", {"confirm": "yes"})
    assert done.status_code == 302
    assert not Unit.objects.exists()
    assert "已撤销" in client.get(f"/units/import/{run_id}/").content.decode()
    assert client.post(f"/units/import/{run_id}/undo/", {"confirm": "yes"}).status_code == 409


def test_a_run_is_its_uploaders_alone(world: World, client_for: Any) -> None:
    result = run(table(shop()), by=world.user(Role.COMMUNITY_STAFF))
    for role in (Role.STREET_STAFF, Role.DISTRICT_ADMIN, Role.GRID_WORKER):
        other = client_for(role)
        assert other.get(f"/units/import/{result.run_id}/").status_code == 404
        assert other.post(f"/units/import/{result.run_id}/undo/", {"confirm": "yes"}).status_code == 404
    assert Unit.objects.count() == 1
