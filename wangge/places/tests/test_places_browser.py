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
