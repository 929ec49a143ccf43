"""Cases at 390 px in Chromium, in Chinese and in English: a grid worker files a field report
with a photo from the phone and sees its thumbnail on the case page; the district admin opens
the statistics. Screenshots go to ``$WANGGE_SCREENSHOTS`` or a temporary directory."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from wangge.accounts.models import Role
from wangge.cases import actions
from wangge.cases.models import Case, CasePhoto, Category
from wangge.conftest import World
from wangge.demo.cases import demo_photo
from wangge.web.tests.test_browser import browser, no_sideways_scroll, phone, shots  # noqa: F401  (fixtures)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

LABELS = {
    "zh-CN": {"submit": "上报", "stats": "案件统计", "received": "已登记"},
    "en": {"submit": "Report", "stats": "Case statistics", "received": "Received"},
}


def signed_in(browser: Any, live_server: Any, username: str, locale: str) -> Any:  # noqa: F811
    """The shared phone page, switched to English by the language cookie the footer sets."""
    page = phone(browser, live_server, username)
    if locale == "en":
        page.context.add_cookies([{"name": "django_language", "value": "en", "url": live_server.url}])
    return page


@pytest.mark.parametrize("locale", ["zh-CN", "en"])
def test_a_grid_worker_files_a_field_report_with_a_photo_and_sees_its_thumbnail(
    browser: Any,  # noqa: F811
    live_server: Any,
    world: World,
    shots: Path,  # noqa: F811
    tmp_path: Path,
    locale: str,
) -> None:
    photo = tmp_path / "stairwell.jpg"
    photo.write_bytes(demo_photo(seed=1))
    page = signed_in(browser, live_server, "grid_worker", locale)
    page.goto(f"{live_server.url}/cases/field/")
    facilities = Category.objects.get(code="facilities")
    page.select_option("#id_category", str(facilities.pk))
    page.fill("#id_text", "3号楼二单元楼道灯不亮")
    page.fill("#id_address", "3号楼二单元")
    page.select_option("#id_area", str(world.areas["grid_a1_1"].pk))
    page.set_input_files("#photos", str(photo))
    assert no_sideways_scroll(page)
    page.evaluate("window.scrollTo(0, 0)")  # the sticky header at the top of the full-page shot
    page.screenshot(path=str(shots / f"cases-field-{locale}.png"), full_page=True)
    page.get_by_role("button", name=LABELS[locale]["submit"], exact=True).tap()
    page.wait_for_url(re.compile(r"/cases/\d+/$"))
    case = Case.objects.get()
    assert case.channel == Case.Channel.FIELD and case.received_by == world.user(Role.GRID_WORKER)
    stored = CasePhoto.objects.get(case=case)
    thumb = page.locator("ul.photos img").first
    assert thumb.get_attribute("src") == f"/cases/{case.pk}/photos/{stored.pk}/thumb/"
    assert page.evaluate("img => img.complete && img.naturalWidth", thumb.element_handle()) > 0
    assert no_sideways_scroll(page)
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(shots / f"cases-detail-photo-{locale}.png"), full_page=True)
    page.context.close()


@pytest.mark.parametrize("locale", ["zh-CN", "en"])
def test_the_district_admin_sees_the_statistics_on_a_phone(
    browser: Any,  # noqa: F811
    live_server: Any,
    world: World,
    shots: Path,  # noqa: F811
    locale: str,
) -> None:
    office = world.user(Role.PETITION_OFFICE)
    pension = Category.objects.get(code="pension-social-security")
    for days in (70, 40, 3):
        case = actions.case_receive(
            by=office,
            category=pension,
            text="交不起养老保险欠费",
            channel="walk_in",
            petitioners=[world.residents["a1_2_head"]],
            now=timezone.now() - dt.timedelta(days=days),
        )
        actions.case_accept(case=case, by=office, now=case.received_at + dt.timedelta(hours=2))
    page = signed_in(browser, live_server, "district_admin", locale)
    page.goto(f"{live_server.url}/cases/stats/")
    assert page.locator("h1").first.inner_text() == LABELS[locale]["stats"]
    headline = page.locator("#stats-headline tr").first.inner_text().split()
    assert headline[0] == LABELS[locale]["received"] and headline[-1] == "3"
    assert no_sideways_scroll(page)
    page.screenshot(path=str(shots / f"cases-stats-{locale}.png"), full_page=True)
    page.context.close()
