"""The navigation at 390 px in Chromium (issue 16): the district administrator, who has the most
sections, gets one row of tabs and a "更多" (More) button whose menu holds the rest; every
section opens from a tap, in Chinese and in English, and the button works from the keyboard."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from wangge.accounts.models import Role
from wangge.conftest import World
from wangge.groups.codes import ensure_defaults as ensure_registers
from wangge.places.codes import ensure_defaults as ensure_place_codes
from wangge.web.context import nav_items
from wangge.web.tests.test_browser import browser, no_sideways_scroll, phone, shots  # noqa: F401  (fixtures)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

TAP = 44


def box(locator: Any) -> dict[str, float]:
    found = locator.bounding_box()
    assert found is not None
    return dict(found)


def in_english(page: Any) -> None:
    page.get_by_role("button", name="English").click()
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "en"


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_the_district_admin_reaches_every_section_from_one_row_on_a_phone(
    browser: Any,  # noqa: F811
    live_server: Any,
    world: World,
    shots: Path,  # noqa: F811
    language: str,
) -> None:
    ensure_registers()
    ensure_place_codes()
    sections = [item.url for item in nav_items(world.user(Role.DISTRICT_ADMIN), "/")]
    for wanted in ("/rentals/", "/groups/", "/places/", "/units/"):
        assert wanted in sections
    page = phone(browser, live_server, "district_admin")
    if language == "en":
        in_english(page)
    nav = page.locator("nav.mainnav")
    header = page.locator("header.topbar")
    more = nav.locator("button.navmore-toggle")
    page.screenshot(path=str(shots / f"nav-{language}.png"))
    for url in sections:
        page.goto(f"{live_server.url}/")
        assert box(nav)["height"] <= TAP + 4, "the navigation wraps to a second row"
        assert box(header)["height"] <= 4 * TAP, "the header takes more than brand, search and one row of tabs"
        assert no_sideways_scroll(page)
        tab = nav.locator(f'.navrow a[href="{url}"]')
        if tab.get_attribute("aria-hidden") != "true":
            tab_box = box(tab)
            assert tab_box["x"] >= 0 and tab_box["x"] + tab_box["width"] <= box(more)["x"] + 1, url
            target = tab
        else:
            assert more.get_attribute("aria-expanded") == "false"
            more.tap()
            assert more.get_attribute("aria-expanded") == "true"
            target = nav.locator(f'.navmore-menu a[href="{url}"]')
            assert target.is_visible(), url
            entry = box(target)
            assert entry["height"] >= TAP and entry["x"] >= 0 and entry["x"] + entry["width"] <= 390, url
            if url == "/units/":
                page.screenshot(path=str(shots / f"nav-more-{language}.png"))
        with page.expect_navigation() as went:
            target.tap()
        assert went.value is not None and went.value.status == 200, url
        assert page.url == f"{live_server.url}{url}"
        assert box(nav)["height"] <= TAP + 4, url
        assert no_sideways_scroll(page), url
    page.screenshot(path=str(shots / f"nav-last-section-{language}.png"), full_page=True)
    page.context.close()


def test_the_more_button_opens_and_closes_from_the_keyboard(
    browser: Any,  # noqa: F811
    live_server: Any,
    world: World,
    shots: Path,  # noqa: F811
) -> None:
    page = phone(browser, live_server, "district_admin")
    more = page.locator("button.navmore-toggle")
    menu = page.locator("#navmore-menu")
    assert more.get_attribute("aria-controls") == "navmore-menu"
    assert not menu.is_visible()
    more.focus()
    page.keyboard.press("Enter")
    assert more.get_attribute("aria-expanded") == "true" and menu.is_visible()
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.closest('#navmore-menu') !== null")
    assert focused, "Tab from the button goes into the menu"
    page.screenshot(path=str(shots / "nav-more-keyboard.png"))
    page.keyboard.press("Escape")
    assert more.get_attribute("aria-expanded") == "false" and not menu.is_visible()
    assert page.evaluate("document.activeElement.classList.contains('navmore-toggle')")
    page.keyboard.press(" ")
    assert more.get_attribute("aria-expanded") == "true"
    page.locator("main").click(position={"x": 5, "y": 5})
    assert more.get_attribute("aria-expanded") == "false"
    # a tab the row has no room for is out of the tab order; the menu lists exactly those
    clipped = page.locator('.navrow a[aria-hidden="true"]')
    assert clipped.count() >= 1
    assert clipped.first.get_attribute("tabindex") == "-1"
    assert page.locator("#navmore-menu li:not([hidden])").count() == clipped.count()
    page.context.close()


def test_a_grid_workers_row_shows_the_tabs_that_fit_and_offers_no_audit_log(
    browser: Any,  # noqa: F811
    live_server: Any,
    world: World,
) -> None:
    page = phone(browser, live_server, "grid_worker")
    hrefs = page.locator("nav.mainnav .navmore-menu a").evaluate_all("links => links.map(a => a.getAttribute('href'))")
    assert "/places/" in hrefs and "/rentals/" in hrefs
    assert not any(href.startswith("/audit") or href.startswith("/registry/import") for href in hrefs)
    assert box(page.locator("nav.mainnav"))["height"] <= TAP + 4
    page.context.close()
