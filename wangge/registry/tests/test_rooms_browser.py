"""The building plan at 390 px in Chromium: a tall building's floors × rooms fit the phone's width
and each room is big enough to tap."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from wangge.conftest import World
from wangge.registry import room_actions
from wangge.web.tests.test_browser import browser, no_sideways_scroll, phone, shots  # noqa: F401  (fixtures)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_a_grid_worker_reads_a_tall_building_floor_by_floor_on_a_phone(
    browser: Any,  # noqa: F811
    live_server: Any,
    world: World,
    shots: Path,  # noqa: F811
) -> None:
    building = world.buildings["grid_a1_1"]
    room_actions.household_settle(by=None, household=world.households["grid_a1_1"])
    for entrance in ("1", "2"):
        for floor in range(1, 19):
            for number in range(1, 5):
                label = f"{floor}{number:02d}"
                if (entrance, label) != ("1", "101"):
                    room_actions.room_create(by=None, building=building, entrance=entrance, number=label)

    page = phone(browser, live_server, "grid_worker")
    page.goto(f"{live_server.url}/buildings/{building.pk}/plan/")
    assert no_sideways_scroll(page)
    rooms = page.locator("li.plan-room")
    assert rooms.count() == 2 * 18 * 4
    for index in (0, 71, 143):
        found = rooms.nth(index).bounding_box()
        assert found is not None and found["height"] >= 44 and found["width"] >= 60
    lived = page.locator("li.plan-lived")
    assert "王建国" in lived.inner_text()
    page.screenshot(path=str(shots / "building-plan.png"), full_page=True)
    edit = lived.locator("a.plan-edit").bounding_box()  # the editor's link under the room
    assert edit is not None and edit["height"] >= 24
    lived.locator("a:not(.plan-edit)").tap()
    page.wait_for_url(f"**/households/{world.households['grid_a1_1'].pk}/")
    page.context.close()
