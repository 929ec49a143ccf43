"""The rentals import at 390 px in Chromium, in Chinese and English: a grid worker goes from the
rentals list to the import page, uploads a file with a lease of their grid and one of the next
grid's, and reads what was registered and why the other row was refused, without sideways
scrolling."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.utils import translation

from wangge.conftest import World
from wangge.registry.models import Rental
from wangge.registry.tests.test_rentals_import import lease, table
from wangge.web.tests.test_browser import browser, no_sideways_scroll, phone, shots  # noqa: F401  (fixtures)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_a_grid_worker_imports_rentals_on_a_phone(
    browser: Any,  # noqa: F811
    live_server: Any,
    world: World,
    shots: Path,  # noqa: F811
    tmp_path: Path,
    language: str,
) -> None:
    english = language == "en"
    file = tmp_path / "rentals.csv"
    with translation.override("zh-hans"):
        file.write_bytes(table(lease(), lease(**{"楼栋": "2号楼"}), language=language))
    page = phone(browser, live_server, "grid_worker")
    if english:
        page.get_by_role("button", name="English").click()
        page.wait_for_load_state()
    page.goto(f"{live_server.url}/rentals/")
    page.get_by_role("link", name="Import" if english else "导入", exact=True).tap()
    page.wait_for_url("**/rentals/import/")
    assert no_sideways_scroll(page)
    assert page.locator("h1").inner_text() == ("Import rentals" if english else "导入出租房屋")
    page.set_input_files("#id_file", str(file))
    page.locator("form[enctype] button[type=submit]").tap()
    page.wait_for_selector("section.import-result")
    assert no_sideways_scroll(page)
    refused = page.locator("table.import-rejections").inner_text()
    assert ("This building is outside your areas" if english else "该楼栋不在您的管辖范围内") in refused
    assert Rental.objects.get().grid == world.areas["grid_a1_1"]
    counts = page.locator("section.import-result .stats").inner_text()
    assert ("Already registered" if english else "已登记") in counts
    page.screenshot(path=str(shots / f"rentals-import-{language}.png"), full_page=True)
    page.context.close()
