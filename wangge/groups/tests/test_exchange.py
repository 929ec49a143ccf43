"""A register's data in and out: the template per register, the masked and audited export, the
import with its per-row report and idempotency, the register page and ending a listing; each
register's policy decides who may do any of it (404 and no hint for everyone else)."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import DatabaseError
from openpyxl import load_workbook

from wangge.accounts import policy
from wangge.accounts.models import Role
from wangge.conftest import World
from wangge.core.models import AuditEntry
from wangge.groups import actions, codes
from wangge.groups.models import Listing, Register
from wangge.groups.tests.test_registers import listed, register, today

pytestmark = pytest.mark.django_db

ROLES = [Role(value) for value in Role.values]


def sheet_rows(content: bytes, index: int = 0) -> list[list[Any]]:
    book = load_workbook(io.BytesIO(content))
    return [list(row) for row in book.worksheets[index].iter_rows(values_only=True)]


def filled(template: bytes, rows: list[dict[str, Any]]) -> bytes:
    """The template with ``rows`` (header text → value) appended, as a district would fill it."""
    book = load_workbook(io.BytesIO(template))
    sheet = book.worksheets[0]
    header = [cell.value for cell in sheet[1]]
    for row in rows:
        sheet.append([row.get(str(h), "") for h in header])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def upload(client: Any, code: str, content: bytes, name: str = "名册.xlsx") -> Any:
    return client.post(f"/groups/registers/{code}/import/", {"file": SimpleUploadedFile(name, content)})


def inside_and_outside(reg: Register) -> tuple[Role, Role]:
    """A role just inside the register's policy for exports, and one just outside it: a role
    that exports other registers (or reads the registry district-wide) but is not a viewer."""
    inside = next(r for r in ROLES if r in reg.viewer_roles and r in policy.EXPORT_ROLES)
    outside = next((r for r in ROLES if r in policy.EXPORT_ROLES and r not in reg.viewer_roles), Role.PETITION_OFFICE)
    return inside, outside


@pytest.mark.parametrize("code", [row[0] for row in codes.REGISTERS])
def test_the_role_just_inside_a_registers_policy_gets_its_pages_and_the_one_just_outside_a_404(
    world: World, client_for: Any, code: str
) -> None:
    reg = register(code)
    person = listed(world, "a1_1_head", code)
    inside, outside = inside_and_outside(reg)
    allowed = client_for(inside)
    assert allowed.get(f"/groups/registers/{code}/").status_code == 200
    assert allowed.get(f"/groups/registers/{code}/template.xlsx").status_code == 200
    export = allowed.get(f"/groups/registers/{code}/export.xlsx?purpose=report")
    assert export.status_code == 200
    assert export["X-Row-Count"] == "1"
    assert sheet_rows(export.content)[1][0] == person.resident.name

    refused = client_for(outside)
    for path in ("/", "/template.xlsx", "/export.xlsx?purpose=report", "/import/"):
        response = refused.get(f"/groups/registers/{code}{path}")
        assert response.status_code == 404, (outside, path)
        assert person.resident.name not in response.content.decode(errors="ignore")
    assert upload(refused, code, b"x").status_code == 404
    assert refused.get(f"/groups/listings/{person.pk}/").status_code == 404


def test_the_aids_register_is_hidden_from_a_grid_worker_who_sees_the_others(world: World, client_for: Any) -> None:
    listed(world, "a1_1_head", "aids")
    worker = client_for(Role.GRID_WORKER)
    assert worker.get("/groups/registers/released/template.xlsx").status_code == 200
    for path in ("/", "/template.xlsx", "/export.xlsx", "/import/"):
        assert worker.get(f"/groups/registers/aids{path}").status_code == 404
    assert worker.get("/groups/registers/no-such-register/").status_code == 404
    assert client_for(Role.COMMUNITY_STAFF).get("/groups/registers/aids/export.xlsx").status_code == 200


def test_a_viewer_without_the_import_right_gets_a_404_on_the_import_page(world: World, client_for: Any) -> None:
    worker = client_for(Role.GRID_WORKER)  # sees and follows up 刑满释放, but imports nothing
    assert worker.get("/groups/registers/released/").status_code == 200
    assert worker.get("/groups/registers/released/import/").status_code == 404
    assert client_for(Role.COMMUNITY_STAFF).get("/groups/registers/released/import/").status_code == 200


def test_each_register_has_a_template_with_its_own_fields_and_its_code_tables(world: World, client_for: Any) -> None:
    staff = client_for(Role.COMMUNITY_STAFF)
    released = sheet_rows(staff.get("/groups/registers/released/template.xlsx").content)
    assert released[0][:2] == ["姓名", "公民身份号码"]
    assert {"释放日期", "安置帮教期开始日期", "安置帮教期结束日期", "负责司法所"} <= set(released[0])
    assert "目前危险性评估等级" not in released[0]
    correction = sheet_rows(staff.get("/groups/registers/correction/template.xlsx").content)[0]
    assert {"矫正开始日期", "矫正结束日期"} <= set(correction)
    mental = staff.get("/groups/registers/mental/template.xlsx").content
    assert {"目前危险性评估等级", "监护人姓名", "监护人联系方式"} <= set(sheet_rows(mental)[0])
    table = sheet_rows(mental, 1)
    assert table[0] == ["字段", "代码", "名称"]
    assert [row[1] for row in table if row[0] == "目前危险性评估等级"] == ["0", "1", "2", "3", "4", "5"]
    assert ["列管类别", "mental", "严重精神障碍患者"] in table
    assert [row[1] for row in table if row[0] == "关注程度"] == Listing.Attention.values


def test_the_export_is_masked_scoped_formula_neutral_and_audited_with_its_purpose(
    world: World, client_for: Any
) -> None:
    mine = listed(
        world, "a1_1_head", "mental", risk_level=3, guardian_name="=HYPERLINK(1)", guardian_phone="13912345678"
    )
    listed(world, "a1_2_head", "mental")  # the neighbouring grid
    listed(world, "a1_1_ward", "released")  # another register
    response = client_for(Role.GRID_WORKER).get("/groups/registers/mental/export.xlsx?purpose=check")
    rows = sheet_rows(response.content)
    header, body = rows[0], rows[1:]
    assert len(body) == 1
    row = dict(zip(header, body[0], strict=True))
    assert row["姓名"] == "王建国"
    assert row["公民身份号码"] != mine.resident.id_number and "*" in row["公民身份号码"]
    assert row["监护人联系方式"] != "13912345678" and "*" in row["监护人联系方式"]
    assert row["监护人姓名"] == "'=HYPERLINK(1)"
    assert row["目前危险性评估等级"] == 3
    assert row["列管类别代码"] == "mental"
    entry = AuditEntry.objects.filter(action="export", object_type="groups.listing").latest("id")
    assert entry.detail == {"purpose": "check", "register": "mental", "count": 1, "format": "xlsx"}
    assert entry.actor == world.user(Role.GRID_WORKER)
    refused = client_for(Role.GRID_WORKER).get("/groups/registers/mental/export.xlsx?purpose=gossip")
    assert refused.status_code == 400 and "请说明导出用途" in refused.content.decode()


def test_nothing_is_exported_when_the_audit_entry_fails(
    world: World, client_for: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    listed(world, "a1_1_head", "released")
    worker = client_for(Role.GRID_WORKER)

    def refuse(**kwargs: Any) -> None:
        raise DatabaseError("audit log unavailable")

    monkeypatch.setattr(AuditEntry.objects, "create", refuse)
    with pytest.raises(DatabaseError):
        worker.get("/groups/registers/released/export.xlsx")


def good_and_bad_rows(world: World) -> list[dict[str, Any]]:
    r = world.residents
    return [
        {"姓名": r["a1_1_head"].name, "公民身份号码": r["a1_1_head"].id_number, "列管日期": "2024-03-01",
         "释放日期": "2024-02-20", "安置帮教期结束日期": "2029/2/20", "负责司法所": "友好司法所", "关注程度": "重点"},
        {"姓名": r["a1_2_head"].name, "公民身份号码": r["a1_2_head"].id_number, "列管日期": "2024年5月6日",
         "关注程度代码": "watch"},
        # out of the importer's community: the same answer as a number nobody has
        {"姓名": r["b1_1_head"].name, "公民身份号码": r["b1_1_head"].id_number, "列管日期": "2024-03-01"},
        {"姓名": r["a1_1_ward"].name, "公民身份号码": r["a1_1_ward"].id_number, "列管日期": "明年"},
        {"姓名": "王建国", "公民身份号码": "210304********0011", "列管日期": "2024-03-01"},
    ]  # fmt: skip


def test_an_import_with_three_bad_rows_lists_the_good_ones_and_reports_the_three_with_reasons(
    world: World, client_for: Any
) -> None:
    staff = client_for(Role.COMMUNITY_STAFF)
    content = filled(staff.get("/groups/registers/released/template.xlsx").content, good_and_bad_rows(world))
    response = upload(staff, "released", content)
    assert response.status_code == 200
    result = response.context["result"]
    assert (result.created, result.rejected, result.unchanged) == (2, 3, 0)
    reasons = {(p.row, p.column): p.reason for p in result.rejections}
    assert reasons == {
        (4, "公民身份号码"): "在您的辖区内找不到该证件号码的在住居民",
        (5, "列管日期"): "请填写列管日期（如 2024-03-01）",
        (6, "公民身份号码"): "公民身份号码已脱敏（来自导出文件），请填写完整号码",
    }
    html = response.content.decode()
    assert "在您的辖区内找不到该证件号码的在住居民" in html and "孙丽华" not in html
    head = Listing.objects.get(resident=world.residents["a1_1_head"], register_id="released")
    assert head.period_end == dt.date(2029, 2, 20) and head.office == "友好司法所" and head.attention == "key"
    assert Listing.objects.get(resident=world.residents["a1_2_head"]).start == dt.date(2024, 5, 6)
    entry = AuditEntry.objects.filter(action="import", object_type="groups.listing").latest("id")
    assert entry.detail["purpose"] == "register"
    assert (entry.detail["created"], entry.detail["rejected"]) == (2, 3)
    report = staff.get(f"/registry/import/reports/{response.context['report']}/")
    assert "公民身份号码已脱敏" in b"".join(report.streaming_content).decode("utf-8-sig")


def test_importing_the_same_file_again_creates_nothing_new(world: World, client_for: Any) -> None:
    staff = client_for(Role.COMMUNITY_STAFF)
    content = filled(staff.get("/groups/registers/released/template.xlsx").content, good_and_bad_rows(world))
    upload(staff, "released", content)
    before = set(Listing.objects.values_list("pk", flat=True))
    again = upload(staff, "released", content).context["result"]
    assert (again.created, again.unchanged, again.rejected) == (0, 2, 3)
    assert set(Listing.objects.values_list("pk", flat=True)) == before


def test_an_export_imports_back_once_its_masked_numbers_are_filled_in(world: World, client_for: Any) -> None:
    listed(world, "a1_1_head", "correction", office="友好司法所")
    staff = client_for(Role.COMMUNITY_STAFF)
    exported = staff.get("/groups/registers/correction/export.xlsx").content
    result = upload(staff, "correction", exported).context["result"]
    assert result.rejected == 1 and "脱敏" in result.rejections[0].reason
    Listing.objects.all().delete()
    rows = sheet_rows(exported)
    row = dict(zip(rows[0], rows[1], strict=True))
    row["公民身份号码"] = world.residents["a1_1_head"].id_number
    template = staff.get("/groups/registers/correction/template.xlsx").content
    result = upload(staff, "correction", filled(template, [row])).context["result"]
    assert result.created == 1, result.problems
    assert Listing.objects.get().office == "友好司法所"


def test_a_file_that_is_not_a_register_is_a_clear_400_and_lists_nobody(world: World, client_for: Any) -> None:
    staff = client_for(Role.COMMUNITY_STAFF)
    response = upload(staff, "released", "单位名称,地址\n某公司,1号楼\n".encode(), "units.csv")
    assert response.status_code == 400
    assert "找不到表头" in response.content.decode()
    assert not Listing.objects.exists()


def test_a_file_past_the_registers_row_limit_is_refused_whole(
    world: World, client_for: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from wangge.groups import exchange

    monkeypatch.setattr(exchange, "MAX_ROWS", 1)
    staff = client_for(Role.COMMUNITY_STAFF)
    content = filled(staff.get("/groups/registers/released/template.xlsx").content, good_and_bad_rows(world)[:2])
    response = upload(staff, "released", content)
    assert response.status_code == 413 and "请分成几个文件导入" in response.content.decode()
    assert not Listing.objects.exists()


def test_a_failing_audit_rolls_the_whole_import_back(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    staff = world.user(Role.COMMUNITY_STAFF)
    from wangge.groups import exchange

    content = filled(exchange.template(register("released")), good_and_bad_rows(world))
    real = AuditEntry.objects.create

    def refuse_the_import_entry(**kwargs: Any) -> Any:
        if kwargs.get("action") == "import":
            raise DatabaseError("audit log unavailable")
        return real(**kwargs)

    monkeypatch.setattr(AuditEntry.objects, "create", refuse_the_import_entry)
    with pytest.raises(DatabaseError):
        actions.listings_import(by=staff, register=register("released"), data=content, file_name="名册.xlsx")
    assert not Listing.objects.exists()
    assert not AuditEntry.objects.filter(object_type="groups.listing").exists()


def test_the_import_action_refuses_a_caller_the_policy_does_not_let_import(world: World) -> None:
    from django.core.exceptions import PermissionDenied

    from wangge.groups import exchange

    # A viewer of 刑满释放 who may not import; an importer who is no viewer of 艾滋病危险人员.
    for role, code in ((Role.GRID_WORKER, "released"), (Role.STREET_STAFF, "aids")):
        content = filled(exchange.template(register(code)), good_and_bad_rows(world)[:1])
        with pytest.raises(PermissionDenied):
            actions.listings_import(by=world.user(role), register=register(code), data=content, file_name="x.xlsx")
    assert not Listing.objects.exists()


def test_the_register_page_lists_current_entries_and_those_taken_off(world: World, client_for: Any) -> None:
    current = listed(world, "a1_1_head", "released", period_end=today() - dt.timedelta(days=1))
    gone = listed(world, "a1_1_ward", "released")
    actions.listing_end(by=None, listing=gone, date=today(), reason="迁出本辖区")
    worker = client_for(Role.GRID_WORKER)
    html = worker.get("/groups/registers/released/").content.decode()
    assert f"/groups/listings/{current.pk}/" in html and f"/groups/listings/{gone.pk}/" not in html
    assert "期限已满" in html
    ended = worker.get("/groups/registers/released/?ended=1").content.decode()
    assert f"/groups/listings/{gone.pk}/" in ended and "迁出本辖区" in ended
    assert f"/groups/listings/{current.pk}/" not in ended
    entry = AuditEntry.objects.filter(action="view", object_type="groups.listing").latest("id")
    assert entry.detail["purpose"] == "check"
    worker.cookies["django_language"] = "en"
    english = worker.get("/groups/registers/released/").content.decode()
    assert "Released prisoner" in english and "Period over" in english and "Export XLSX" in english


def test_a_worker_ends_a_listing_whose_period_is_over(world: World, client_for: Any) -> None:
    listing = listed(world, "a1_1_head", "released", period_end=today() - dt.timedelta(days=1))
    worker = client_for(Role.GRID_WORKER)
    page = worker.get(f"/groups/listings/{listing.pk}/").content.decode()
    assert "安置帮教期满" in page  # the reasons offered
    bad = worker.post(f"/groups/listings/{listing.pk}/end/", {"end-date": today().isoformat(), "end-reason": ""})
    assert bad.status_code == 400
    response = worker.post(
        f"/groups/listings/{listing.pk}/end/", {"end-date": today().isoformat(), "end-reason": "安置帮教期满"}
    )
    assert response.status_code == 302 and response["Location"] == "/groups/registers/released/"
    listing.refresh_from_db()
    assert (listing.ended, listing.end_reason) == (today(), "安置帮教期满")
    entry = AuditEntry.objects.filter(action="update", object_type="groups.listing").latest("id")
    assert entry.detail == {"reason": "安置帮教期满"}
    again = worker.post(f"/groups/listings/{listing.pk}/end/", {"end-date": today().isoformat(), "end-reason": "x"})
    assert again.status_code == 400


def test_only_editors_of_the_register_in_scope_may_end_a_listing(world: World, client_for: Any) -> None:
    aids = listed(world, "a1_1_head", "aids")
    neighbour = listed(world, "a1_2_head", "released")
    data = {"end-date": today().isoformat(), "end-reason": "迁出本辖区"}
    worker = client_for(Role.GRID_WORKER)
    assert worker.post(f"/groups/listings/{aids.pk}/end/", data).status_code == 404
    assert worker.post(f"/groups/listings/{neighbour.pk}/end/", data).status_code == 404
    assert client_for(Role.DEPARTMENT).post(f"/groups/listings/{neighbour.pk}/end/", data).status_code == 404
    assert not Listing.objects.filter(ended__isnull=False).exists()


def test_it_rolls_back_ending_a_listing_when_the_audit_entry_fails(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    listing = listed(world, "a1_1_head", "correction")

    def refuse(**kwargs: Any) -> None:
        raise DatabaseError("audit log unavailable")

    monkeypatch.setattr(AuditEntry.objects, "create", refuse)
    with pytest.raises(DatabaseError):
        actions.listing_end(by=world.user(Role.GRID_WORKER), listing=listing, date=today(), reason="矫正期满")
    listing.refresh_from_db()
    assert listing.ended is None and listing.end_reason == ""
