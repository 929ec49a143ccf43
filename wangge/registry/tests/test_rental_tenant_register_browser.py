"""A new tenant registered on the lease's page at 390 px in Chromium, in Chinese and English: the
grid worker opens the fold-out, mistypes the ID number's last character, sees the reason with
everything else still typed, corrects it and sees the tenant on the lease, without sideways
scrolling and with controls big enough to tap."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from wangge.conftest import World
from wangge.core import idnumbers
from wangge.registry.models import Rental, Resident
from wangge.registry.tests.test_rental_tenants_browser import on_screen, tall_enough
from wangge.registry.tests.test_rooms import let
from wangge.web.tests.test_browser import browser, no_sideways_scroll, phone, shots  # noqa: F401  (fixtures)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

NUMBER = idnumbers.make(area_code="411621", birth_date=dt.date(1998, 5, 4), sequence=88, sex="F")
WRONG = NUMBER[:-1] + ("0" if NUMBER[-1] != "0" else "1")

WORDS = {
    "zh-hans": {"open": "登记新租户", "submit": "登记并添加", "floating": "流动人口"},
    "en": {"open": "Register a new tenant", "submit": "Register and add", "floating": "Floating population"},
}


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_a_grid_worker_registers_a_new_tenant_on_a_phone(
    browser: Any,  # noqa: F811
    live_server: Any,
    world: World,
    shots: Path,  # noqa: F811
    language: str,
) -> None:
    words = WORDS[language]
    rental = let(world, "grid_a1_1")
    page = phone(browser, live_server, "grid_worker")
    if language == "en":
        page.get_by_role("button", name="English").click()
        page.wait_for_load_state()
    page.goto(f"{live_server.url}/rentals/{rental.pk}/")

    fold = page.locator("#register-tenant")
    summary = fold.locator("summary")
    assert tall_enough(summary)
    summary.tap()
    assert fold.locator("#id_population_type").input_value() == "floating"
    fold.locator("#id_name").fill("马小红")
    fold.locator("#id_id_number").fill(WRONG)
    fold.locator("#id_phone").fill("13512345678")
    fold.locator("#id_origin").fill("河南省周口市扶沟县")
    fold.locator("#id_arrival_date").fill("2024-03-01")
    fold.locator("#id_reason").fill("务工")
    submit = fold.get_by_role("button", name=words["submit"], exact=True)
    assert tall_enough(submit)
    assert no_sideways_scroll(page)
    page.screenshot(path=str(shots / f"rental-tenant-register-{language}.png"), full_page=True)
    submit.tap()

    page.wait_for_url("**/tenants/register/**")
    fold = page.locator("#register-tenant")
    assert fold.locator("ul.errorlist").count() >= 1  # the check character's reason, on the field
    assert fold.locator("#id_id_number").input_value() == WRONG
    assert fold.locator("#id_origin").input_value() == "河南省周口市扶沟县"
    assert no_sideways_scroll(page)
    page.screenshot(path=str(shots / f"rental-tenant-register-error-{language}.png"), full_page=True)
    fold.locator("#id_id_number").fill(NUMBER)
    fold.get_by_role("button", name=words["submit"], exact=True).tap()

    page.wait_for_url(f"**/rentals/{rental.pk}/#top")
    assert "马小红" in page.locator("ul.tenants").inner_text()
    assert words["floating"] in page.locator("ul.tenants").inner_text()
    assert "马小红" in page.locator("ul.messages").inner_text()
    assert on_screen(page.locator("ul.messages"))
    assert no_sideways_scroll(page)
    page.screenshot(path=str(shots / f"rental-tenant-registered-{language}.png"))
    person = Resident.objects.get(id_number=NUMBER)
    assert person.floating.origin == "河南省周口市扶沟县"
    assert set(Rental.objects.get(pk=rental.pk).tenants.values_list("name", flat=True)) == {"王建国", "马小红"}
    page.context.close()
