"""The scoped REST API of missing-person protection: enrolments with consent, profile, phones,
zones, alerts and incidents (``enrolments``, ``incidents``), and the audited location reads
(``locations``). ``wangge.protection.api`` holds the device endpoints and includes these.

Every object is loaded through ``queries`` (out of scope = 404); writes go through ``actions``
and ``incidents``. Location reads need a ``purpose`` and are written to the audit log.
"""

from __future__ import annotations

from rest_framework.routers import SimpleRouter

from wangge.protection.rest.enrolments import DeviceViewSet, EnrolmentViewSet, ZoneViewSet
from wangge.protection.rest.incidents import AlertViewSet, IncidentViewSet

router = SimpleRouter()
router.register("protection/enrolments", EnrolmentViewSet, basename="protection-enrolment")
router.register("protection/zones", ZoneViewSet, basename="protection-zone")
router.register("protection/devices", DeviceViewSet, basename="protection-device")
router.register("protection/alerts", AlertViewSet, basename="protection-alert")
router.register("protection/incidents", IncidentViewSet, basename="protection-incident")
urlpatterns = router.urls
