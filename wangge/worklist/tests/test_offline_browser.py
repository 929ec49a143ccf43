"""Issue 12 at 390 px in Chromium: the grid worker records a visit with the network cut, the
phone keeps it, and when the connection returns it is sent and stored once."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.utils import timezone

from wangge.conftest import World
from wangge.registry.models import Resident
from wangge.web.tests.test_browser import browser, no_sideways_scroll, phone  # noqa: F401  (the fixture)
from wangge.worklist import actions
from wangge.worklist.models import Task, Visit
from wangge.worklist.tests.conftest import ages

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_a_visit_recorded_offline_is_sent_once_when_the_connection_returns(
    browser: Any,  # noqa: F811
    live_server: Any,
    world: World,
    person: Callable[..., Resident],
) -> None:
    today = timezone.localdate()
    resident = person(ages(80, days=-8, today=today), name="陈淑珍")
    actions.generate(today=today)
    task = Task.objects.get(resident=resident, rule__code="longevity-allowance")
    page = phone(browser, live_server, "grid_worker")
    page.get_by_role("link", name="走访").first.tap()
    page.wait_for_url("**/worklist/")
    assert no_sideways_scroll(page)
    stop = page.locator(f"#stop-{task.household_id}")
    assert "陈淑珍" in stop.inner_text()
    page.context.set_offline(True)
    stop.locator("button[data-household]").tap()
    page.wait_for_selector(f'#stop-{task.household_id}[data-outbox="queued"]')
    assert not Visit.objects.exists()
    page.context.set_offline(False)
    page.wait_for_selector(f'#stop-{task.household_id}[data-outbox="sent"]', timeout=20000)
    page.reload()
    page.wait_for_timeout(1000)  # a second chance to resend, which must not store it twice
    assert Visit.objects.count() == 1
    task.refresh_from_db()
    assert task.status == Task.Status.DONE
    assert page.locator(f"#stop-{task.household_id}").count() == 0
    assert page.evaluate("localStorage.getItem('wangge.worklist.outbox')") == "[]"
    page.context.close()
