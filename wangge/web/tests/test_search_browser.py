"""Resident search on a phone in the demo district: the README's own example, ``lj`` for 刘娟."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.test import override_settings

from wangge.accounts.models import Role, User
from wangge.conftest import PASSWORD
from wangge.core import chinese
from wangge.demo.build import build
from wangge.registry import actions
from wangge.registry.models import Resident
from wangge.web.tests.test_browser import browser, no_sideways_scroll, phone, shots  # noqa: F401 (fixtures)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

FAST_HASHER = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def demo() -> Iterator[User]:
    """A small demo district whose showcased grid worker has a 刘娟 among their residents."""
    with override_settings(PASSWORD_HASHERS=FAST_HASHER):
        build(residents=2000, seed=3)
        worker = User.objects.get(username="demo-grid")
        worker.set_password(PASSWORD)
        worker.save()
    grid = worker.areas.get()
    resident = Resident.objects.filter(grid=grid, status=Resident.Status.LIVING).order_by("id").first()
    assert resident is not None
    admin = User.objects.filter(role=Role.DISTRICT_ADMIN).first()
    actions.resident_update(by=admin, resident=resident, name="刘娟")
    yield worker


def _initials(name: str) -> set[str]:
    return {reading.initials for reading in chinese.pinyin_readings(chinese.normalise_name(name))}


def test_it_puts_liu_juan_on_the_first_screen_for_lj_in_the_demo(
    browser: Any,  # noqa: F811
    live_server: Any,
    demo: User,
    shots: Path,  # noqa: F811
) -> None:
    page = phone(browser, live_server, "demo-grid")
    page.goto(f"{live_server.url}/search/?q=lj")
    rows = page.locator("#search-results a.row .row-title")
    names = [text.split()[0] for text in rows.all_inner_texts()]
    assert "刘娟" in names
    rank = names.index("刘娟") + 1
    # Nobody whose initials merely begin with lj (刘娟娟, 李建军) or who matches worse ranks
    # above her: only people whose initials are exactly lj, like hers, in pinyin order.
    exact = [name for name in names if "lj" in _initials(name)]
    assert names[: len(exact)] == exact, names
    assert exact == sorted(exact, key=chinese.sort_key)
    assert rank <= len(exact)
    assert rows.nth(rank - 1).is_visible()
    assert rows.nth(rank - 1).bounding_box()["y"] < 844  # on the first screen of a 390×844 phone
    assert "找到" in page.locator("#search-total").inner_text()
    assert no_sideways_scroll(page)
    page.screenshot(path=str(shots / "search-lj.png"), full_page=True)
    page.context.close()
