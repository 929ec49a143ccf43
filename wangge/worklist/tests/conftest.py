"""Worklist fixtures on top of the shared world: a resident factory with valid ID numbers, a
fixed day (Asia/Shanghai), and a second grid worker in the neighbouring grid."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable

import pytest

from wangge.accounts.models import AreaAssignment, Role, User
from wangge.conftest import World
from wangge.core import idnumbers
from wangge.registry.models import CareCategory, CareTag, Household, Resident

TODAY = dt.date(2026, 12, 3)
_sequence = itertools.count(100)


@pytest.fixture
def person(world: World) -> Callable[..., Resident]:
    """A resident of grid A1-1 (a household of their own), with these care categories."""

    def make(
        birth: dt.date, *, care: tuple[str, ...] = (), sex: str = "F", grid: str = "grid_a1_1", name: str = "刘桂兰"
    ) -> Resident:
        building = world.buildings[grid]
        number = next(_sequence)
        household = Household(building=building, entrance="2", room=f"{number}")
        household.copy_scope(building)
        household.save()
        resident = Resident(
            household=household,
            name=name,
            id_number=idnumbers.make(area_code="210304", birth_date=birth, sequence=number % 999, sex=sex),
            sex=sex,
            birth_date=birth,
            relationship="head",
        )
        resident.copy_scope(household)
        resident.save()
        household.head = resident
        household.save(update_fields=["head"])
        for code in care:
            CareTag.objects.create(resident=resident, category=CareCategory.objects.get(code=code))
        return resident

    return make


@pytest.fixture
def neighbour_worker(world: World) -> User:
    user = User.objects.create_user(username="neighbour", password="x-网格-2024", role=Role.GRID_WORKER)
    AreaAssignment.objects.create(user=user, area=world.areas["grid_a1_2"])
    return user


def ages(years: int, *, days: int = 0, today: dt.date = TODAY) -> dt.date:
    """The birth date of someone whose ``years``-th birthday is ``days`` after ``today``."""
    from wangge.worklist.conditions import shift

    return shift(today, years=-years) + dt.timedelta(days=days)
