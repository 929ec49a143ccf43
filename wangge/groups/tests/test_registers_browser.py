"""A register's page and ending a listing at 390 px in Chromium, in Chinese and English: the
person whose period is over stands out, the listing opens without sideways scrolling, and the
form to take them off the register is open and works by tap."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from wangge.conftest import World
from wangge.groups.models import Listing
from wangge.groups.tests.test_registers import listed, today
from wangge.web.tests.test_browser import browser, no_sideways_scroll, phone, shots  # noqa: F401  (fixtures)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_a_grid_worker_takes_a_person_off_a_register_on_a_phone(
    browser: Any,  # noqa: F811
    live_server: Any,
    world: World,
    shots: Path,  # noqa: F811
) -> None:
    over = listed(world, "a1_1_head", "released", period_end=today() - dt.timedelta(days=2), office="友好司法所")
    listed(world, "a1_1_ward", "released")
    page = phone(browser, live_server, "grid_worker")
    page.goto(f"{live_server.url}/groups/registers/released/")
    assert no_sideways_scroll(page)
    first = page.locator("ul.listings a.row").first
    assert "王建国" in first.inner_text() and "期限已满" in first.inner_text()
    box = first.bounding_box()
    assert box is not None and box["height"] >= 44
    page.screenshot(path=str(shots / "register.png"), full_page=True)
    first.tap()
    page.wait_for_url(f"**/groups/listings/{over.pk}/")
    assert no_sideways_scroll(page)
    assert page.locator("#end").get_attribute("open") is not None  # the period is over: the form is open
    page.fill("#id_end-reason", "安置帮教期满")
    page.locator("#end button[type=submit]").tap()
    page.wait_for_url("**/groups/registers/released/")
    assert Listing.objects.get(pk=over.pk).end_reason == "安置帮教期满"
    page.goto(f"{live_server.url}/groups/registers/released/?ended=1")
    assert "安置帮教期满" in page.locator("ul.listings").inner_text()

    page.context.add_cookies([{"name": "django_language", "value": "en", "url": live_server.url}])
    page.goto(f"{live_server.url}/groups/registers/released/")
    assert no_sideways_scroll(page)
    assert "Released prisoner" in page.locator("h1").inner_text()
    assert "Export XLSX" in page.content()
    page.screenshot(path=str(shots / "register-en.png"), full_page=True)
    page.context.close()
