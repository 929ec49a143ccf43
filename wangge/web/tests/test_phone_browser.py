"""Issue 10 at 390 px in Chromium: what a person on a phone sees of alerts and searches on their
home page, the confirmation before an action that cannot be undone, the import of an unchanged
template, the tab bar and the size of what they tap.

Screenshots go to ``$WANGGE_SCREENSHOTS`` or else ``var/screenshots/`` (``var/`` is ignored by
git), so a reviewer can look at them after a run.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from wangge.conftest import PASSWORD, World
from wangge.core.models import Task
from wangge.core.tasks import run_queued
from wangge.protection import incidents
from wangge.protection.models import Alert, Incident
from wangge.protection.tests.conftest import Protected, arrive, protect
from wangge.web.tests.test_browser import browser, no_sideways_scroll, phone  # noqa: F401  (the fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

ROOT = Path(__file__).resolve().parents[3]
TAP = 44


@pytest.fixture
def shots() -> Path:
    target = Path(os.environ.get("WANGGE_SCREENSHOTS") or ROOT / "var" / "screenshots")
    target.mkdir(parents=True, exist_ok=True)
    return target


@pytest.fixture
def protected(world: World) -> Iterator[Protected]:
    yield protect(world)


def box(locator: Any) -> dict[str, float]:
    found = locator.bounding_box()
    assert found is not None
    return found


def test_the_grid_worker_sees_a_red_banner_for_an_open_alert_and_reaches_it_in_one_tap(
    browser: Any,  # noqa: F811
    live_server: Any,
    protected: Protected,
    shots: Path,
) -> None:
    arrive([protected.fix(alarm="sos")])
    alert = Alert.objects.get(kind="sos")
    page = phone(browser, live_server, "grid_worker")
    banner = page.locator("a.urgent-banner")
    assert banner.count() == 1
    assert "告警：李秀英 紧急求助" in banner.inner_text()
    colour = banner.evaluate("el => getComputedStyle(el).backgroundColor")
    assert colour == "rgb(166, 27, 27)"  # the danger red
    assert box(banner)["y"] < box(page.locator("main h1").first)["y"]  # above the buildings
    tab = page.locator("nav.mainnav .navrow a", has_text="防走失")
    assert tab.locator(".navbadge").inner_text() == "1"
    assert no_sideways_scroll(page)
    page.screenshot(path=str(shots / "home-grid-worker-alert.png"), full_page=True)
    banner.tap()
    page.wait_for_url(f"**/protection/alerts/#alert-{alert.pk}")
    assert page.locator(f"#alert-{alert.pk}").is_visible()
    page.context.close()


def test_the_guardian_sees_the_search_for_their_relative_first(
    browser: Any,  # noqa: F811
    live_server: Any,
    protected: Protected,
    shots: Path,
) -> None:
    incident = incidents.incident_report(by=protected.world.user("community_staff"), enrolment=protected.enrolment)
    page = phone(browser, live_server, "guardian")
    banner = page.locator("a.urgent-banner")
    assert "正在搜寻走失人员：李秀英" in banner.inner_text()
    page.screenshot(path=str(shots / "home-guardian-search.png"), full_page=True)
    banner.tap()
    page.wait_for_url(f"**/protection/incidents/{incident.pk}/")
    page.context.close()


def test_escalating_an_alert_asks_first_and_says_whom_it_notifies(
    browser: Any,  # noqa: F811
    live_server: Any,
    protected: Protected,
    shots: Path,
) -> None:
    arrive([protected.fix(alarm="sos")])
    page = phone(browser, live_server, "community_staff")
    page.goto(f"{live_server.url}/protection/alerts/")
    page.get_by_role("button", name="升级为走失事件").tap()
    page.wait_for_selector("#confirm")
    assert page.locator("h1").inner_text() == "确认将 李秀英 的告警升级为走失事件？"
    text = page.locator("#confirm").inner_text()
    assert "立即通知 2 人" in text and "该告警标记为已升级" in text
    assert no_sideways_scroll(page)
    page.screenshot(path=str(shots / "confirm-escalate.png"), full_page=True)
    assert not Incident.objects.exists()
    confirm = page.get_by_role("button", name="确认升级并通知")
    assert box(confirm)["height"] >= TAP
    confirm.tap()
    page.wait_for_url("**/protection/incidents/*/")
    assert Incident.objects.filter(alert__kind="sos").count() == 1
    page.context.close()


def test_the_confirmation_works_with_javascript_switched_off(
    browser: Any,  # noqa: F811
    live_server: Any,
    protected: Protected,
) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844}, java_script_enabled=False, locale="zh-CN")
    page = context.new_page()
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", "guardian")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit].btn")
    page.goto(f"{live_server.url}/protection/{protected.enrolment.pk}/zones/")
    page.get_by_role("button", name="删除").first.click()
    page.wait_for_selector("#confirm")
    assert "确认删除安全区域“家”？" in page.locator("h1").inner_text()
    page.get_by_role("button", name="确认删除").click()
    page.wait_for_url(f"**/protection/{protected.enrolment.pk}/zones/")
    assert not protected.enrolment.zones.exists()
    context.close()


def test_an_unchanged_template_imports_nobody_and_the_report_says_the_example_was_skipped(
    browser: Any,  # noqa: F811
    live_server: Any,
    world: World,
    shots: Path,
) -> None:
    page = phone(browser, live_server, "community_staff")
    page.goto(f"{live_server.url}/registry/import/")
    with page.expect_download() as download:
        page.locator("a[href$='template.xlsx']").first.click()
    template = Path(download.value.path())
    page.set_input_files(
        "input[type=file]",
        files=[{"name": "模板.xlsx", "mimeType": "application/octet-stream", "buffer": template.read_bytes()}],
    )
    page.locator("main form button[type=submit]").last.click()
    page.wait_for_url("**/tasks/*/")  # the worker imports it; here the test runs the queue
    assert run_queued(worker="test") == 1
    page.reload()
    summary = page.locator("main").inner_text()
    assert "导入 0 人" in summary and "跳过示例行 1 行" in summary
    page.goto(live_server.url + Task.objects.get().result["url"])
    page.wait_for_selector(".import-result")
    assert "已跳过模板中的示例行 1 行" in page.locator(".import-examples").inner_text()
    assert no_sideways_scroll(page)
    page.screenshot(path=str(shots / "import-template-unchanged.png"), full_page=True)
    page.context.close()


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_every_tab_fits_a_390_px_screen(
    browser: Any,  # noqa: F811
    live_server: Any,
    world: World,
    shots: Path,
    language: str,
) -> None:
    page = phone(browser, live_server, "district_admin")  # the role with the most tabs
    if language == "en":
        page.get_by_role("button", name="English").click()
        page.wait_for_load_state()
    # the tabs the row shows are whole and 44 px; the rest are in the More menu (issue 16,
    # wangge/web/tests/test_nav_browser.py)
    tabs = page.locator('nav.mainnav .navrow a:not([aria-hidden="true"])')
    assert tabs.count() >= 3
    for index in range(tabs.count()):
        tab = box(tabs.nth(index))
        assert tab["x"] >= 0 and tab["x"] + tab["width"] <= 390, tabs.nth(index).inner_text()
        assert tab["height"] >= TAP
    assert no_sideways_scroll(page)
    page.screenshot(path=str(shots / f"tabs-{language}.png"))
    page.context.close()


def test_breadcrumbs_radios_checkboxes_and_map_dots_are_44_px_to_tap(
    browser: Any,  # noqa: F811
    live_server: Any,
    world: World,
) -> None:
    page = phone(browser, live_server, "community_staff")
    page.goto(f"{live_server.url}/buildings/{world.buildings['grid_a1_1'].pk}/")
    crumbs = page.locator("nav.crumbs a")
    assert crumbs.count() >= 1
    for index in range(crumbs.count()):
        assert box(crumbs.nth(index))["height"] >= TAP

    page.goto(f"{live_server.url}/protection/enrol/{world.residents['a1_1_head'].pk}/")
    radios = page.locator("input[type=radio]")
    checkboxes = page.locator("input[type=checkbox]")
    assert radios.count() >= 2 and checkboxes.count() >= 3
    for index in range(radios.count()):
        label = box(radios.nth(index).locator("xpath=.."))
        assert label["height"] >= TAP
    for index in range(checkboxes.count()):
        row = box(checkboxes.nth(index).locator("xpath=.."))
        assert row["height"] >= TAP and row["width"] >= TAP
    checkboxes.first.locator("xpath=../label").tap()  # the label toggles its box
    assert not checkboxes.first.is_checked()

    page.goto(f"{live_server.url}/map/")
    page.wait_for_selector("#map[data-loaded=true]")
    dot = box(page.locator("path.building-dot").first)
    centre_x, centre_y = dot["x"] + dot["width"] / 2, dot["y"] + dot["height"] / 2
    hit = page.evaluate(
        "([x, y]) => { const el = document.elementFromPoint(x, y); return el && el.getAttribute('class') }",
        [centre_x + TAP / 2 - 2, centre_y],
    )
    assert hit is not None and "building-dot" in hit  # 20 px from the centre still hits the dot
    page.context.close()
