"""An Open311 client app with its key, on top of the shared world."""

from __future__ import annotations

import pytest

from wangge.conftest import World
from wangge.open311 import actions


@pytest.fixture
def api_key(world: World) -> str:
    _app, key = actions.client_app_create(name="FixMyLishan")
    return key
