"""Pages of this app: the page of a background task and the health endpoint."""

from django.urls import path

from wangge.core import operator_views, task_views

app_name = "core"

urlpatterns = [
    path("tasks/<int:pk>/", task_views.task_detail, name="task"),
    path("healthz", operator_views.healthz, name="healthz"),
]
