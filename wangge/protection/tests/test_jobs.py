"""The worker's retention job: old locations go, except those of a person with an open incident."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import override_settings

from wangge.protection import incidents
from wangge.protection.ingest import ingest
from wangge.protection.jobs import purge_locations
from wangge.protection.models import Alert, Location
from wangge.protection.tests.conftest import NOW, Protected, arrive, protect

pytestmark = pytest.mark.django_db


@override_settings(WANGGE_LOCATION_RETENTION_DAYS=30)
def test_it_deletes_locations_past_retention_but_keeps_an_open_incidents_trail(protected: Protected) -> None:
    old = NOW - dt.timedelta(days=31)
    ingest([protected.fix(seconds=-31 * 86400, alarm="sos")], now=old)
    arrive([protected.fix(seconds=-1)])
    other = protect(protected.world, "a1_1_head")
    ingest([other.fix(seconds=-31 * 86400)], now=old)
    incident = incidents.incident_report(by=None, enrolment=other.enrolment)

    assert purge_locations(now=NOW) == 1
    assert Location.objects.filter(enrolment=protected.enrolment).count() == 1  # the recent one
    assert Location.objects.filter(enrolment=other.enrolment).count() == 1  # kept for the search
    alert = Alert.objects.get(kind="sos")
    assert alert.location is None and alert.lat is not None  # the alert keeps its own copy

    incidents.incident_close(by=None, incident=incident, outcome="found")
    assert purge_locations(now=NOW) == 1
    assert not Location.objects.filter(enrolment=other.enrolment).exists()
