"""Units and key places: the credit code's check character, inspections moving the due date,
rectifications falling overdue (the one due today is not, yesterday's is) and becoming a case,
the neighbouring grid's worker getting 404, and audit failures rolling writes back."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import DatabaseError
from django.http import Http404
from django.utils import timezone

from wangge.accounts.models import Role
from wangge.cases.models import Case
from wangge.conftest import World
from wangge.core.models import AuditEntry
from wangge.places import actions, creditcode, queries
from wangge.places.codes import ensure_defaults
from wangge.places.models import Inspection, Place, PlaceType, Rectification, Unit, UnitKind

pytestmark = pytest.mark.django_db

CODE = creditcode.make("91210304MA0XYW123")  # an enterprise registered in 立山区


def today() -> dt.date:
    return timezone.localdate()


def unit(world: World, grid: str = "grid_a1_1", **kw: Any) -> Unit:
    ensure_defaults()
    values: dict[str, Any] = {
        "name": "鞍山市立山区好邻居便利店",
        "kind": "individual",
        "legal_rep": "刘志刚",
        "staff_count": 3,
    }
    values.update(kw)
    return actions.unit_register(by=None, building=world.buildings[grid], **values)


def place(world: World, grid: str = "grid_a1_1", kind: str = "small_restaurant", **kw: Any) -> Place:
    ensure_defaults()
    return actions.place_register(by=None, name="老刘家饺子馆", place_type=kind, building=world.buildings[grid], **kw)


def inspected_with_rectification(world: World, deadline: dt.date, grid: str = "grid_a1_1") -> Rectification:
    target = place(world, grid)
    inspection = actions.place_inspect(
        by=None,
        place=target,
        date=today() - dt.timedelta(days=20),
        findings="厨房燃气软管老化",
        hazard_level="general",
        rectify="更换燃气软管并加装报警器",
        deadline=deadline,
    )
    return inspection.rectifications.get()


# --- the unified social credit code (GB 32100-2015) ---------------------------------------


def test_the_check_character_follows_gb_32100() -> None:
    # 3^i mod 31 weights; the check value is 31 − (sum mod 31), 31 written as 0
    assert creditcode.WEIGHTS[:6] == [1, 3, 9, 27, 19, 26]
    assert creditcode.WEIGHTS[-1] == 28
    assert creditcode.is_valid(CODE)
    wrong = CODE[:17] + ("0" if CODE[17] != "0" else "1")
    assert not creditcode.is_valid(wrong)


def test_it_computes_the_check_characters_other_implementations_compute() -> None:
    # Early pilot codes from Fujian whose printed check character does not match: the
    # aarioai/id-rule notes give the characters the standard's rule computes for them.
    assert creditcode.check_character("91350100M0001TGQX") == "1"
    assert creditcode.check_character("91350211M0000XUF4") == "R"
    assert creditcode.check_character("91350203M0001FUE2") == "J"


def test_it_refuses_letters_outside_the_code_set_and_short_codes() -> None:
    for letter in "IOSVZ":
        assert not creditcode.is_valid(CODE[:9] + letter + CODE[10:])
    assert not creditcode.is_valid(CODE[:17])


def test_a_unit_takes_a_credit_code_written_with_spaces_and_small_letters(world: World) -> None:
    spaced = CODE[:6].lower() + " " + CODE[6:].lower()
    assert unit(world, credit_code=spaced).credit_code == CODE


def test_it_refuses_a_credit_code_with_a_wrong_check_character(world: World) -> None:
    wrong = CODE[:17] + ("0" if CODE[17] != "0" else "1")
    with pytest.raises(ValidationError) as caught:
        unit(world, credit_code=wrong)
    assert "credit_code" in caught.value.message_dict
    assert not Unit.objects.exists()


def test_it_refuses_a_second_unit_with_the_same_credit_code(world: World) -> None:
    unit(world, credit_code=CODE)
    with pytest.raises(ValidationError):
        unit(world, name="另一家公司", credit_code=CODE)
    unit(world, name="没有代码的个体户")  # a blank code is not a duplicate
    assert Unit.objects.count() == 2


def test_an_early_pilot_code_is_taken_only_when_asked_and_marked_unchecked(world: World) -> None:
    pilot = "91350100M0001TGQXM"  # issued in Fujian in 2015; the rule gives 1, not M
    with pytest.raises(ValidationError):
        unit(world, credit_code=pilot)
    registered = unit(world, credit_code=pilot, pilot_code=True)
    assert registered.credit_code == pilot
    assert not registered.credit_code_checked
    with pytest.raises(ValidationError):  # not a code at all: no exception for it
        unit(world, name="另一家", credit_code="91350100M0001TGQXI", pilot_code=True)


# --- units -------------------------------------------------------------------------------


def test_a_unit_is_in_its_buildings_grid_and_audited(world: World) -> None:
    registered = unit(
        world, kind="enterprise", credit_code=CODE, party_org="branch", party_org_name="好邻居党支部", party_members=3
    )
    assert registered.grid_id == world.buildings["grid_a1_1"].grid_id
    assert registered.full_address == world.buildings["grid_a1_1"].name
    assert UnitKind.objects.get(code="enterprise").two_new
    entry = AuditEntry.objects.filter(object_type="places.unit").latest("id")
    assert entry.object_id == str(registered.pk)


def test_it_ships_the_nine_small_places() -> None:
    ensure_defaults()
    assert PlaceType.objects.count() == 9
    assert set(PlaceType.objects.values_list("code", flat=True)) >= {
        "small_shop",
        "small_hostel",
        "small_internet_cafe",
    }


# --- inspections and rectifications ------------------------------------------------------


def test_an_inspection_moves_the_due_date_by_the_shorter_period(world: World) -> None:
    restaurant = place(world)  # 小餐饮: 60 days; 一般隐患 90 days, 重大隐患 30 days
    assert restaurant.inspection_due == today()
    actions.place_inspect(by=None, place=restaurant, date=today(), findings="正常")
    restaurant.refresh_from_db()
    assert restaurant.inspection_due == today() + dt.timedelta(days=60)
    actions.place_inspect(
        by=None, place=restaurant, date=today(), hazard_level="major", rectify="清理安全出口", deadline=today()
    )
    restaurant.refresh_from_db()
    assert restaurant.inspection_due == today() + dt.timedelta(days=30)
    assert restaurant.hazard_level_id == "major"


def test_a_hazard_found_needs_a_rectification_with_a_deadline(world: World) -> None:
    restaurant = place(world)
    with pytest.raises(ValidationError) as caught:
        actions.place_inspect(by=None, place=restaurant, date=today(), hazard_level="general")
    assert "rectify" in caught.value.message_dict
    with pytest.raises(ValidationError) as caught:
        actions.place_inspect(by=None, place=restaurant, date=today(), hazard_level="general", rectify="清理杂物")
    assert "deadline" in caught.value.message_dict
    assert not Inspection.objects.exists()


def test_a_rectification_due_today_is_not_overdue_and_one_due_yesterday_is(world: World) -> None:
    worker = world.user(Role.GRID_WORKER)
    due_today = inspected_with_rectification(world, today())
    due_yesterday = inspected_with_rectification(world, today() - dt.timedelta(days=1))
    assert [r.pk for r in queries.rectifications_overdue(worker, today=today())] == [due_yesterday.pk]
    attention = {p.pk: p.overdue_rectifications for p in queries.places_needing_attention(worker, today=today())}
    assert attention[due_yesterday.place_id] == 1
    assert due_today.place_id not in attention  # inspected 20 days ago, next due in 40


def test_a_place_due_in_two_weeks_needs_attention_and_one_due_in_fifteen_days_does_not(world: World) -> None:
    worker = world.user(Role.GRID_WORKER)
    inside, outside = place(world), place(world)
    Place.objects.filter(pk=inside.pk).update(inspection_due=today() + dt.timedelta(days=14))
    Place.objects.filter(pk=outside.pk).update(inspection_due=today() + dt.timedelta(days=15))
    assert [p.pk for p in queries.places_needing_attention(worker, today=today())] == [inside.pk]


def test_the_places_page_lists_those_needing_attention_a_page_at_a_time(
    world: World, client_for: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from wangge.places import views

    monkeypatch.setattr(views, "PAGE_SIZE", 2)
    due = [place(world) for _ in range(3)]
    for days, p in enumerate(due):
        Place.objects.filter(pk=p.pk).update(inspection_due=today() + dt.timedelta(days=days))
    client = client_for(Role.GRID_WORKER)
    first = client.get("/places/?page=1").content.decode()
    assert [p.pk for p in due if f"/places/{p.pk}/" in first] == [due[0].pk, due[1].pk]
    assert "?page=2#attention" in first and "上一页" not in first
    second = client.get("/places/?page=2").content.decode()
    assert [p.pk for p in due if f"/places/{p.pk}/" in second] == [due[2].pk]
    assert "?page=1#attention" in second and "下一页" not in second
    assert client.get("/places/?page=x").status_code == 200  # a bad page number is the first page


def test_a_done_rectification_is_no_longer_overdue(world: World) -> None:
    worker = world.user(Role.GRID_WORKER)
    late = inspected_with_rectification(world, today() - dt.timedelta(days=3))
    actions.rectification_complete(by=worker, rectification=late, date=today(), note="已更换")
    assert not queries.rectifications_overdue(worker, today=today()).exists()
    with pytest.raises(ValidationError):
        actions.rectification_complete(by=worker, rectification=late, date=today())


def test_an_overdue_rectification_becomes_a_grid_event_case(world: World) -> None:
    worker = world.user(Role.GRID_WORKER)
    late = inspected_with_rectification(world, today() - dt.timedelta(days=1))
    case = actions.rectification_escalate(by=worker, rectification=late)
    assert case.category.code == "hazard"
    assert case.channel == Case.Channel.FIELD
    assert case.grid_id == late.grid_id
    assert "更换燃气软管" in case.text
    late.refresh_from_db()
    assert late.case_id == case.pk
    with pytest.raises(ValidationError):
        actions.rectification_escalate(by=worker, rectification=late)
    assert Case.objects.count() == 1


def test_a_rectification_not_yet_overdue_cannot_become_a_case(world: World) -> None:
    on_time = inspected_with_rectification(world, today())
    with pytest.raises(ValidationError):
        actions.rectification_escalate(by=world.user(Role.GRID_WORKER), rectification=on_time)
    with pytest.raises(PermissionDenied):
        actions.rectification_escalate(by=world.user(Role.AUDITOR), rectification=on_time)
    assert not Case.objects.exists()


def test_it_rolls_back_an_inspection_when_the_audit_entry_fails(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    restaurant = place(world)

    def refuse(**kwargs: Any) -> None:
        raise DatabaseError("audit log unavailable")

    monkeypatch.setattr(AuditEntry.objects, "create", refuse)
    with pytest.raises(DatabaseError):
        actions.place_inspect(
            by=None, place=restaurant, date=today(), hazard_level="general", rectify="清理杂物", deadline=today()
        )
    assert not Inspection.objects.exists()
    assert not Rectification.objects.exists()
    restaurant.refresh_from_db()
    assert restaurant.last_inspected is None


def test_it_rolls_back_a_unit_when_the_audit_entry_fails(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    ensure_defaults()

    def refuse(**kwargs: Any) -> None:
        raise DatabaseError("audit log unavailable")

    monkeypatch.setattr(AuditEntry.objects, "create", refuse)
    with pytest.raises(DatabaseError):
        unit(world)
    assert not Unit.objects.exists()


# --- scope -------------------------------------------------------------------------------


def test_the_neighbouring_grids_worker_gets_404(world: World, client_for: Any) -> None:
    worker = world.user(Role.GRID_WORKER)  # grid a1_1
    theirs_unit = unit(world, grid="grid_a1_2")
    theirs = inspected_with_rectification(world, today() - dt.timedelta(days=1), grid="grid_a1_2")
    with pytest.raises(Http404):
        queries.get_place(worker, theirs.place_id)
    with pytest.raises(Http404):
        queries.get_unit(worker, theirs_unit.pk)
    with pytest.raises(Http404):
        queries.get_rectification(worker, theirs.pk)
    assert not queries.places_needing_attention(worker, today=today()).exists()
    client = client_for(Role.GRID_WORKER)
    assert client.get(f"/places/{theirs.place_id}/").status_code == 404
    assert client.get(f"/units/{theirs_unit.pk}/").status_code == 404
    assert client.post(f"/places/rectifications/{theirs.pk}/escalate/").status_code == 404
    assert client.get(f"/api/v1/places/{theirs.place_id}/").status_code == 404
    assert client.post(f"/api/v1/rectifications/{theirs.pk}/done/", {"date": today()}).status_code == 404
    community = client_for(Role.COMMUNITY_STAFF)  # the community holds both grids
    assert community.get(f"/places/{theirs.place_id}/").status_code == 200


def test_a_guardian_sees_no_places(world: World, client_for: Any) -> None:
    place(world)
    assert client_for(Role.GUARDIAN).get("/places/").status_code == 404
    assert client_for(Role.GUARDIAN).get("/api/v1/places/").json() == []


# --- pages and API -----------------------------------------------------------------------


def test_the_worker_sees_due_places_and_records_an_inspection_on_the_page(world: World, client_for: Any) -> None:
    late = inspected_with_rectification(world, today() - dt.timedelta(days=2))
    client = client_for(Role.GRID_WORKER)
    page = client.get("/places/").content.decode()
    assert "老刘家饺子馆" in page
    assert "整改逾期" in page
    detail = client.get(f"/places/{late.place_id}/").content.decode()
    assert "更换燃气软管并加装报警器" in detail
    assert "转为案件" in detail
    refused = client.post(f"/places/{late.place_id}/inspect/", {"date": today(), "hazard_level": "major"})
    assert refused.status_code == 400
    assert "发现隐患时请填写整改要求" in refused.content.decode()
    response = client.post(
        f"/places/{late.place_id}/inspect/",
        {"date": today(), "hazard_level": "none", "findings": "已整改到位"},
    )
    assert response.status_code == 302
    assert Inspection.objects.filter(place_id=late.place_id).count() == 2
    assert client.post(f"/places/rectifications/{late.pk}/escalate/").status_code == 302
    late.refresh_from_db()
    assert late.case is not None
    prefix = f"r{late.pk}"
    assert client.post(f"/places/rectifications/{late.pk}/done/", {f"{prefix}-date": ""}).status_code == 400
    done = client.post(
        f"/places/rectifications/{late.pk}/done/", {f"{prefix}-date": today(), f"{prefix}-note": "已复查"}
    )
    assert done.status_code == 302
    late.refresh_from_db()
    assert late.done == today() and late.done_note == "已复查"


def test_the_unit_pages_show_the_units_and_their_places(world: World, client_for: Any) -> None:
    shop = unit(world, credit_code=CODE, party_org="joint_branch")
    place(world, unit=shop)
    client = client_for(Role.GRID_WORKER)
    assert "好邻居便利店" in client.get("/units/").content.decode()
    assert "好邻居便利店" in client.get(f"/units/?q={CODE}").content.decode()
    detail = client.get(f"/units/{shop.pk}/").content.decode()
    assert CODE in detail
    assert "老刘家饺子馆" in detail
    assert "联合党支部" in detail


def test_the_api_registers_units_and_places_and_refuses_a_bad_credit_code(world: World, client_for: Any) -> None:
    ensure_defaults()
    client = client_for(Role.GRID_WORKER)
    building = world.buildings["grid_a1_1"].pk
    body = {"name": "立山区晨光网吧", "kind": "enterprise", "building": building, "legal_rep": "陈晨"}
    bad = client.post("/api/v1/units/", {**body, "credit_code": CODE[:17] + "I"}, content_type="application/json")
    assert bad.status_code == 400
    assert "credit_code" in bad.json()
    made = client.post("/api/v1/units/", {**body, "credit_code": CODE}, content_type="application/json")
    assert made.status_code == 201
    assert made.json()["credit_code"] == CODE
    elsewhere = world.buildings["grid_a1_2"].pk
    body = {"name": "晨光网吧", "place_type": "small_internet_cafe", "building": elsewhere}
    assert client.post("/api/v1/places/", body, content_type="application/json").status_code == 400
    body = {**body, "building": building, "unit": made.json()["id"]}
    created = client.post("/api/v1/places/", body, content_type="application/json")
    assert created.status_code == 201
    assert created.json()["operator"] == "陈晨"
    pk = created.json()["id"]
    inspected = client.post(
        f"/api/v1/places/{pk}/inspections/",
        {
            "date": today().isoformat(),
            "hazard_level": "general",
            "rectify": "配齐灭火器",
            "deadline": today().isoformat(),
        },
        content_type="application/json",
    )
    assert inspected.status_code == 201
    detail = client.get(f"/api/v1/places/{pk}/").json()
    assert detail["rectifications"][0]["required"] == "配齐灭火器"
    assert [p["id"] for p in client.get("/api/v1/places/?attention=1").json()] == []


def test_the_units_export_is_xlsx_with_masked_phones_audited_and_scoped(world: World, client_for: Any) -> None:
    import io

    from openpyxl import load_workbook

    unit(world, credit_code=CODE, legal_rep_phone="13812345678")
    unit(world, grid="grid_a1_2", name="隔壁网格的单位")
    response = client_for(Role.GRID_WORKER).get("/units/export.xlsx")
    assert response.status_code == 200
    assert response["X-Row-Count"] == "1"
    book = load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    rows = list(book.worksheets[0].iter_rows(values_only=True))
    assert rows[0][:3] == ("单位名称", "统一社会信用代码", "单位类别代码")
    assert rows[1][1] == CODE
    assert rows[1][2] == "individual"
    assert rows[1][5] == "138****5678"
    assert len(rows) == 2
    assert "individual" in [r[1] for r in book.worksheets[1].iter_rows(values_only=True)]
    entry = AuditEntry.objects.filter(action="export", object_type="places.unit").latest("id")
    assert entry.detail["count"] == 1
    assert client_for(Role.AUDITOR).get("/units/export.xlsx").status_code == 403
    template = client_for(Role.GRID_WORKER).get("/units/template.xlsx")
    sheet = load_workbook(io.BytesIO(template.content)).worksheets[0]
    assert sheet.max_row == 1


def test_nothing_is_exported_when_the_audit_entry_fails(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    from wangge.places import exchange

    unit(world)

    def refuse(**kwargs: Any) -> None:
        raise DatabaseError("audit log unavailable")

    monkeypatch.setattr(AuditEntry.objects, "create", refuse)
    with pytest.raises(DatabaseError):
        exchange.units_export(by=world.user(Role.GRID_WORKER))


def test_the_api_lists_overdue_rectifications_and_hands_one_over_as_a_case_once(world: World, client_for: Any) -> None:
    late = inspected_with_rectification(world, today() - dt.timedelta(days=1))
    on_time = inspected_with_rectification(world, today())
    client = client_for(Role.GRID_WORKER)
    assert [r["id"] for r in client.get("/api/v1/rectifications/?overdue=1").json()] == [late.pk]
    early = client.post(f"/api/v1/rectifications/{on_time.pk}/escalate/")
    assert early.status_code == 400
    handed = client.post(f"/api/v1/rectifications/{late.pk}/escalate/")
    assert handed.status_code == 201
    assert Case.objects.get(pk=handed.json()["case"]).category.code == "hazard"
    assert client.post(f"/api/v1/rectifications/{late.pk}/escalate/").status_code == 400
    done = client.post(f"/api/v1/rectifications/{on_time.pk}/done/", {"date": today()}, content_type="application/json")
    assert done.status_code == 200 and done.json()["done"] == today().isoformat()
    assert Case.objects.count() == 1


def test_the_places_export_is_xlsx_with_masked_phones_audited_and_scoped(world: World, client_for: Any) -> None:
    import io

    from openpyxl import load_workbook

    ensure_defaults()
    mine = actions.place_register(
        by=None,
        name="=鸿运小旅馆",
        place_type="small_hostel",
        building=world.buildings["grid_a1_1"],
        operator="刘大海",
        operator_phone="13812345678",
    )
    actions.place_register(
        by=None, name="隔壁网格的小饭馆", place_type="small_restaurant", building=world.buildings["grid_a1_2"]
    )
    response = client_for(Role.GRID_WORKER).get("/places/export.xlsx")
    assert response.status_code == 200 and response["X-Row-Count"] == "1"
    book = load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    rows = list(book.worksheets[0].iter_rows(values_only=True))
    row = dict(zip(rows[0], rows[1], strict=True))
    assert len(rows) == 2
    assert row["场所名称"] == "'=鸿运小旅馆"  # formula-neutral
    assert (row["场所类型代码"], row["经营者电话"]) == ("small_hostel", "138****5678")
    assert row["下次检查日期"] == mine.inspection_due.isoformat()
    codes = [r[1] for r in book.worksheets[1].iter_rows(values_only=True)]
    assert "small_hostel" in codes and "none" in codes
    entry = AuditEntry.objects.filter(action="export", object_type="places.place").latest("id")
    assert entry.detail["count"] == 1
    assert client_for(Role.AUDITOR).get("/places/export.xlsx").status_code == 403
    template = client_for(Role.GRID_WORKER).get("/places/template.xlsx")
    assert load_workbook(io.BytesIO(template.content)).worksheets[0].max_row == 1
    assert client_for(Role.GUARDIAN).get("/places/template.xlsx").status_code == 404


def places_file(client: Any, rows: list[dict[str, str]]) -> bytes:
    import io

    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(client.get("/places/template.xlsx").content))
    sheet = book.worksheets[0]
    header = [cell.value for cell in sheet[1]]
    for row in rows:
        sheet.append([row.get(str(h), "") for h in header])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


PLACE_ROWS = [
    {"场所名称": "鸿运小旅馆", "场所类型代码": "small_hostel", "社区": "灵西社区", "楼栋": "1号楼",
     "经营者电话": "13812345678"},
    {"场所名称": "好邻居便利店", "场所类型": "便利店", "楼栋": "2", "经营者": "陈红"},
    {"场所名称": "曙光网吧", "场所类型": "小网吧", "楼栋": "3号楼"},  # another community's building
    {"场所名称": "老街小卖部", "场所类型": "小卖部", "楼栋": "1号楼"},  # no such type
    {"场所名称": "兴隆饭店", "场所类型": "小餐饮", "楼栋": "1号楼", "经营者电话": "138****5678"},  # masked
]  # fmt: skip


def test_a_places_import_with_three_bad_rows_registers_the_good_ones_and_reports_the_three(
    world: World, client_for: Any
) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    ensure_defaults()
    staff = client_for(Role.COMMUNITY_STAFF)
    content = places_file(staff, PLACE_ROWS)
    response = staff.post("/places/import/", {"file": SimpleUploadedFile("场所.xlsx", content)})
    assert response.status_code == 200
    result = response.context["result"]
    assert (result.created, result.unchanged, result.rejected) == (2, 0, 3)
    assert {(p.row, p.reason) for p in result.rejections} == {
        (4, "在您的辖区内找不到该楼栋"),
        (5, "未知的场所类型：小卖部"),
        (6, "电话号码格式不正确"),
    }
    hostel = Place.objects.get(name="鸿运小旅馆")
    assert (hostel.place_type_id, hostel.building, hostel.operator_phone) == (
        "small_hostel",
        world.buildings["grid_a1_1"],
        "13812345678",
    )
    assert Place.objects.get(name="好邻居便利店").building == world.buildings["grid_a1_2"]
    entry = AuditEntry.objects.filter(action="import", object_type="places.place").latest("id")
    assert (entry.detail["created"], entry.detail["rejected"]) == (2, 3)

    again = staff.post("/places/import/", {"file": SimpleUploadedFile("场所.xlsx", content)}).context["result"]
    assert (again.created, again.unchanged, again.rejected) == (0, 2, 3)
    assert Place.objects.count() == 2


def test_only_importers_reach_the_places_import(world: World, client_for: Any) -> None:
    for role in (Role.GRID_WORKER, Role.AUDITOR, Role.GUARDIAN, Role.DEPARTMENT):
        assert client_for(role).get("/places/import/").status_code == 404
    assert client_for(Role.STREET_STAFF).get("/places/import/").status_code == 200


def test_a_places_import_whose_audit_fails_registers_nothing(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    from openpyxl import Workbook

    ensure_defaults()
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["场所名称", "场所类型", "楼栋"])
    sheet.append(["鸿运小旅馆", "小旅馆", "1号楼"])
    out = io.BytesIO()
    book.save(out)
    real = AuditEntry.objects.create

    def refuse_the_import_entry(**kwargs: Any) -> Any:
        if kwargs.get("action") == "import":
            raise DatabaseError("audit log unavailable")
        return real(**kwargs)

    monkeypatch.setattr(AuditEntry.objects, "create", refuse_the_import_entry)
    with pytest.raises(DatabaseError):
        actions.places_import(by=world.user(Role.COMMUNITY_STAFF), data=out.getvalue(), file_name="场所.xlsx")
    assert not Place.objects.exists()


def test_an_export_printing_a_standard_code_imports_back(world: World) -> None:
    """A district that fills in 标准代码 gets it in the export; the import reads it back."""
    import io

    from openpyxl import load_workbook

    from wangge.places import exchange

    ensure_defaults()
    PlaceType.objects.filter(code="small_hostel").update(standard_code="X09")
    staff = world.user(Role.COMMUNITY_STAFF)
    actions.place_register(
        by=staff, name="鸿运小旅馆", place_type="small_hostel", building=world.buildings["grid_a1_1"]
    )
    _count, chunks = exchange.places_export(by=staff)
    content = b"".join(chunks)
    sheet = load_workbook(io.BytesIO(content)).worksheets[0]
    assert "X09" in [cell for row in sheet.iter_rows(values_only=True) for cell in row]
    Place.objects.all().delete()
    result = actions.places_import(by=staff, data=content, file_name="places.xlsx")
    assert (result.created, result.rejected) == (1, 0), result.problems
    assert Place.objects.get().place_type_id == "small_hostel"
