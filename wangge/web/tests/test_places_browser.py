"""Issue 10 on a 390 px phone (items 3, 4, 9): the phone setup page, positions in words, the safe-zone
editor and the division page. Helpers and the browser come from test_browser."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from wangge.conftest import World
from wangge.web.tests.test_browser import browser, no_sideways_scroll, phone, shots  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def _enrol(world: World) -> Any:
    from wangge.protection.tests.conftest import protect

    return protect(world)


def test_it_shows_no_qr_code_when_the_site_is_opened_as_localhost(
    browser: Any,  # noqa: F811
    live_server: Any,
    world: World,
    shots: Path,  # noqa: F811
) -> None:
    protected = _enrol(world)
    page = phone(browser, live_server, "community_staff")
    page.goto(f"{live_server.url}/protection/{protected.enrolment.pk}/")
    page.locator("#devices summary").tap()
    page.fill("#id_name", "奶奶的手机")
    page.get_by_role("button", name="登记并显示设置二维码").tap()
    page.wait_for_selector("#device-password")
    assert page.locator(".qr svg").count() == 0
    warning = page.locator("#http-unreachable").inner_text()
    assert "localhost" in warning and "WANGGE_PUBLIC_URL" in warning
    assert "WANGGE_MQTT_PUBLIC_URL" in page.locator("#mqtt-unreachable").inner_text()
    # the password is readable in groups of four, and no group is broken across lines
    password = page.locator("#device-password").inner_text()
    assert re.fullmatch(r"([a-z2-9]{4}-){5}[a-z2-9]{4}", password), password
    lines_per_group = page.eval_on_selector_all(
        "#device-password .otp-group, #http-setup .otp-group", "els => els.map(e => e.getClientRects().length)"
    )
    assert lines_per_group and set(lines_per_group) == {1}
    assert no_sideways_scroll(page)
    page.screenshot(path=str(shots / "device-setup-localhost.png"), full_page=True)
    page.context.close()


def test_the_zone_editor_opens_on_the_home_building_with_a_circle_ready_to_save(
    browser: Any,  # noqa: F811
    live_server: Any,
    world: World,
    shots: Path,  # noqa: F811
) -> None:
    from wangge.protection.models import SafeZone

    protected = _enrol(world)
    protected.zone.delete()
    home = world.buildings["grid_a1_1"]
    page = phone(browser, live_server, "guardian")
    page.goto(f"{live_server.url}/protection/{protected.enrolment.pk}/zones/")
    page.wait_for_selector("#zone-map[data-ready=true]")
    lat, lon = map(float, page.locator("#zone-map").get_attribute("data-center").split(","))
    assert abs(lat - home.lat) < 0.0002 and abs(lon - home.lon) < 0.0002  # within ~20 m of home
    assert page.locator("path.zone-draft").count() == 1  # the 300 m circle, drawn
    # no base map, yet the place is recognisable: outlines, the building and its name
    assert page.locator("path.street-shape").count() >= 1 and page.locator("path.community-shape").count() >= 1
    assert page.locator("path.building-dot").count() >= 1
    label = page.locator(".building-label", has_text="1号楼")
    assert label.count() == 1 and float(label.evaluate("e => getComputedStyle(e).opacity")) > 0.5
    assert no_sideways_scroll(page)
    page.screenshot(path=str(shots / "zone-editor.png"), full_page=True)
    page.get_by_role("button", name="保存安全区域").tap()
    page.wait_for_selector(".messages >> text=已保存安全区域")
    zone = SafeZone.objects.get(enrolment=protected.enrolment)
    assert (zone.name, zone.kind, zone.radius_m) == ("家", "circle", 300)
    assert abs(zone.center_lat - home.lat) < 1e-6 and abs(zone.center_lon - home.lon) < 1e-6
    page.context.close()


def _inside(inner: dict, outer: dict) -> bool:
    return (
        inner["x"] >= outer["x"] - 0.5
        and inner["y"] >= outer["y"] - 0.5
        and inner["x"] + inner["width"] <= outer["x"] + outer["width"] + 0.5
        and inner["y"] + inner["height"] <= outer["y"] + outer["height"] + 0.5
    )


def test_the_district_target_card_holds_its_input_and_a_styled_button(
    browser: Any,  # noqa: F811
    live_server: Any,
    world: World,
    shots: Path,  # noqa: F811
) -> None:
    page = phone(browser, live_server, "district_admin")
    page.goto(f"{live_server.url}/areas/{world.areas['community_a1'].pk}/division/")
    card = page.locator("#district-target")
    card.scroll_into_view_if_needed()
    box = card.bounding_box()
    assert card.evaluate("e => getComputedStyle(e).display") != "inline"  # an inline card breaks apart
    assert box["width"] > 300 and box["height"] > 100
    field = page.locator("#district-target input[name=target]").bounding_box()
    assert _inside(field, box)
    button = page.locator("#district-target button[type=submit]")
    assert _inside(button.bounding_box(), box)
    assert "btn" in (button.get_attribute("class") or "")
    assert button.bounding_box()["height"] >= 44
    assert button.evaluate("e => getComputedStyle(e).backgroundColor") not in ("rgba(0, 0, 0, 0)", "rgb(239, 239, 239)")
    assert no_sideways_scroll(page)
    page.fill("#district-target input[name=target]", "280")
    button.tap()
    page.wait_for_selector(".messages >> text=280")
    page.screenshot(path=str(shots / "division-target.png"), full_page=True)
    page.context.close()


def test_a_community_administrator_sees_why_they_cannot_apply_a_division(
    browser: Any,  # noqa: F811
    live_server: Any,
    world: World,
    shots: Path,  # noqa: F811
) -> None:
    page = phone(browser, live_server, "community_staff")
    page.goto(f"{live_server.url}/areas/{world.areas['community_a1'].pk}/division/")
    page.wait_for_selector("#division-map[data-loaded=true]")
    assert page.get_by_role("button", name="应用此划分").count() == 0
    reason = page.locator("#apply-refused")
    assert reason.is_visible() and "街道" in reason.inner_text()
    assert no_sideways_scroll(page)
    page.screenshot(path=str(shots / "division-community.png"), full_page=True)
    page.context.close()
