"""Issue 13 at 390 px in Chromium: a resident without an account files a report with a photo from
/report/, placing the pin on the map and then with "use my location", and follows it on the
tracking page, where a staff member's public reply appears.

Screenshots go to ``$WANGGE_SCREENSHOTS`` or else ``var/screenshots/`` (``var/`` is ignored by
git).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from wangge.accounts.models import Role
from wangge.cases import actions as case_actions
from wangge.cases.models import CasePhoto
from wangge.cases.tests.photo_files import phone_jpeg
from wangge.conftest import World, grid_lon
from wangge.open311.models import Report
from wangge.web.tests.test_browser import PHONE, browser, no_sideways_scroll  # noqa: F401  (the fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def shots() -> Path:
    target = Path(os.environ.get("WANGGE_SCREENSHOTS") or ROOT / "var" / "screenshots")
    target.mkdir(parents=True, exist_ok=True)
    return target


def test_a_resident_reports_with_a_photo_from_a_phone_and_follows_it(
    browser: Any,  # noqa: F811
    live_server: Any,
    world: World,
    shots: Path,
    settings: Any,
    tmp_path: Path,
) -> None:
    settings.DATA_DIR = tmp_path
    here = {"latitude": 41.12, "longitude": grid_lon(world.areas["grid_b1_1"])}
    context = browser.new_context(
        viewport=PHONE,
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        locale="zh-CN",
        geolocation=here,
        permissions=["geolocation"],
    )
    page = context.new_page()
    page.set_default_timeout(15000)
    page.goto(f"{live_server.url}/report/")
    assert page.locator("h1").inner_text() == "我要报事"

    page.select_option("#id_category", label="公共设施损坏")
    page.fill("#id_text", "小区东门路灯坏了，晚上很黑")
    # The map shows the grids' outlines; a tap places the pin and fills the position.
    page.wait_for_selector("#report-map path.leaflet-interactive, #report-map svg path")
    page.locator("#report-map").tap(position={"x": 150, "y": 120})
    page.wait_for_selector("#report-map .leaflet-marker-icon")
    assert page.input_value("#id_lat") and page.input_value("#id_lon")
    # "Use my location" moves the pin to where the phone is.
    page.locator("#use-location").tap()
    expect(page.locator("#location-status")).to_have_text("✓")  # (the page's CSP forbids wait_for_function)
    assert float(page.input_value("#id_lat")) == pytest.approx(here["latitude"], abs=1e-6)
    assert float(page.input_value("#id_lon")) == pytest.approx(here["longitude"], abs=1e-6)
    assert page.locator("#report-map .leaflet-marker-icon").count() == 1
    photo_input = page.locator("#id_photo")
    assert photo_input.get_attribute("accept") == "image/*"
    photo_input.set_input_files(
        files=[{"name": "IMG_2041.jpg", "mimeType": "image/jpeg", "buffer": phone_jpeg(1600, 1200)}]
    )
    page.fill("#id_phone", "13955556666")
    assert no_sideways_scroll(page)
    for tapped in ("#use-location", "button[type=submit].primary", "#id_photo"):
        assert page.locator(tapped).bounding_box()["height"] >= 44, tapped  # big enough for a thumb
    page.screenshot(path=str(shots / "report-phone-filled.png"), full_page=True)

    page.locator("button[type=submit].primary").tap()
    page.wait_for_url("**/report/*/")
    report = Report.objects.get()
    assert report.case.grid == world.areas["grid_b1_1"]
    photo = CasePhoto.objects.get(case=report.case)
    assert page.locator(".track-code").inner_text() == report.code
    assert page.locator(".track-status").inner_text() == "已登记"
    shown = page.locator(f'.track-photos img[src="/report/photos/{photo.pk}.jpg"]')
    shown.scroll_into_view_if_needed()
    expect(shown).to_have_js_property("complete", True)
    assert shown.evaluate("img => img.naturalWidth") == 640  # the public rendition, not the original
    assert no_sideways_scroll(page)
    page.screenshot(path=str(shots / "report-phone-tracking.png"), full_page=True)

    # Staff accept it and reply publicly; the resident reloads the tracking page.
    admin = world.user(Role.DISTRICT_ADMIN)
    case_actions.case_accept(case=report.case, by=admin)
    case_actions.public_reply_write(case=report.case, by=admin, text="已派电工，明天上午修好")
    page.reload()
    assert page.locator(".track-status").inner_text() == "已受理"
    assert "已派电工，明天上午修好" in page.locator(".track-reply").inner_text()
    assert no_sideways_scroll(page)
    page.screenshot(path=str(shots / "report-phone-reply.png"), full_page=True)
    context.close()
