"""Pages of units and key places."""

from django.urls import path

from wangge.places import import_views, views

app_name = "places"

urlpatterns: list = [
    path("places/", views.places, name="places"),
    path("places/new/", views.place_new, name="place_new"),
    path("places/<int:pk>/", views.place, name="place"),
    path("places/export.xlsx", views.places_export, name="places_export"),
    path("places/template.xlsx", views.places_template, name="places_template"),
    path("places/import/", views.places_import, name="places_import"),
    path("places/<int:pk>/edit/", views.place_edit, name="place_edit"),
    path("places/<int:pk>/inspect/", views.inspect, name="inspect"),
    path("places/rectifications/<int:pk>/done/", views.rectification_done, name="rectification_done"),
    path("places/rectifications/<int:pk>/escalate/", views.rectification_escalate, name="rectification_escalate"),
    path("units/", views.units, name="units"),
    path("units/new/", views.unit_new, name="unit_new"),
    path("units/<int:pk>/", views.unit, name="unit"),
    path("units/<int:pk>/edit/", views.unit_edit, name="unit_edit"),
    path("units/export.xlsx", views.units_export, name="units_export"),
    path("units/template.xlsx", views.units_template, name="units_template"),
    path("units/import/", import_views.units_import, name="units_import"),
    path("units/import/<int:pk>/", import_views.units_import_run, name="units_import_run"),
    path("units/import/<int:pk>/undo/", import_views.units_import_undo, name="units_import_undo"),
]
