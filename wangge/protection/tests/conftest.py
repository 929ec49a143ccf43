"""Fixtures: the guardian's ward (李秀英, grid A1-1) enrolled with consent, a phone and a home zone."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.db import OperationalError

from wangge.conftest import World
from wangge.protection import actions
from wangge.protection.ingest import Result, ingest
from wangge.protection.models import Device, Enrolment, SafeZone
from wangge.protection.protocols import Fix

HOME = (41.12, 122.91)  # lat, lon of the ward's home, centre of a 200 m zone
NOW = dt.datetime(2024, 5, 1, 2, 0, tzinfo=dt.UTC)  # 10:00 in Shanghai


@dataclass
class Protected:
    world: World
    enrolment: Enrolment
    device: Device
    password: str
    zone: SafeZone
    osmand_key: str = ""

    def fix(self, *, seconds: int = 0, metres_north: float = 0.0, **fields: object) -> Fix:
        """A fix ``metres_north`` of home at ``NOW + seconds``."""
        values: dict = {
            "identifier": self.device.identifier,
            "recorded_at": NOW + dt.timedelta(seconds=seconds),
            "lat": HOME[0] + metres_north / 110574.0,
            "lon": HOME[1],
            "source": "owntracks_http",
            "accuracy": 10.0,
            "battery": 80.0,
            "verified": True,  # as if the phone signed in (see the endpoint tests for who may not)
        }
        values.update(fields)
        return Fix(**values)


def arrive(fixes: list[Fix], *, late: float = 0.0) -> Result:
    """Ingest ``fixes`` as the server receives them: ``late`` seconds after the newest was taken
    (the receive time is the time base of alerts)."""
    return ingest(fixes, now=max(fix.recorded_at for fix in fixes) + dt.timedelta(seconds=late))


def protect(world: World, resident_key: str = "a1_1_ward") -> Protected:
    staff = world.user("community_staff")
    enrolment = actions.enrolment_create(by=staff, resident=world.residents[resident_key])
    actions.consent_record(
        by=staff,
        enrolment=enrolment,
        given_by_kind="guardian",
        given_by_name="王小红",
        relationship="女儿",
        date=dt.date(2024, 4, 1),
    )
    device, credentials = actions.device_register(by=staff, enrolment=enrolment)
    zone = actions.zone_create(
        by=staff, enrolment=enrolment, name="家", kind="circle", center_lat=HOME[0], center_lon=HOME[1], radius_m=200
    )
    return Protected(
        world=world,
        enrolment=enrolment,
        device=device,
        password=credentials.password,
        zone=zone,
        osmand_key=credentials.osmand_key,
    )


@pytest.fixture
def protected(world: World) -> Protected:
    return protect(world)


def wait_for(condition: Callable[[], Any], timeout: float = 15.0) -> bool:
    """Poll ``condition`` until it holds or ``timeout`` passes; its last value. For tests that
    wait on another thread or process instead of sleeping a guessed time.

    A database read that meets the worker thread's write lock (SQLite's shared-cache test
    database reports "table is locked" at once instead of waiting) counts as "not yet"."""

    def holds() -> bool:
        try:
            return bool(condition())
        except OperationalError:
            return False

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if holds():
            return True
        time.sleep(0.02)
    return holds()
