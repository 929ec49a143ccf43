"""Resident import: encodings, formats, per-row rejections, re-imports, scope, command and page."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from openpyxl import Workbook, load_workbook

from wangge import cli
from wangge.areas.models import Area, Building
from wangge.conftest import World
from wangge.core import idnumbers
from wangge.core.models import AuditEntry
from wangge.core.tasks import run_queued
from wangge.registry import search
from wangge.registry.importing import ImportFileError, import_residents
from wangge.registry.models import CareTag, Household, LifeEvent, Resident, ResidentImport, SearchKey

HEADER = ["姓名", "公民身份号码", "联系电话", "社区", "楼栋", "单元", "房号", "与户主关系", "人员类别"]
TRADITIONAL_HEADER = ["姓名", "公民身份號碼", "聯繫電話", "社區", "樓棟", "單元", "房號", "與戶主關係", "人員類別"]


def id_for(sequence: int, *, year: int = 1950, area_code: str = "210304", sex: str = "M") -> str:
    return idnumbers.make(
        area_code=area_code, birth_date=dt.date(year, 1, 1) + dt.timedelta(days=sequence), sequence=sequence, sex=sex
    )


def csv_bytes(rows: list[list[str]], *, encoding: str = "utf-8", header: list[str] = HEADER) -> bytes:
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode(encoding)


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def run(data: bytes, *, by: Any = None, file_name: str = "居民.csv") -> Any:
    return import_residents(data=data, file_name=file_name, by=by)


def report_rows(path: Path) -> list[list[str]]:
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf"), "the report must carry a BOM so Excel reads it as UTF-8"
    return list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))


@pytest.fixture
def lishan(world: World) -> Area:
    """A community with an official full name, short name and 12-digit code."""
    return Area.objects.create(
        level="community",
        name="光明社区居民委员会",
        short_name="光明社区",
        code="210304001001",
        parent=world.areas["street_a"],
    )


@pytest.mark.django_db
def test_it_imports_a_gbk_csv_with_traditional_characters_and_reports_the_defective_rows(
    world: World, tmp_path: Path
) -> None:
    rows = [
        ["張偉", id_for(1), "13904121234", "靈西社區", "12號樓", "2", "301", "戶主", "獨居老人、低保"],
        ["劉娟", id_for(2, sex="F"), "", "灵西社区", "12号楼", "2單元", "301", "妻", ""],
        ["", id_for(3), "", "灵西社区", "12号楼", "2", "302", "", ""],  # row 4: no name
        ["陳靜", id_for(4)[:-1] + ("0" if id_for(4)[-1] != "0" else "1"), "", "灵西社区", "12", "2", "303", "", ""],
        ["趙敏", id_for(5), "", "不存在社區", "5号楼", "1", "101", "", ""],  # row 6: unknown community
        ["黃蓉", id_for(6, sex="F"), "0412-5551234", "灵西社区", "5号楼", "1", "102", "户主", ""],
    ]
    data = csv_bytes(rows, encoding="gbk", header=TRADITIONAL_HEADER)
    path = write(tmp_path, "居民-gbk.csv", data)
    report = tmp_path / "report.csv"

    out = io.StringIO()
    call_command("import", "residents", str(path), "--report", str(report), stdout=out)

    assert "导入 3 人，更新 0 人，未变 0 人，拒绝 3 行" in out.getvalue()
    zhang = Resident.objects.get(id_number=id_for(1))
    assert zhang.name == "張偉"  # stored as written: it is the person's legal record
    assert zhang.community_id == world.areas["community_a1"].pk
    assert sorted(zhang.care_tags.values_list("category__code", flat=True)) == ["elderly_alone", "minimum_income"]
    liu = Resident.objects.get(id_number=id_for(2, sex="F"))
    assert liu.household_id == zhang.household_id  # 12號樓 2單元 301 is 12号楼 2单元 301
    assert liu.relationship == Resident.Relationship.SPOUSE
    assert zhang.household is not None and zhang.household.head_id == zhang.pk
    assert SearchKey.objects.filter(resident=zhang, key="张伟").exists()  # found in simplified form
    body = report_rows(report)
    assert body[0] == ["行号", "列", "状态", "原因"]
    rejected = [(int(r[0]), r[1], r[3]) for r in body[1:] if r and r[2] == "拒绝"]
    assert {row for row, _column, _reason in rejected} == {4, 5, 6}
    assert (4, "姓名", "缺少姓名") in rejected
    assert any(row == 5 and column == "公民身份號碼" and "校验位错误" in reason for row, column, reason in rejected)
    assert (6, "社區", "未知的社区：不存在社區") in rejected


@pytest.mark.django_db
def test_it_reads_utf8_with_bom(world: World) -> None:
    data = csv_bytes([["王芳", id_for(1, sex="F"), "13800001234", "灵西社区", "3号楼", "1", "101", "户主", ""]])
    result = run(b"\xef\xbb\xbf" + data)
    assert result.encoding == "utf-8-sig"
    assert result.created == 1
    assert Resident.objects.get(id_number=id_for(1, sex="F")).name == "王芳"


@pytest.mark.django_db
def test_it_keeps_characters_only_gb18030_can_encode(world: World) -> None:
    name = "王𠀀㵘"
    with pytest.raises(UnicodeEncodeError):
        name.encode("gbk")
    data = csv_bytes(
        [
            ["李𠀀", id_for(1), "", "灵西社区", "3号楼", "1", "101", "", ""],
            [name, id_for(2), "", "灵西社区", "3", "1", "102", "", ""],
        ],
        encoding="gb18030",
    )
    result = run(data)
    assert result.encoding == "gb18030"
    assert result.created == 2
    assert Resident.objects.get(id_number=id_for(2)).name == name
    assert Resident.objects.get(id_number=id_for(1)).name == "李𠀀"


@pytest.mark.django_db
def test_it_imports_xlsx_with_a_title_row_and_numeric_cells(world: World, tmp_path: Path) -> None:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(["灵西社区居民花名册"])  # a title above the header, as many tables have
    sheet.append(HEADER)
    sheet.append(["孙悦", id_for(1, sex="F"), 13912345678, "灵西社区", 7, 2, 501, "户主", "残疾人"])
    sheet.append(["", id_for(2), None, "灵西社区", 7, 2, 502, None, None])
    out = io.BytesIO()
    workbook.save(out)
    result = run(out.getvalue(), file_name="名册.xlsx")
    assert (result.encoding, result.created, result.rejected) == ("xlsx", 1, 1)
    sun = Resident.objects.select_related("household__building").get(id_number=id_for(1, sex="F"))
    assert sun.phone == "13912345678"
    assert sun.household is not None
    assert (sun.household.building.name, sun.household.entrance, sun.household.room) == ("7号楼", "2", "501")
    assert [(p.row, p.column) for p in result.rejections] == [(4, "姓名")]  # spreadsheet row numbers


@pytest.mark.django_db
def test_it_accepts_english_headers(world: World) -> None:
    header = [
        "Name",
        "ID Number",
        "Phone",
        "Community",
        "Building",
        "Entrance",
        "Room",
        "Relationship",
        "Care categories",
    ]
    data = csv_bytes([["Li Lei", id_for(1), "", "灵西社区", "1号楼", "", "9", "head", "dementia"]], header=header)
    result = run(data)
    assert result.created == 1
    li = Resident.objects.get(id_number=id_for(1))
    assert li.relationship == Resident.Relationship.HEAD
    assert list(li.care_tags.values_list("category__code", flat=True)) == ["dementia"]


@pytest.mark.django_db
def test_it_changes_nothing_when_the_same_file_is_imported_again(world: World) -> None:
    rows = [
        [f"居民{i}", id_for(i), f"1390000{i:04d}", "灵西社区", f"{i % 3 + 1}号楼", "1", f"{i}01", "户主", "低保"]
        for i in range(1, 8)
    ]
    data = csv_bytes(rows, encoding="gbk")
    first = run(data)
    assert first.created == 7
    before = {
        "residents": list(Resident.objects.order_by("pk").values_list("pk", "updated_at", "household_id")),
        "keys": SearchKey.objects.count(),
        "tags": CareTag.objects.count(),
        "households": Household.objects.count(),
        "buildings": Building.objects.count(),
        "events": LifeEvent.objects.count(),
        "audit": AuditEntry.objects.count(),
    }
    again = run(data)
    assert (again.created, again.updated, again.unchanged, again.rejected) == (0, 0, 7, 0)
    assert again.summary == "导入 0 人，更新 0 人，未变 7 人，拒绝 0 行"
    after = {
        "residents": list(Resident.objects.order_by("pk").values_list("pk", "updated_at", "household_id")),
        "keys": SearchKey.objects.count(),
        "tags": CareTag.objects.count(),
        "households": Household.objects.count(),
        "buildings": Building.objects.count(),
        "events": LifeEvent.objects.count(),
        "audit": AuditEntry.objects.count(),
    }
    assert after == {**before, "audit": before["audit"] + 1}  # one summary entry, nothing else
    entry = AuditEntry.objects.first()
    assert entry is not None and entry.action == AuditEntry.Action.IMPORT
    assert entry.detail["unchanged"] == 7


@pytest.mark.django_db
def test_it_updates_a_changed_phone_and_moves_a_changed_address(world: World) -> None:
    row = ["周强", id_for(1), "13900001111", "灵西社区", "1号楼", "1", "101", "户主", ""]
    run(csv_bytes([row]))
    zhou = Resident.objects.get(id_number=id_for(1))
    old_household = zhou.household_id

    result = run(csv_bytes([[*row[:2], "13900002222", *row[3:]]]))
    assert (result.created, result.updated, result.unchanged) == (0, 1, 0)
    zhou.refresh_from_db()
    assert zhou.phone == "13900002222"
    assert set(SearchKey.objects.filter(resident=zhou).values_list("key", flat=True)) == set(
        search.keys_for(zhou.name, zhou.id_number, zhou.phone)
    )

    result = run(csv_bytes([[*row[:2], "13900002222", "曙光社区", "8号楼", "3", "602", "户主", ""]]))
    assert result.updated == 1
    zhou.refresh_from_db()
    assert zhou.household_id != old_household
    assert zhou.community_id == world.areas["community_b1"].pk
    assert zhou.street_id == world.areas["street_b"].pk
    assert LifeEvent.objects.filter(resident=zhou, kind=LifeEvent.Kind.MOVE_IN, household_id=zhou.household_id).exists()
    assert set(SearchKey.objects.filter(resident=zhou).values_list("community_id", flat=True)) == {zhou.community_id}


@pytest.mark.django_db
def test_it_creates_a_missing_building_flagged_as_needing_a_location(world: World) -> None:
    result = run(csv_bytes([["吴刚", id_for(1), "", "灵西社区", "新建18号楼", "3", "1102", "户主", ""]]))
    assert result.buildings_created == 1
    building = Building.objects.get(name="新建18号楼")
    assert building.needs_location
    assert building.grid_id is None
    assert (building.community_id, building.street_id, building.district_id) == (
        world.areas["community_a1"].pk,
        world.areas["street_a"].pk,
        world.areas["district"].pk,
    )
    assert building.entrances == 3
    wu = Resident.objects.get(id_number=id_for(1))
    assert wu.grid_id is None and wu.community_id == building.community_id


@pytest.mark.django_db
def test_it_upgrades_15_digit_numbers_and_accepts_a_lowercase_x(world: World) -> None:
    eighteen = id_for(1, year=1940)  # born 1940: the 15-digit number drops "19" and the check
    fifteen = eighteen[:6] + eighteen[8:17]
    with_x = next(id_for(i, sex="F") for i in range(2, 400) if id_for(i, sex="F").endswith("X"))
    rows = [
        ["郑老汉", fifteen, "", "灵西社区", "1号楼", "1", "101", "户主", ""],
        ["钱老太", with_x.lower(), "", "灵西社区", "1号楼", "1", "101", "配偶", ""],
    ]
    result = run(csv_bytes(rows))
    assert result.created == 2
    assert Resident.objects.filter(id_number=eighteen, birth_date=dt.date(1940, 1, 2)).exists()
    assert Resident.objects.filter(id_number=with_x).exists()
    assert [(w.row, w.status) for w in result.warnings] == [(2, "warning")]
    # The same person again under the 18-digit number is the same resident.
    assert run(csv_bytes([["郑老汉", eighteen, "", "灵西社区", "1号楼", "1", "101", "户主", ""]])).unchanged == 1


@pytest.mark.django_db
def test_it_imports_an_unknown_area_code_with_a_warning(world: World, tmp_path: Path) -> None:
    number = id_for(1, area_code="990101")
    path = write(tmp_path, "x.csv", csv_bytes([["冯远", number, "", "灵西社区", "1号楼", "1", "101", "", ""]]))
    report = tmp_path / "r.csv"
    call_command("import", "residents", str(path), "--report", str(report), stdout=io.StringIO())
    assert Resident.objects.filter(id_number=number).exists()
    body = report_rows(report)
    assert body[1][:3] == ["2", "公民身份号码", "警告"]
    assert "990101" in body[1][3]


@pytest.mark.django_db
def test_it_rejects_rows_outside_a_community_staffs_community(world: World) -> None:
    staff = world.user("community_staff")  # assigned 灵西社区 only
    rows = [
        ["陶然", id_for(1), "", "灵西社区", "1号楼", "1", "101", "", ""],
        ["贺军", id_for(2), "", "曙光社区", "1号楼", "1", "101", "", ""],
        ["韦东", id_for(3), "", "", "1号楼", "1", "102", "", ""],  # blank: the staff's one community
    ]
    result = run(csv_bytes(rows), by=staff)
    assert (result.created, result.rejected) == (2, 1)
    assert [(p.row, p.column, p.reason) for p in result.rejections] == [(3, "社区", "不在您的管辖范围内")]
    assert not Resident.objects.filter(id_number=id_for(2)).exists()
    assert Resident.objects.get(id_number=id_for(3)).community_id == world.areas["community_a1"].pk
    entry = AuditEntry.objects.get(action=AuditEntry.Action.IMPORT)
    assert entry.actor == staff


@pytest.mark.django_db
def test_it_does_not_move_a_resident_registered_outside_the_importers_scope(world: World) -> None:
    outsider = world.residents["b1_1_head"]  # lives in 曙光社区
    row = [outsider.name, outsider.id_number, "", "灵西社区", "1号楼", "1", "101", "", ""]
    result = run(csv_bytes([row]), by=world.user("community_staff"))
    assert result.rejected == 1
    outsider.refresh_from_db()
    assert outsider.community_id == world.areas["community_b1"].pk


@pytest.mark.django_db
def test_it_matches_communities_by_full_name_short_name_or_code(world: World, lishan: Area) -> None:
    rows = [
        ["甲", id_for(1), "", "光明社区居民委员会", "1号楼", "1", "101", "", ""],
        ["乙", id_for(2), "", "光明社区", "1号楼", "1", "102", "", ""],
        ["丙", id_for(3), "", "210304001001", "1号楼", "1", "103", "", ""],
        ["丁", id_for(4), "", "光明", "1号楼", "1", "104", "", ""],
    ]
    result = run(csv_bytes(rows))
    assert result.created == 3
    assert set(Resident.objects.filter(community=lishan).values_list("name", flat=True)) == {"甲", "乙", "丙"}
    assert [(p.row, p.column) for p in result.rejections] == [(5, "社区")]


@pytest.mark.django_db
def test_it_rejects_duplicates_bad_phones_and_missing_addresses_but_keeps_good_rows(world: World) -> None:
    rows = [
        ["甲", id_for(1), "0412-1234567", "灵西社区", "1号楼", "1", "101", "", ""],
        ["乙", id_for(1), "", "灵西社区", "1号楼", "1", "102", "", ""],
        ["丙", id_for(3), "12345", "灵西社区", "1号楼", "1", "103", "", ""],
        ["丁", id_for(4), "", "灵西社区", "", "1", "104", "", ""],
        ["戊", id_for(5), "", "灵西社区", "1号楼", "1", "", "", ""],
        ["己", id_for(6), "138 0000 1234", "灵西社区", "1号楼", "1", "106", "姑父", "外星人、失智"],
    ]
    result = run(csv_bytes(rows))
    assert (result.created, result.rejected, result.warned) == (2, 4, 1)
    reasons = {(p.row, p.column): p.reason for p in result.rejections}
    assert reasons[(3, "公民身份号码")] == "身份号码与第 2 行重复"
    assert "联系电话格式不正确" in reasons[(4, "联系电话")]
    assert reasons[(5, "楼栋")] == "缺少楼栋"
    assert reasons[(6, "房号")] == "缺少房号"
    ji = Resident.objects.get(id_number=id_for(6))
    assert ji.phone == "13800001234"
    assert ji.relationship == Resident.Relationship.OTHER
    assert list(ji.care_tags.values_list("category__code", flat=True)) == ["dementia"]
    assert {w.column for w in result.warnings} == {"与户主关系", "人员类别"}
    assert Resident.objects.get(id_number=id_for(1)).phone == "0412-1234567"


@pytest.mark.django_db
def test_it_writes_an_audit_entry_even_when_every_row_is_rejected(world: World) -> None:
    result = run(csv_bytes([["", "123", "", "", "", "", "", "", ""]]))
    assert (result.created, result.rejected) == (0, 1)
    entry = AuditEntry.objects.get(action=AuditEntry.Action.IMPORT)
    assert entry.detail["rejected"] == 1
    assert entry.detail["file"] == "居民.csv"


@pytest.mark.django_db
def test_it_refuses_files_that_are_not_spreadsheets(world: World) -> None:
    with pytest.raises(ImportFileError, match="不是表格文件"):
        run(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", file_name="photo.csv")
    with pytest.raises(ImportFileError, match="找不到表头"):
        run("名字,电话\n张三,138\n".encode())
    with pytest.raises(ImportFileError, match="Excel"):
        run(b"PK\x03\x04 not really a zip", file_name="broken.xlsx")
    assert not AuditEntry.objects.filter(action=AuditEntry.Action.IMPORT).exists()


@pytest.mark.django_db
def test_the_command_exits_0_1_or_2_and_prints_the_summary_line(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = write(tmp_path, "good.csv", csv_bytes([["甲", id_for(1), "", "灵西社区", "1号楼", "1", "101", "", ""]]))
    mixed = write(
        tmp_path,
        "mixed.csv",
        csv_bytes([["乙", id_for(2), "", "灵西社区", "1号楼", "1", "102", "", ""], ["", "12", *[""] * 7]]),
    )
    assert _cli_exit(["import", "residents", str(good)]) == 0
    assert "导入 1 人，更新 0 人，未变 0 人，拒绝 0 行" in capsys.readouterr().out

    assert _cli_exit(["import", "residents", str(mixed), "--report", str(tmp_path / "r.csv")]) == 1
    assert "导入 1 人，更新 0 人，未变 0 人，拒绝 1 行" in capsys.readouterr().out
    assert (tmp_path / "r.csv").exists()

    for bad in (write(tmp_path, "bad.csv", b"\x00\x01\x02binary"), tmp_path / "missing.csv"):
        assert _cli_exit(["import", "residents", str(bad)]) == 2
    assert "不是表格文件" in capsys.readouterr().err

    assert _cli_exit(["import", "residents", str(good), "--by", "grid_worker"]) == 2


def _cli_exit(argv: list[str]) -> int:
    try:
        cli.main(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


@pytest.fixture(autouse=True)
def _keep_the_test_connection(monkeypatch: pytest.MonkeyPatch) -> None:
    # A command run from argv closes every connection when it ends; on PostgreSQL that would
    # close the connection holding the test's transaction.
    from django.db import connections

    monkeypatch.setattr(connections, "close_all", lambda: None)


@pytest.mark.django_db
def test_the_command_applies_the_scope_of_the_by_user(world: World, tmp_path: Path) -> None:
    path = write(tmp_path, "b.csv", csv_bytes([["甲", id_for(1), "", "曙光社区", "1号楼", "1", "101", "", ""]]))
    assert _cli_exit(["import", "residents", str(path), "--by", "community_staff"]) == 1
    assert not Resident.objects.filter(id_number=id_for(1)).exists()
    assert _cli_exit(["import", "residents", str(path), "--by", "street_staff"]) == 1  # street A only
    assert _cli_exit(["import", "residents", str(path), "--by", "district_admin"]) == 0
    assert Resident.objects.filter(id_number=id_for(1), community=world.areas["community_b1"]).exists()


@pytest.mark.django_db
def test_the_upload_page_imports_and_offers_the_report_to_the_uploader_only(
    world: World, client_for: Callable[[str], Client]
) -> None:
    staff = client_for("community_staff")
    page = staff.get(reverse("registry:import"))
    assert page.status_code == 200
    assert reverse("registry:import-template") in page.content.decode()

    data = csv_bytes(
        [
            ["張三", id_for(1), "", "灵西社区", "1号楼", "1", "101", "户主", ""],
            ["李四", "21030419500101001", "", "灵西社区", "1号楼", "1", "102", "", ""],
        ],
        encoding="gbk",
    )
    upload = io.BytesIO(data)
    upload.name = "居民.csv"
    response = staff.post(reverse("registry:import"), {"file": upload})
    assert response.status_code == 302  # to the task page: the worker writes the rows
    task_page = response["Location"]
    assert not Resident.objects.filter(id_number=id_for(1)).exists()
    assert "排队中" in staff.get(task_page).content.decode()
    assert run_queued(worker="test") == 1
    finished = staff.get(task_page).content.decode()
    assert "导入 1 人，更新 0 人，未变 0 人，拒绝 1 行" in finished
    run_page = ResidentImport.objects.get().pk
    run_url = reverse("registry:import-run", args=[run_page])
    assert run_url in finished
    html = staff.get(run_url).content.decode()
    assert "身份号码应为18位" in html
    token = ResidentImport.objects.get().report_token
    report_url = reverse("registry:import-report", args=[token])
    assert report_url in html
    assert client_for("street_staff").get(run_url).status_code == 404  # another importer's import

    download = staff.get(report_url)
    assert download.status_code == 200
    body = b"".join(download.streaming_content)  # type: ignore[attr-defined]
    assert body.startswith(b"\xef\xbb\xbf")
    assert "身份号码应为18位" in body.decode("utf-8-sig")
    assert client_for("street_staff").get(report_url).status_code == 404  # another importer
    assert client_for("community_staff").get(reverse("registry:import-report", args=["x" * 32])).status_code == 404


@pytest.mark.django_db
def test_the_upload_page_explains_a_file_it_cannot_read(client_for: Callable[[str], Client]) -> None:
    upload = io.BytesIO(b"\x00\x01binary")
    upload.name = "x.csv"
    response = client_for("district_admin").post(reverse("registry:import"), {"file": upload})
    assert response.status_code == 400
    assert "不是表格文件" in response.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["grid_worker", "guardian", "auditor", "department", "petition_office"])
def test_roles_that_may_not_import_get_404(role: str, client_for: Callable[[str], Client]) -> None:
    client = client_for(role)
    assert client.get(reverse("registry:import")).status_code == 404
    assert client.get(reverse("registry:import-template")).status_code == 404
    upload = io.BytesIO(csv_bytes([["甲", id_for(1), "", "灵西社区", "1号楼", "1", "101", "", ""]]))
    upload.name = "x.csv"
    assert client.post(reverse("registry:import"), {"file": upload}).status_code == 404
    assert not Resident.objects.filter(id_number=id_for(1)).exists()


@pytest.mark.django_db
def test_the_template_download_is_a_workbook_that_imports_as_is(client_for: Callable[[str], Client]) -> None:
    response = client_for("community_staff").get(reverse("registry:import-template"))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    sheet = load_workbook(io.BytesIO(response.content)).active
    assert sheet is not None
    header = [cell.value for cell in sheet[1]]
    assert header[: len(HEADER) + 1] == [*HEADER, "示例行标记"]
    assert header[len(HEADER) + 1 : len(HEADER) + 3] == ["证件类型", "人口类型"]  # 实有人口, optional
    example = [cell.value for cell in sheet[2]]
    assert idnumbers.parse(str(example[1])).number == example[1]
    assert example[3] == "灵西社区"  # a community the downloader can import into
    assert example[len(HEADER)] == "示例"  # the marker column, before the optional 实有人口 ones
    result = run(response.content, file_name="template.xlsx")
    # Uploaded unchanged, the template's example person does not become a resident.
    assert (result.created, result.rejected, result.examples) == (0, 0, 1)
    assert not Resident.objects.filter(id_number=example[1]).exists()
    assert "跳过示例行 1 行" in result.summary
    assert [(p.row, p.status_label, p.reason) for p in result.problems] == [(2, "跳过", "模板中的示例行，未导入")]


@pytest.mark.django_db
def test_a_filled_in_template_imports_the_rows_below_the_example(client_for: Callable[[str], Client]) -> None:
    staff = client_for("community_staff")
    sheet_bytes = staff.get(reverse("registry:import-template")).content
    workbook = load_workbook(io.BytesIO(sheet_bytes))
    sheet = workbook.active
    assert sheet is not None
    sheet.append(["刘娟", id_for(7, sex="F"), "13900001234", "灵西社区", "12号楼", "2", "302", "户主", "", ""])
    out = io.BytesIO()
    workbook.save(out)
    upload = io.BytesIO(out.getvalue())
    upload.name = "居民.xlsx"
    response = staff.post(reverse("registry:import"), {"file": upload})
    assert response.status_code == 302
    run_queued(worker="test")
    assert (
        "导入 1 人，更新 0 人，未变 0 人，拒绝 0 行，跳过示例行 1 行"
        in staff.get(response["Location"]).content.decode()
    )
    html = staff.get(reverse("registry:import-run", args=[ResidentImport.objects.get().pk])).content.decode()
    assert "已跳过模板中的示例行 1 行（标有“示例”，第 2 行），未导入。" in html
    assert list(Resident.objects.filter(name__in=["刘娟", "张伟"]).values_list("name", flat=True)) == ["刘娟"]


@pytest.mark.django_db
def test_an_old_template_without_the_marker_column_still_skips_its_example(world: World) -> None:
    example = ["张伟", "210304195603080251", "13904121234", "灵西社区", "12号楼", "2", "301", "户主", ""]
    result = run(csv_bytes([example, ["王芳", id_for(8, sex="F"), "", "灵西社区", "12号楼", "2", "302", "", ""]]))
    assert (result.created, result.examples) == (1, 1)
    assert not Resident.objects.filter(name="张伟").exists()
