"""Shared test fixtures: a small world with one account per role.

``world`` builds a district (立山区) with two streets; street A has community A1 with two
neighbouring grids (A1-1, A1-2), street B has community B1 with grid B1-1. A second district
(铁东区) holds one grid, so even district-wide roles have something out of scope. Every grid
has a building, a household and residents with valid ID numbers; the guardian guards exactly
one resident of grid A1-1 (and not the housemate). ``client_for(role)`` logs a Django test
client in as that role's account.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from wangge.accounts.models import ApiToken, AreaAssignment, Role, User, token_digest
from wangge.areas.models import Area, Building
from wangge.core import idnumbers
from wangge.core.i18n import compile_catalogues
from wangge.registry.models import CareCategory, CareTag, Guardianship, Household, Resident
from wangge.registry.search import index_residents

PASSWORD = "网格-test-password-2024"


def api_token(user: User, *, name: str = "tests", days: float = 90) -> str:
    """A live API token for ``user`` made directly (no audit entry); returns the secret."""
    secret = secrets.token_urlsafe(32)
    ApiToken.objects.create(
        user=user, name=name, digest=token_digest(secret), expires_at=timezone.now() + dt.timedelta(days=days)
    )
    return secret


# The install compiles the catalogues (setup.py), never the running site; a checkout whose .po
# changed since its last install is compiled here, so the English pages are tested as written.
compile_catalogues()


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings: Any) -> None:
    # PBKDF2's deliberate slowness protects real accounts, not test ones.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _default_language() -> Iterator[None]:
    """Every test starts in the project's language.

    A request through the test client activates its language for the thread and nothing turns it
    off again, so without this a test's language would depend on which test ran before it.
    """
    from django.conf import settings
    from django.utils import translation

    with translation.override(settings.LANGUAGE_CODE):
        yield


@pytest.fixture(autouse=True)
def _fresh_cache() -> None:
    # Sign-in throttles count in the cache; one test's failed logins must not lock out the next.
    from django.core.cache import cache

    cache.clear()


def square(lon: float, lat: float, size: float) -> dict[str, Any]:
    """A GeoJSON polygon, ``size`` degrees wide, with its south-west corner at (lon, lat)."""
    ring = [[lon, lat], [lon + size, lat], [lon + size, lat + size], [lon, lat + size], [lon, lat]]
    return {"type": "Polygon", "coordinates": [ring]}


@dataclass
class World:
    areas: dict[str, Area] = field(default_factory=dict)
    buildings: dict[str, Building] = field(default_factory=dict)
    households: dict[str, Household] = field(default_factory=dict)
    residents: dict[str, Resident] = field(default_factory=dict)
    users: dict[str, User] = field(default_factory=dict)

    def user(self, role: str) -> User:
        return self.users[str(role)]


def _area(name: str, level: str, parent: Area | None, boundary: dict[str, Any] | None, code: str = "") -> Area:
    return Area.objects.create(name=name, level=level, parent=parent, boundary=boundary, code=code)


def build_world() -> World:
    w = World()
    a = w.areas
    a["district"] = _area("立山区", "district", None, square(122.9, 41.1, 0.2), "210304")
    a["street_a"] = _area("友好街道", "street", a["district"], square(122.9, 41.1, 0.1))
    a["street_b"] = _area("曙光街道", "street", a["district"], square(123.0, 41.1, 0.1))
    a["community_a1"] = _area("灵西社区", "community", a["street_a"], square(122.9, 41.1, 0.1))
    a["community_b1"] = _area("曙光社区", "community", a["street_b"], square(123.0, 41.1, 0.1))
    a["grid_a1_1"] = _area("灵西第一网格", "grid", a["community_a1"], square(122.9, 41.1, 0.05))
    a["grid_a1_2"] = _area("灵西第二网格", "grid", a["community_a1"], square(122.95, 41.1, 0.05))
    a["grid_b1_1"] = _area("曙光第一网格", "grid", a["community_b1"], square(123.0, 41.1, 0.05))
    a["other_district"] = _area("铁东区", "district", None, square(123.3, 41.1, 0.1), "210302")
    a["other_street"] = _area("解放街道", "street", a["other_district"], square(123.3, 41.1, 0.1))
    a["other_community"] = _area("解放社区", "community", a["other_street"], square(123.3, 41.1, 0.1))
    a["other_grid"] = _area("解放第一网格", "grid", a["other_community"], square(123.3, 41.1, 0.05))

    people = {
        # key: (grid, name, sex, birth, phone, relationship)
        "a1_1_head": ("grid_a1_1", "王建国", "M", dt.date(1948, 3, 12), "13800001111", "head"),
        "a1_1_ward": ("grid_a1_1", "李秀英", "F", dt.date(1941, 11, 2), "13800002222", "spouse"),
        "a1_2_head": ("grid_a1_2", "赵志强", "M", dt.date(1975, 6, 30), "13900003333", "head"),
        "b1_1_head": ("grid_b1_1", "孙丽华", "F", dt.date(1982, 1, 15), "13700004444", "head"),
        "other_head": ("other_grid", "周海涛", "M", dt.date(1990, 9, 9), "13600005555", "head"),
    }
    for index, grid_key in enumerate(["grid_a1_1", "grid_a1_2", "grid_b1_1", "other_grid"]):
        grid = a[grid_key]
        building = Building.objects.create(
            name=f"{index + 1}号楼", grid=grid, community=grid.community, lon=grid_lon(grid), lat=41.12
        )
        w.buildings[grid_key] = building
        household = Household(building=building, entrance="1", room="101")
        household.copy_scope(building)
        household.save()
        w.households[grid_key] = household
    for sequence, (key, (grid_key, name, sex, birth, phone, relationship)) in enumerate(people.items()):
        household = w.households[grid_key]
        resident = Resident(
            household=household,
            name=name,
            id_number=idnumbers.make(area_code="210304", birth_date=birth, sequence=sequence + 1, sex=sex),
            sex=sex,
            birth_date=birth,
            phone=phone,
            relationship=relationship,
            ethnicity="汉族",
        )
        resident.copy_scope(household)
        resident.save()
        if relationship == "head":
            household.head = resident
            household.save(update_fields=["head"])
        w.residents[key] = resident
    index_residents(w.residents.values())

    dementia = CareCategory.objects.filter(code="dementia").first() or CareCategory.objects.first()
    if dementia is not None:
        CareTag.objects.create(resident=w.residents["a1_1_ward"], category=dementia)

    scopes = {
        Role.DISTRICT_ADMIN: ["district"],
        Role.STREET_STAFF: ["street_a"],
        Role.COMMUNITY_STAFF: ["community_a1"],
        Role.GRID_WORKER: ["grid_a1_1"],
        Role.PETITION_OFFICE: ["district"],
        Role.DEPARTMENT: ["district"],
        Role.GUARDIAN: [],
        Role.AUDITOR: [],
    }
    for role, area_keys in scopes.items():
        user = User.objects.create_user(
            username=str(role),
            password=PASSWORD,
            role=role,
            full_name=str(role.label),
            is_staff=role == Role.DISTRICT_ADMIN,
        )
        for area_key in area_keys:
            AreaAssignment.objects.create(user=user, area=a[area_key])
        w.users[str(role)] = user
    Guardianship.objects.create(guardian=w.users[Role.GUARDIAN], resident=w.residents["a1_1_ward"], relationship="子女")
    return w


def grid_lon(grid: Area) -> float:
    """A longitude inside the grid's square (the south-west corner plus a little)."""
    return float(grid.boundary["coordinates"][0][0][0]) + 0.01 if grid.boundary else 0.0


@pytest.fixture
def world(db: None) -> World:
    return build_world()


@pytest.fixture
def client_for(world: World) -> Callable[[str], Client]:
    def make(role: str) -> Client:
        client = Client()
        client.force_login(world.user(role))
        return client

    return make
