"""Pages of units and key places."""

from django.urls import path

from wangge.places import views

app_name = "places"

urlpatterns: list = [
    path("places/", views.places, name="places"),
    path("places/<int:pk>/", views.place, name="place"),
    path("places/<int:pk>/inspect/", views.inspect, name="inspect"),
    path("places/rectifications/<int:pk>/done/", views.rectification_done, name="rectification_done"),
    path("places/rectifications/<int:pk>/escalate/", views.rectification_escalate, name="rectification_escalate"),
    path("units/", views.units, name="units"),
    path("units/<int:pk>/", views.unit, name="unit"),
    path("units/export.xlsx", views.units_export, name="units_export"),
    path("units/template.xlsx", views.units_template, name="units_template"),
    path("units/import/", views.units_import, name="units_import"),
]
