"""Case fixtures on top of the shared world: the department handler works for civil affairs."""

from __future__ import annotations

import pytest

from wangge.accounts.models import Role
from wangge.cases.models import Category, Department
from wangge.conftest import World


@pytest.fixture
def civil_affairs(world: World) -> Department:
    department = Department.objects.get(code="civil-affairs")
    department.members.add(world.user(Role.DEPARTMENT))
    return department


@pytest.fixture
def pension() -> Category:
    return Category.objects.get(code="pension-social-security")


@pytest.fixture
def facilities() -> Category:
    return Category.objects.get(code="facilities")
