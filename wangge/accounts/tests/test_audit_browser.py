"""The audit log on a phone: an entry is one or two short lines, not a tall stacked table."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from wangge.accounts.models import Role
from wangge.conftest import World
from wangge.core.audit import Action, audit
from wangge.web.tests.test_browser import browser, no_sideways_scroll, phone, shots  # noqa: F401 (fixtures)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_it_fits_an_audit_entry_in_two_lines_on_a_phone(
    browser: Any,  # noqa: F811
    live_server: Any,
    world: World,
    shots: Path,  # noqa: F811
) -> None:
    worker = world.user(Role.GRID_WORKER)
    ward = world.residents["a1_1_ward"]
    for n in range(7):
        audit(
            actor=worker,
            action=Action.UPDATE,
            obj=ward,
            summary=f"第{n}次：在灵西社区第一网格登记的长长的一段说明文字，一直写到手机屏幕一行放不下为止",
        )
    audit(actor=worker, action=Action.VIEW, obj=ward, summary="查看位置轨迹：李秀英（用途：incident）")
    page = phone(browser, live_server, "district_admin")
    page.goto(f"{live_server.url}/audit/")
    entries = page.locator("#audit-entries > li")
    assert entries.count() >= 8  # and the administrator's own login
    line = float(page.evaluate("parseFloat(getComputedStyle(document.body).lineHeight) || 24"))
    for index in range(entries.count()):
        box = entries.nth(index).bounding_box()
        assert box is not None and box["height"] <= 3 * line + 16, box  # two lines and padding
    viewed = entries.filter(has_text="查看位置轨迹")
    assert viewed.locator("a.audit-object").inner_text() == "李秀英"
    assert "用途：走失搜寻" in viewed.inner_text()
    assert no_sideways_scroll(page)
    page.screenshot(path=str(shots / "audit-log.png"), full_page=True)
    page.context.close()
