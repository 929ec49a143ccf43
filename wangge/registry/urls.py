"""Pages of this app."""

from django.urls import path

from wangge.registry import export

app_name = "registry"

urlpatterns: list = [
    path("registry/export/", export.export_view, name="export"),
]
