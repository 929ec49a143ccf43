"""Pages of missing-person protection."""

from django.urls import path

from wangge.protection.views import devices, enrolments, home, incidents, zones

app_name = "protection"
urlpatterns = [
    path("protection/", home.index, name="index"),
    path("protection/notifications/read/", home.notifications_read, name="notifications_read"),
    path("protection/alerts/", home.alerts, name="alerts"),
    path("protection/alerts/<int:pk>/resolve/", home.alert_resolve, name="alert_resolve"),
    path("protection/alerts/<int:pk>/escalate/", home.alert_escalate, name="alert_escalate"),
    path("protection/enrol/<int:resident_pk>/", enrolments.enrol, name="enrol"),
    path("protection/<int:pk>/", enrolments.enrolment, name="enrolment"),
    path("protection/<int:pk>/end/", enrolments.enrolment_end, name="enrolment_end"),
    path("protection/<int:pk>/consent/", enrolments.consent_add, name="consent_add"),
    path("protection/<int:pk>/consent/withdraw/", enrolments.consent_withdraw, name="consent_withdraw"),
    path(
        "protection/<int:pk>/consent/<int:consent_pk>/document/",
        enrolments.consent_document,
        name="consent_document",
    ),
    path("protection/<int:pk>/photo/", enrolments.photo, name="photo"),
    path("protection/<int:pk>/profile/", enrolments.profile_edit, name="profile"),
    path("protection/<int:pk>/devices/", devices.device_add, name="device_add"),
    path("protection/<int:pk>/zones/", zones.zones, name="zones"),
    path("protection/<int:pk>/report/", incidents.report, name="report"),
    path("protection/devices/<int:pk>/", devices.device, name="device"),
    path("protection/devices/<int:pk>/reset/", devices.device_reset, name="device_reset"),
    path("protection/devices/<int:pk>/active/", devices.device_active, name="device_active"),
    path("protection/zones/<int:pk>/delete/", zones.zone_delete, name="zone_delete"),
    path("protection/incidents/<int:pk>/", incidents.incident, name="incident"),
    path("protection/incidents/<int:pk>/live/", incidents.incident_live, name="incident_live"),
    path("protection/incidents/<int:pk>/updates/", incidents.incident_update, name="incident_update"),
    path("protection/incidents/<int:pk>/searchers/", incidents.incident_assign, name="incident_assign"),
    path("protection/incidents/<int:pk>/close/", incidents.incident_close, name="incident_close"),
]
