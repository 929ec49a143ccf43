"""A lease's tenants changed at 390 px in Chromium, in Chinese and English: a grid worker opens the
lease, finds the newcomer by ID number, adds them, then removes the tenant who moved out after
confirming, without sideways scrolling and with controls big enough to tap."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from wangge.conftest import World
from wangge.registry.models import Rental
from wangge.registry.tests.test_rental_tenant_changes import newcomer
from wangge.registry.tests.test_rooms import let
from wangge.web.tests.test_browser import PHONE, browser, no_sideways_scroll, phone, shots  # noqa: F401  (fixtures)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

WORDS = {
    "zh-hans": {
        "add": "添加承租人",
        "find": "查找",
        "one": "添加承租人 {}",
        "remove": "移除承租人 {}",
        "confirm": "确认移除",
    },
    "en": {
        "add": "Add a tenant",
        "find": "Find",
        "one": "Add {} as a tenant",
        "remove": "Remove tenant {}",
        "confirm": "Confirm removal",
    },
}


def on_screen(locator: Any) -> bool:
    """Whether the element is within the first screen of the phone, where the page opens."""
    box = locator.bounding_box()
    return box is not None and box["y"] >= 0 and box["y"] + box["height"] <= PHONE["height"]


def tall_enough(locator: Any) -> bool:
    box = locator.bounding_box()
    return box is not None and box["height"] >= 44


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_a_grid_worker_changes_a_leases_tenants_on_a_phone(
    browser: Any,  # noqa: F811
    live_server: Any,
    world: World,
    shots: Path,  # noqa: F811
    language: str,
) -> None:
    words = WORDS[language]
    rental = let(world, "grid_a1_1")
    person = newcomer(world)
    page = phone(browser, live_server, "grid_worker")
    if language == "en":
        page.get_by_role("button", name="English").click()
        page.wait_for_load_state()
    page.goto(f"{live_server.url}/rentals/{rental.pk}/")
    assert no_sideways_scroll(page)

    page.locator("#add-tenant summary").get_by_text(words["add"]).tap()
    page.fill("#tenant-q", person.id_number)
    page.locator("#add-tenant").get_by_role("button", name=words["find"], exact=True).tap()
    page.wait_for_url("**find=**")
    hit = page.locator("ul.tenant-hits li", has_text=person.name)
    assert no_sideways_scroll(page)
    add = hit.get_by_role("button", name=words["one"].format(person.name), exact=True)
    assert tall_enough(add)
    page.screenshot(path=str(shots / f"rental-tenant-found-{language}.png"), full_page=True)
    add.tap()
    page.wait_for_url(f"**/rentals/{rental.pk}/")
    assert person.name in page.locator("ul.tenants").inner_text()
    assert person.name in page.locator("ul.messages").inner_text()
    assert on_screen(page.locator("ul.messages")) and on_screen(page.locator("#tenants h2"))
    assert no_sideways_scroll(page)
    page.screenshot(path=str(shots / f"rental-tenants-{language}.png"), full_page=True)

    leaving = page.get_by_role("button", name=words["remove"].format("王建国"), exact=True)
    assert tall_enough(leaving)
    leaving.tap()
    page.wait_for_url("**/tenants/remove/")
    assert "王建国" in page.locator("h1").inner_text()
    assert no_sideways_scroll(page)
    page.get_by_role("button", name=words["confirm"]).tap()
    page.wait_for_url(f"**/rentals/{rental.pk}/")
    assert "王建国" not in page.locator("ul.tenants").inner_text()
    assert set(Rental.objects.get(pk=rental.pk).tenants.values_list("name", flat=True)) == {person.name}
    page.context.close()
