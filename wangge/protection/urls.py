"""Pages of missing-person protection."""

from django.urls import path

from wangge.protection import views

app_name = "protection"
urlpatterns = [
    path("protection/", views.index, name="index"),
    path("protection/alerts/", views.alerts, name="alerts"),
    path("protection/alerts/<int:pk>/resolve/", views.alert_resolve, name="alert_resolve"),
    path("protection/alerts/<int:pk>/escalate/", views.alert_escalate, name="alert_escalate"),
    path("protection/enrol/<int:resident_pk>/", views.enrol, name="enrol"),
    path("protection/<int:pk>/", views.enrolment, name="enrolment"),
    path("protection/<int:pk>/consent/", views.consent_add, name="consent_add"),
    path("protection/<int:pk>/consent/withdraw/", views.consent_withdraw, name="consent_withdraw"),
    path("protection/<int:pk>/consent/<int:consent_pk>/document/", views.consent_document, name="consent_document"),
    path("protection/<int:pk>/photo/", views.photo, name="photo"),
    path("protection/<int:pk>/profile/", views.profile_edit, name="profile"),
    path("protection/<int:pk>/devices/", views.device_add, name="device_add"),
    path("protection/<int:pk>/zones/", views.zones, name="zones"),
    path("protection/<int:pk>/report/", views.report, name="report"),
    path("protection/devices/<int:pk>/", views.device, name="device"),
    path("protection/devices/<int:pk>/reset/", views.device_reset, name="device_reset"),
    path("protection/zones/<int:pk>/delete/", views.zone_delete, name="zone_delete"),
    path("protection/incidents/<int:pk>/", views.incident, name="incident"),
    path("protection/incidents/<int:pk>/live/", views.incident_live, name="incident_live"),
    path("protection/incidents/<int:pk>/updates/", views.incident_update, name="incident_update"),
    path("protection/incidents/<int:pk>/searchers/", views.incident_assign, name="incident_assign"),
    path("protection/incidents/<int:pk>/close/", views.incident_close, name="incident_close"),
]
