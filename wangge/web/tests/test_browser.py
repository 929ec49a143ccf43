"""The main pages in Debian's Chromium, driven by Playwright, on a phone-sized screen.

Skipped only on a developer machine without /usr/bin/chromium; under CI a missing browser is a
failure, so the browser tests cannot silently stop running. Screenshots go to
``$WANGGE_SCREENSHOTS`` when set (to look at the layout), otherwise to pytest's tmp dir.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from wangge.conftest import PASSWORD, World

# Playwright's sync API runs an event loop in this thread; the ORM calls made by the fixtures
# are still synchronous and safe here.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM = Path("/usr/bin/chromium")
PHONE = {"width": 390, "height": 844}
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium package to run the browser tests")
        pytest.skip(f"{CHROMIUM} is not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield browser
        browser.close()


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    target = Path(os.environ.get("WANGGE_SCREENSHOTS") or tmp_path)
    target.mkdir(parents=True, exist_ok=True)
    return target


def phone(browser: Any, live_server: Any, username: str) -> Any:
    """A signed-in page on a phone-sized screen with a Chinese browser."""
    context = browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(15000)
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit].btn")
    page.wait_for_url(f"{live_server.url}/")
    return page


def no_sideways_scroll(page: Any) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"))


def test_it_lets_a_grid_worker_reach_a_household_in_two_taps(
    browser: Any, live_server: Any, world: World, shots: Path
) -> None:
    page = phone(browser, live_server, "grid_worker")
    assert page.locator("h1").first.inner_text() == "灵西第一网格"
    assert no_sideways_scroll(page)
    page.screenshot(path=str(shots / "home-grid-worker.png"), full_page=True)

    page.locator("ul.buildings a.row").first.tap()  # tap 1: the building
    page.wait_for_url(f"**/buildings/{world.buildings['grid_a1_1'].pk}/")
    page.locator("ul.households a.row").first.tap()  # tap 2: the household
    page.wait_for_url(f"**/households/{world.households['grid_a1_1'].pk}/")
    assert "1号楼1单元101" in page.locator("h1").inner_text()
    assert no_sideways_scroll(page)

    page.get_by_role("link", name="李秀英").tap()
    page.wait_for_url(f"**/residents/{world.residents['a1_1_ward'].pk}/")
    assert page.locator("#id-number").inner_text() == world.residents["a1_1_ward"].id_number
    assert no_sideways_scroll(page)
    page.screenshot(path=str(shots / "resident.png"), full_page=True)
    page.context.close()


def test_it_switches_the_pages_to_english(browser: Any, live_server: Any, world: World, shots: Path) -> None:
    page = phone(browser, live_server, "grid_worker")
    assert page.get_by_role("button", name="退出登录").is_visible()
    page.get_by_role("button", name="English").click()
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.get_by_role("button", name="Sign out").is_visible()
    assert page.locator("nav.mainnav .navrow").get_by_text("Home").is_visible()
    assert "Grid worker" in page.locator(".who-role").inner_text()
    page.locator("ul.buildings a.row").first.tap()
    page.wait_for_url("**/buildings/*/")
    assert "1 household" in page.locator("main").inner_text()
    assert "Head of household" in page.locator("ul.households").inner_text()
    page.screenshot(path=str(shots / "building-en.png"), full_page=True)
    page.context.close()


def test_it_draws_the_grids_and_buildings_on_the_map(browser: Any, live_server: Any, world: World, shots: Path) -> None:
    page = phone(browser, live_server, "community_staff")
    page.goto(f"{live_server.url}/map/")
    page.wait_for_selector("#map[data-loaded=true]")
    assert page.locator("path.grid-shape").count() == 2  # 灵西第一网格, 灵西第二网格
    assert page.locator("path.building-dot").count() == 2
    assert no_sideways_scroll(page)
    page.screenshot(path=str(shots / "map.png"), full_page=True)
    page.context.close()


def test_it_previews_a_grid_division_beside_todays_grids(
    browser: Any, live_server: Any, world: World, shots: Path
) -> None:
    page = phone(browser, live_server, "street_staff")
    community = world.areas["community_a1"]
    page.goto(f"{live_server.url}/areas/{community.pk}/")
    page.get_by_role("link", name="网格划分与平衡").tap()
    page.wait_for_selector("#division-map[data-loaded=true]")
    assert page.locator("path.current-grid").count() == 2
    proposed = page.locator("path.proposed-grid").count()
    assert proposed >= 1
    assert page.get_by_role("button", name="应用此划分").is_visible()
    assert no_sideways_scroll(page)
    page.screenshot(path=str(shots / "division.png"), full_page=True)
    page.get_by_role("button", name="应用此划分").tap()
    page.wait_for_url(f"**/areas/{community.pk}/division/apply/")  # asks first, saying what moves
    assert "确认按此方案调整 灵西社区 的网格？" in page.locator("h1").inner_text()
    assert "网格统计随之改变" in page.locator("#confirm").inner_text()
    page.get_by_role("button", name="确认调整网格").tap()
    page.wait_for_url(f"**/areas/{community.pk}/staffing/")
    assert "已调整网格" in page.locator(".messages").inner_text()
    page.context.close()


def test_it_asks_before_removing_a_care_category_under_the_content_security_policy(
    browser: Any, live_server: Any, world: World
) -> None:
    from wangge.registry.models import CareCategory, CareTag

    ward = world.residents["a1_1_ward"]
    if not ward.care_tags.exists():  # the seeded categories may be gone in a transactional test
        category, _ = CareCategory.objects.get_or_create(code="dementia", defaults={"name": "失智老人"})
        CareTag.objects.create(resident=ward, category=category)
    page = phone(browser, live_server, "grid_worker")
    blocked: list[str] = []
    page.on(
        "console", lambda message: blocked.append(message.text) if "Content Security Policy" in message.text else None
    )
    page.goto(f"{live_server.url}/residents/{ward.pk}/")
    remove = page.locator("#care form[action$='/remove/'] button")
    assert remove.count() == 1
    remove.tap()  # the server asks, on a page of its own: no script, nothing sent yet
    page.wait_for_selector("#confirm")
    assert "确定取消 李秀英 的人员类别" in page.locator("h1").inner_text()
    assert ward.care_tags.count() == 1
    page.get_by_role("link", name="取消，返回").tap()
    page.wait_for_url(f"**/residents/{ward.pk}/#care")
    assert ward.care_tags.count() == 1  # went back: nothing changed
    page.locator("#care form[action$='/remove/'] button").tap()
    page.wait_for_selector("#confirm")
    page.get_by_role("button", name="确认取消").tap()
    page.wait_for_url(f"**/residents/{ward.pk}/")
    assert ward.care_tags.count() == 0
    assert "已取消人员类别" in page.locator(".messages").inner_text()
    assert blocked == []
    page.context.close()
