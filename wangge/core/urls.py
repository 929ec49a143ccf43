"""Pages of this app: the audit log."""

from django.urls import path

from wangge.core import views

app_name = "core"

urlpatterns = [
    path("audit/", views.audit_log, name="audit"),
]
