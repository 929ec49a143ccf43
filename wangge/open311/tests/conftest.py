"""An Open311 client app with its key, on top of the shared world."""

from __future__ import annotations

import pytest

from wangge.conftest import World
from wangge.open311 import actions, queries


@pytest.fixture(autouse=True)
def fresh_caches() -> None:
    """Each test reads keys, categories and grids afresh: this process's copies (kept a few
    seconds for the POSTs) must not carry one test's rows into the next."""
    queries.forget()


@pytest.fixture
def api_key(world: World) -> str:
    _app, key = actions.client_app_create(name="FixMyLishan")
    return key
