"""The places list and a place page at 390 px in Chromium: a grid worker sees the overdue
rectification first, opens the place without sideways scrolling, and records an inspection."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from wangge.conftest import World
from wangge.places import actions
from wangge.places.codes import ensure_defaults
from wangge.places.models import Inspection
from wangge.web.tests.test_browser import browser, no_sideways_scroll, phone, shots  # noqa: F401  (fixtures)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_a_grid_worker_chases_an_overdue_rectification_on_a_phone(
    browser: Any,  # noqa: F811
    live_server: Any,
    world: World,
    shots: Path,  # noqa: F811
) -> None:
    ensure_defaults()
    today = timezone.localdate()
    building = world.buildings["grid_a1_1"]
    late = actions.place_register(
        by=None, name="鸿运小旅馆", place_type="small_hostel", building=building, address="1号楼底商3号"
    )
    actions.place_inspect(
        by=None,
        place=late,
        date=today - dt.timedelta(days=20),
        hazard_level="major",
        findings="安全出口被锁闭",
        rectify="拆除锁具，保持安全出口畅通",
        deadline=today - dt.timedelta(days=5),
    )
    for n in range(8):
        actions.place_register(by=None, name=f"好邻居便利店{n + 1}号店", place_type="small_shop", building=building)

    page = phone(browser, live_server, "grid_worker")
    page.goto(f"{live_server.url}/places/")
    assert no_sideways_scroll(page)
    first = page.locator("ul.places-attention a.row").first
    assert "鸿运小旅馆" in first.inner_text() and "整改逾期" in first.inner_text()
    found = first.bounding_box()
    assert found is not None and found["height"] >= 44
    page.screenshot(path=str(shots / "places.png"), full_page=True)
    first.tap()
    page.wait_for_url(f"**/places/{late.pk}/")
    assert no_sideways_scroll(page)
    assert "拆除锁具" in page.locator("ul.rectifications").inner_text()
    page.locator("#inspect summary").tap()
    page.select_option("#id_hazard_level", "none")
    page.fill("#id_findings", "安全出口已打开")
    page.locator("#inspect button[type=submit]").tap()
    page.wait_for_selector("text=安全出口已打开")
    assert Inspection.objects.filter(place=late).count() == 2
    page.screenshot(path=str(shots / "place.png"), full_page=True)
    page.context.close()


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_a_grid_worker_registers_a_unit_and_its_place_on_a_phone(
    browser: Any,  # noqa: F811
    live_server: Any,
    world: World,
    shots: Path,  # noqa: F811
    language: str,
) -> None:
    from wangge.places import creditcode
    from wangge.places.models import Place, Unit

    ensure_defaults()
    code = creditcode.make("92210304MA0XYW456")
    wrong = code[:17] + ("0" if code[17] != "0" else "1")
    english = language == "en"
    page = phone(browser, live_server, "grid_worker")
    if english:
        page.get_by_role("button", name="English").click()
        page.wait_for_load_state()
    page.goto(f"{live_server.url}/units/")
    page.get_by_role("link", name="Register a unit" if english else "登记单位").tap()
    page.wait_for_url("**/units/new/")
    assert no_sideways_scroll(page)
    choices = page.locator("ul.pick-building a.row")
    assert choices.count() == 1  # the worker's grid has one building; the neighbour's is not offered
    choices.first.tap()
    page.wait_for_url("**/units/new/?building=*")
    page.fill("#id_name", "鞍山市立山区老刘家饺子馆")
    page.select_option("#id_kind", "individual")
    page.fill("#id_credit_code", wrong)
    page.fill("#id_legal_rep", "刘志刚")
    page.fill("#id_legal_rep_phone", "13841200001")
    page.fill("#id_staff_count", "4")
    page.locator("form.unit-form button[type=submit]").tap()
    page.wait_for_selector(".errorlist")
    assert no_sideways_scroll(page)
    error = page.locator(".errorlist").first.inner_text()
    assert ("Invalid unified social credit code" if english else "统一社会信用代码无效") in error
    assert page.input_value("#id_name") == "鞍山市立山区老刘家饺子馆" and page.input_value("#id_credit_code") == wrong
    page.screenshot(path=str(shots / f"unit-form-error-{language}.png"), full_page=True)
    page.fill("#id_credit_code", code)
    page.locator("form.unit-form button[type=submit]").tap()
    page.wait_for_url("**/units/*/")
    unit = Unit.objects.get()
    assert unit.credit_code == code and unit.staff_count == 4
    page.get_by_role("link", name="Register a place of this unit" if english else "登记本单位的场所").tap()
    page.wait_for_url("**/places/new/?unit=*")
    assert no_sideways_scroll(page)
    page.fill("#id_name", "老刘家饺子馆")
    page.select_option("#id_place_type", "small_restaurant")
    page.screenshot(path=str(shots / f"place-form-{language}.png"), full_page=True)
    page.locator("form.place-form button[type=submit]").tap()
    page.wait_for_url("**/places/*/")
    created = Place.objects.get()
    assert created.unit == unit and created.operator == "刘志刚"
    assert no_sideways_scroll(page)
    page.screenshot(path=str(shots / f"place-registered-{language}.png"), full_page=True)
    page.context.close()
