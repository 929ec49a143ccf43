"""实有人口: population types, identity documents other than the national ID, their masking and
search, the floating and foreign details, the import columns and the headcounts by type."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import DatabaseError

from wangge.accounts.models import Role
from wangge.conftest import World
from wangge.core import documents, idnumbers
from wangge.core.models import AuditEntry
from wangge.registry import actions, rollups
from wangge.registry.models import AreaCount, CareCategory, FloatingDetail, Resident
from wangge.registry.population import headcounts
from wangge.registry.tests.test_import import csv_bytes, id_for, run

pytestmark = pytest.mark.django_db

D = documents


def new_card(body16: str = "1101840199001010") -> str:
    """A 2023 foreign permanent-resident card number: 9, 16 digits, the MOD 11-2 check."""
    first17 = "9" + body16
    return first17 + idnumbers.check_char(first17)


def permit(prefix: str = "810000", sex: str = "F") -> str:
    return idnumbers.make(area_code=prefix, birth_date=dt.date(1990, 5, 6), sequence=21, sex=sex)


# --- formats: each just valid and just invalid ---------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "number"),
    [
        (D.RESIDENCE_PERMIT, permit("810000")),
        (D.RESIDENCE_PERMIT, permit("820000")),
        (D.RESIDENCE_PERMIT, permit("830000")),
        (D.FOREIGN_PERMANENT, new_card()),
        (D.FOREIGN_PERMANENT, "USA110090010001"),
        (D.HK_MACAO_PASS, "H12345678"),
        (D.HK_MACAO_PASS, "M1234567890"),
        (D.TAIWAN_PASS, "12345678"),
        (D.PASSPORT, "E1234"),
        (D.PASSPORT, "A" * 20),
        (D.FREE, "军字第 2019-0012 号"),
    ],
)
def test_it_accepts_each_format_just_inside_its_rule(fmt: str, number: str) -> None:
    assert D.parse(fmt, number).number == D.normalise(number)


@pytest.mark.parametrize(
    ("fmt", "number", "reason"),
    [
        (D.RESIDENCE_PERMIT, idnumbers.make(area_code="840000", birth_date=dt.date(1990, 5, 6), sequence=1, sex="F"),
         "810000"),
        (D.RESIDENCE_PERMIT, permit()[:17] + ("0" if permit()[17] != "0" else "1"), "校验位"),
        (D.FOREIGN_PERMANENT, new_card()[:17] + ("0" if new_card()[17] != "0" else "1"), "校验位"),
        (D.FOREIGN_PERMANENT, "8" + new_card()[1:], "以9开头"),
        (D.FOREIGN_PERMANENT, "US1110090010001", "以9开头"),
        (D.FOREIGN_PERMANENT, "USA11009001000", "以9开头"),
        (D.HK_MACAO_PASS, "H1234567", "H 或 M"),
        (D.HK_MACAO_PASS, "K12345678", "H 或 M"),
        (D.HK_MACAO_PASS, "H123456789", "H 或 M"),
        (D.TAIWAN_PASS, "1234567", "8位"),
        (D.TAIWAN_PASS, "123456789", "8位"),
        (D.PASSPORT, "E123", "5至20位"),
        (D.PASSPORT, "A" * 21, "5至20位"),
        (D.PASSPORT, "E12.345", "5至20位"),
        (D.FREE, "", "请填写"),
        (D.FREE, "x" * 41, "40"),
    ],
)  # fmt: skip
def test_it_refuses_each_format_just_outside_its_rule(fmt: str, number: str, reason: str) -> None:
    with pytest.raises(D.InvalidDocument) as error:
        D.parse(fmt, number)
    assert reason in str(error.value)


def test_a_residence_permit_gives_birth_date_and_sex_as_the_national_id_does() -> None:
    parsed = D.parse(D.RESIDENCE_PERMIT, permit("830000", sex="M"))
    assert (parsed.birth_date, parsed.sex) == (dt.date(1990, 5, 6), "M")


def test_the_national_id_is_still_checked_by_idnumbers() -> None:
    number = id_for(5)
    assert D.parse(D.NATIONAL_ID, number).number == idnumbers.parse(number).number
    with pytest.raises(D.InvalidDocument):
        D.parse(D.NATIONAL_ID, number[:17] + ("0" if number[17] != "0" else "1"))


# --- registration, pages and scope ------------------------------------------------------------


def register_foreigner(world: World, *, number: str = "E98765432", document_type: str = "passport") -> Resident:
    return actions.resident_register(
        by=world.user(Role.GRID_WORKER),
        household=world.households["grid_a1_1"],
        name="约翰·史密斯",
        id_number=number,
        document_type=document_type,
        population_type="foreign",
        sex="M",
        birth_date=dt.date(1985, 7, 1),
    )


def test_a_passport_holder_is_registered_with_the_entered_birth_date_and_sex(world: World) -> None:
    person = register_foreigner(world)
    assert (person.document_type_id, person.population_type_id) == ("passport", "foreign")
    assert (person.sex, person.birth_date) == ("M", dt.date(1985, 7, 1))
    assert person.search_keys.filter(key="#E98765432").exists()


def test_a_document_without_birth_date_needs_them_entered(world: World) -> None:
    with pytest.raises(ValidationError) as error:
        actions.resident_register(
            by=None,
            household=world.households["grid_a1_1"],
            name="陈美玲",
            id_number="H12345678",
            document_type="hk_macao_pass",
        )
    assert {"sex", "birth_date"} <= set(error.value.message_dict)
    assert not Resident.objects.filter(id_number="H12345678").exists()


def test_the_registration_form_registers_a_hong_kong_resident(world: World, client_for: Any) -> None:
    household = world.households["grid_a1_1"]
    response = client_for(Role.GRID_WORKER).post(
        f"/households/{household.pk}/register/",
        {
            "kind": "move_in",
            "name": "陈美玲",
            "document_type": "hk_macao_pass",
            "id_number": "h 1234 5678",
            "sex": "F",
            "birth_date": "1992-02-03",
            "population_type": "floating",
            "separation": "here",
            "relationship": "other",
        },
    )
    assert response.status_code == 302
    person = Resident.objects.get(id_number="H12345678")
    assert (person.population_type_id, person.separation, person.sex) == ("floating", "here", "F")


def test_the_resident_page_shows_type_and_document_in_chinese_and_english(world: World, client_for: Any) -> None:
    person = register_foreigner(world)
    client = client_for(Role.GRID_WORKER)
    page = client.get(f"/residents/{person.pk}/").content.decode()
    assert "境外人员" in page and "护照" in page
    client.cookies["django_language"] = "en"
    english = client.get(f"/residents/{person.pk}/").content.decode()
    assert "Foreign national" in english and "Passport" in english


def test_a_neighbouring_grids_worker_gets_404_for_a_floating_resident(world: World, client_for: Any) -> None:
    person = world.residents["b1_1_head"]
    actions.resident_population_set(
        by=None, resident=person, population_type="floating", floating={"origin": "河南省周口市"}
    )
    client = client_for(Role.GRID_WORKER)  # works in grid a1_1
    assert client.get(f"/residents/{person.pk}/").status_code == 404
    assert client.post(f"/residents/{person.pk}/population/", {"population_type": "registered"}).status_code == 404
    assert client.get(f"/api/v1/residents/{person.pk}/").status_code == 404
    person.refresh_from_db()
    assert person.population_type_id == "floating"


def test_the_population_form_records_a_floating_persons_details(world: World, client_for: Any) -> None:
    person = world.residents["a1_1_head"]
    response = client_for(Role.GRID_WORKER).post(
        f"/residents/{person.pk}/population/",
        {
            "population_type": "floating",
            "separation": "here",
            "permit_number": "210304202400123",
            "origin": "河南省周口市",
            "arrival_date": "2024-03-01",
            "reason": "务工",
            "expected_stay": "一年以上",
        },
    )
    assert response.status_code == 302
    detail = FloatingDetail.objects.get(resident=person)
    assert (detail.origin, detail.arrival_date) == ("河南省周口市", dt.date(2024, 3, 1))
    entry = AuditEntry.objects.filter(object_id=str(person.pk)).latest("id")
    assert entry.detail["population_type"] == "floating"


def test_an_audit_failure_rolls_back_a_population_change(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    person = world.residents["a1_1_head"]

    def refuse(**kwargs: Any) -> None:
        raise DatabaseError("audit log unavailable")

    monkeypatch.setattr(AuditEntry.objects, "create", refuse)
    with pytest.raises(DatabaseError):
        actions.resident_population_set(
            by=None, resident=person, population_type="floating", floating={"origin": "河南省周口市"}
        )
    person.refresh_from_db()
    assert person.population_type_id == "registered"
    assert not FloatingDetail.objects.filter(resident=person).exists()


def test_left_behind_children_and_elders_are_care_categories() -> None:
    assert set(CareCategory.objects.filter(code__startswith="left_behind").values_list("name", flat=True)) == {
        "留守儿童",
        "留守老人",
    }


# --- masking and search -------------------------------------------------------------------------


def test_a_masked_role_cannot_find_a_person_by_part_of_a_document_number(world: World, client_for: Any) -> None:
    person = register_foreigner(world, number=new_card(), document_type="foreign_permanent_id")
    department = client_for(Role.DEPARTMENT)  # sees numbers masked
    for length in (5, 9, 14, 17):
        body = department.get("/api/v1/search/", {"q": person.id_number[:length]}).json()
        assert body["results"] == [] and body["total"] == 0
    (row,) = department.get("/api/v1/search/", {"q": person.id_number}).json()["results"]
    assert row["id"] == person.pk
    assert row["id_number"] == idnumbers.mask(person.id_number)
    assert row["population_type"] == "foreign"
    passport = register_foreigner(world, number="E98765432")
    assert department.get("/api/v1/search/", {"q": "E9876"}).json()["results"] == []
    (row,) = department.get("/api/v1/search/", {"q": "e98765432"}).json()["results"]
    assert (row["id"], row["id_number"]) == (passport.pk, "*********")


def test_a_full_detail_role_finds_a_passport_by_its_beginning(world: World, client_for: Any) -> None:
    person = register_foreigner(world)
    body = client_for(Role.GRID_WORKER).get("/api/v1/search/", {"q": "E9876"}).json()
    assert [row["id"] for row in body["results"]] == [person.pk]


def test_the_export_names_the_types_and_masks_document_numbers(world: World, client_for: Any) -> None:
    person = register_foreigner(world)
    text = client_for(Role.COMMUNITY_STAFF).get("/registry/export/").getvalue().decode("utf-8-sig")
    line = next(line for line in text.splitlines() if line.startswith("约翰·史密斯"))
    assert person.id_number not in line
    assert line.endswith("护照,境外人员,")


# --- import -------------------------------------------------------------------------------------

POPULATION_HEADER = [
    *("姓名", "证件类型", "证件号码", "性别", "出生日期", "人口类型"),
    *("社区", "楼栋", "房号", "国籍", "来本地日期"),
]


def test_an_import_with_bad_rows_keeps_the_good_ones_and_says_why_for_the_others(world: World) -> None:
    rows = [
        ["马丁", "护照", "P1234567", "男", "1980-01-02", "境外人员", "灵西社区", "1号楼", "101", "法国", ""],
        ["陈美玲", "回乡证", "H12345678", "女", "1992/2/3", "流动人口", "灵西社区", "1号楼", "102", "", "2024-03-01"],
        ["卡尔", "永居证", new_card(), "男", "1979-09-09", "", "灵西社区", "1号楼", "103", "德国", ""],
        ["林小明", "台胞证", "1234567", "男", "1990-01-01", "", "灵西社区", "1号楼", "104", "", ""],
        ["无生日", "护照", "P7654321", "", "", "境外人员", "灵西社区", "1号楼", "105", "", ""],
        ["某人", "驾驶证", "X1", "男", "1990-01-01", "", "灵西社区", "1号楼", "106", "", ""],
        ["某甲", "", id_for(40), "", "", "打工人", "灵西社区", "1号楼", "107", "", ""],
    ]
    result = run(csv_bytes(rows, header=POPULATION_HEADER))
    assert (result.created, result.rejected) == (3, 4)
    reasons: dict[int, str] = {}
    for problem in result.rejections:
        reasons[problem.row] = reasons.get(problem.row, "") + problem.reason
    assert "8位" in reasons[5]
    assert "出生日期" in reasons[6]
    assert "未知的证件类型" in reasons[7]
    assert "未知的人口类型" in reasons[8]
    martin = Resident.objects.get(id_number="P1234567")
    assert (martin.document_type_id, martin.population_type_id, martin.sex) == ("passport", "foreign", "M")
    assert martin.foreign.nationality == "法国"
    chen = Resident.objects.get(id_number="H12345678")
    assert (chen.population_type_id, chen.floating.arrival_date) == ("floating", dt.date(2024, 3, 1))
    karl = Resident.objects.get(id_number=new_card())
    assert karl.population_type_id == "foreign"  # only foreign nationals hold the card


def test_an_import_without_the_new_columns_keeps_a_persons_type(world: World) -> None:
    person = world.residents["a1_1_head"]
    actions.resident_population_set(by=None, resident=person, population_type="floating", separation="here")
    header = ["姓名", "公民身份号码", "社区", "楼栋", "单元", "房号"]
    run(csv_bytes([["王建国", person.id_number, "灵西社区", "1号楼", "1", "101"]], header=header))
    person.refresh_from_db()
    assert (person.population_type_id, person.separation, person.document_type_id) == (
        "floating",
        "here",
        "resident_id_card",
    )


# --- headcounts ---------------------------------------------------------------------------------


def test_the_headcounts_count_living_residents_by_type_per_child_area(world: World, client_for: Any) -> None:
    register_foreigner(world)
    actions.resident_population_set(by=None, resident=world.residents["a1_2_head"], population_type="floating")
    actions.resident_die(by=None, resident=world.residents["a1_1_ward"], date=dt.date(2026, 1, 1))
    counts = headcounts(world.user(Role.DISTRICT_ADMIN), world.areas["community_a1"])
    codes = [t.code for t in counts.types]
    by_grid = {row.area.name: dict(zip(codes, row.counts, strict=True)) for row in counts.children if row.area}
    assert by_grid["灵西第一网格"] == {"registered": 1, "floating": 0, "foreign": 1, "unregistered": 0}
    assert by_grid["灵西第二网格"] == {"registered": 0, "floating": 1, "foreign": 0, "unregistered": 0}
    assert counts.total.total == 3
    page = client_for(Role.STREET_STAFF).get(f"/areas/{world.areas['street_a'].pk}/").content.decode()
    assert "实有人口（按人口类型）" in page and "流动人口" in page
    # A grid worker's counts are their grid's alone.
    mine = headcounts(world.user(Role.GRID_WORKER), world.areas["community_a1"])
    assert mine.total.total == 2


def test_the_headcounts_from_the_worker_rollups_equal_counting_live(world: World) -> None:
    register_foreigner(world)
    actions.resident_population_set(by=None, resident=world.residents["a1_2_head"], population_type="floating")
    admin = world.user(Role.DISTRICT_ADMIN)
    levels = ("district", "street_a", "community_a1", "grid_a1_1")

    def table(key: str) -> tuple[list[int], list[tuple[int | None, list[int]]]]:
        counts = headcounts(admin, world.areas[key])
        return counts.total.counts, [(row.area.pk if row.area else None, row.counts) for row in counts.children]

    live = {key: table(key) for key in levels}
    worker = world.user(Role.GRID_WORKER)
    worker_live = headcounts(worker, world.areas["community_a1"]).total.counts
    rollups.refresh()
    assert all(AreaCount.objects.get(area=world.areas[key]).by_type for key in levels)
    assert {key: table(key) for key in levels} == live
    # A grid worker sees part of the community: still counted live, their grid alone.
    assert headcounts(worker, world.areas["community_a1"]).total.counts == worker_live
    assert sum(worker_live) < sum(live["community_a1"][0])


# --- code tables --------------------------------------------------------------------------------


def test_a_district_administrator_adds_a_document_type_in_the_admin_and_it_is_used(
    world: World, client_for: Any
) -> None:
    admin = client_for(Role.DISTRICT_ADMIN)
    assert admin.get("/admin/registry/populationtype/").status_code == 200
    response = admin.post(
        "/admin/registry/documenttype/add/",
        {"code": "officer_card", "name": "军官证", "name_en": "Officer's card", "format": "free", "order": 9},
    )
    assert response.status_code == 302
    form = client_for(Role.GRID_WORKER).get(f"/households/{world.households['grid_a1_1'].pk}/").content.decode()
    assert "军官证" in form
    person = actions.resident_register(
        by=None,
        household=world.households["grid_a1_1"],
        name="刘卫国",
        id_number="军字第 0012 号",
        document_type="officer_card",
        sex="M",
        birth_date=dt.date(1970, 1, 1),
    )
    assert person.id_number == "军字第0012号"
    assert person.search_keys.filter(key="#军字第0012号").exists()


def test_the_api_registers_a_taiwan_resident_and_shows_the_details_masked(world: World, client_for: Any) -> None:
    worker = client_for(Role.GRID_WORKER)
    response = worker.post(
        "/api/v1/residents/",
        {
            "household": world.households["grid_a1_1"].pk,
            "name": "林志明",
            "id_number": "1234567",
            "document_type": "taiwan_pass",
            "sex": "M",
            "birth_date": "1988-08-08",
        },
        content_type="application/json",
    )
    assert response.status_code == 400
    assert "8位" in response.json()["id_number"][0]
    response = worker.post(
        "/api/v1/residents/",
        {
            "household": world.households["grid_a1_1"].pk,
            "name": "林志明",
            "id_number": "12345678",
            "document_type": "taiwan_pass",
            "population_type": "floating",
            "sex": "M",
            "birth_date": "1988-08-08",
        },
        content_type="application/json",
    )
    assert response.status_code == 201
    body = response.json()
    assert (body["document_type"], body["population_type_label"], body["id_number"]) == (
        "taiwan_pass",
        "流动人口",
        "********",
    )
    person = Resident.objects.get(id_number="12345678")
    actions.resident_population_set(
        by=None, resident=person, population_type="floating", floating={"permit_number": "210304202400123"}
    )
    masked = client_for(Role.DEPARTMENT).get(f"/api/v1/residents/{person.pk}/").json()
    assert masked["floating"]["permit_number"] == idnumbers.mask("210304202400123")
    full = worker.get(f"/api/v1/residents/{person.pk}/").json()
    assert full["floating"]["permit_number"] == "210304202400123"


def test_the_shipped_types_come_back_after_a_flush_but_edits_are_kept() -> None:
    from wangge.registry.codes import ensure_defaults
    from wangge.registry.models import DocumentType, PopulationType

    DocumentType.objects.filter(code="passport").update(name_en="Passport (any country)")
    DocumentType.objects.filter(code="taiwan_pass").update(code="tw_pass")
    Resident.objects.all().delete()
    PopulationType.objects.all().delete()
    ensure_defaults()
    assert PopulationType.objects.count() == 4
    assert DocumentType.objects.get(code="passport").name_en == "Passport (any country)"
    assert not DocumentType.objects.filter(code="taiwan_pass").exists()  # re-coded, name kept


# --- re-importing the floating and foreign details ---------------------------------------------


FLOATING_HEADER = ["姓名", "公民身份号码", "社区", "楼栋", "单元", "房号", "人口类型", "居住证号码", "户籍地"]


def floating_row(permit_number: str = "210300123456", origin: str = "河南省周口市") -> list[str]:
    return ["陈晓燕", id_for(7001, sex="F"), "灵西社区", "1号楼", "2", "301", "流动人口", permit_number, origin]


def test_the_same_floating_rows_again_are_unchanged_and_write_no_details(world: World) -> None:
    run(csv_bytes([floating_row()], header=FLOATING_HEADER))
    detail = FloatingDetail.objects.get()
    again = run(csv_bytes([floating_row()], header=FLOATING_HEADER))
    assert (again.unchanged, again.updated) == (1, 0)
    assert FloatingDetail.objects.get().pk == detail.pk


def test_a_changed_permit_number_updates_the_detail_and_counts_the_person_updated(world: World) -> None:
    run(csv_bytes([floating_row()], header=FLOATING_HEADER))
    again = run(csv_bytes([floating_row(permit_number="210300999999", origin="")], header=FLOATING_HEADER))
    assert (again.unchanged, again.updated) == (0, 1)
    detail = FloatingDetail.objects.get()
    assert (detail.permit_number, detail.origin) == ("210300999999", "河南省周口市")  # a blank cell keeps
