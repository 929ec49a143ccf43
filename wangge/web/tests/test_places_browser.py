"""Issue 10 on a 390 px phone: the phone setup page, positions in words and the safe-zone
editor, the division page. Helpers and the browser come from test_browser."""

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
