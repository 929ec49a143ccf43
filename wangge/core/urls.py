"""Pages of this app: the audit log, the page of a background task, the health endpoint."""

from django.urls import path

from wangge.core import operator_views, task_views, views

app_name = "core"

urlpatterns = [
    path("audit/", views.audit_log, name="audit"),
    path("tasks/<int:pk>/", task_views.task_detail, name="task"),
    path("healthz", operator_views.healthz, name="healthz"),
]
