"""Pages of this app, including the area pages (the registry seen through the area tree)."""

from django.urls import path

from wangge.registry import area_views, export, import_views, room_views, search_views
from wangge.registry import views as pages

app_name = "registry"

urlpatterns: list = [
    path("areas/", area_views.tree, name="tree"),
    path("areas/<int:pk>/", area_views.area, name="area"),
    path("buildings/<int:pk>/", area_views.building, name="building"),
    path("buildings/<int:pk>/households/", area_views.household_add, name="household_add"),
    path("map/", area_views.map_page, name="map"),
    path("map/geojson/", area_views.geojson, name="geojson"),
    path("search/", search_views.search_page, name="search"),
    path("registry/export/", export.export_view, name="export"),
    path("registry/import/", import_views.import_page, name="import"),
    path("registry/import/template.xlsx", import_views.import_template, name="import-template"),
    path("registry/import/reports/<str:token>/", import_views.import_report, name="import-report"),
    path("registry/imports/<int:pk>/", import_views.import_run, name="import-run"),
    path("registry/imports/<int:pk>/undo/", import_views.import_undo, name="import-undo"),
    path("households/<int:pk>/", pages.household, name="household"),
    path("households/<int:pk>/register/", pages.household_register, name="household_register"),
    path("households/<int:pk>/move-in/", pages.household_move_in, name="household_move_in"),
    path("residents/<int:pk>/", pages.resident, name="resident"),
    path("residents/<int:pk>/events/<slug:kind>/", pages.resident_event, name="resident_event"),
    path("residents/<int:pk>/population/", pages.resident_population, name="resident_population"),
    path("residents/<int:pk>/care/", pages.care_tag_add, name="care_tag_add"),
    path("residents/<int:pk>/care/<slug:code>/remove/", pages.care_tag_remove, name="care_tag_remove"),
    path("buildings/<int:pk>/plan/", room_views.building_plan, name="building_plan"),
    path("rooms/export.xlsx", room_views.rooms_export, name="rooms_export"),
    path("rooms/template.xlsx", room_views.rooms_template, name="rooms_template"),
    path("rooms/import/", room_views.rooms_import, name="rooms_import"),
    path("rooms/<int:pk>/edit/", room_views.room_edit, name="room_edit"),
    path("rentals/", room_views.rentals, name="rentals"),
    path("rentals/export.xlsx", room_views.rentals_export, name="rentals_export"),
    path("rentals/template.xlsx", room_views.rentals_template, name="rentals_template"),
    path("rentals/import/", room_views.rentals_import, name="rentals_import"),
    path("rentals/<int:pk>/", room_views.rental, name="rental"),
    path("rentals/<int:pk>/inspect/", room_views.rental_inspect, name="rental_inspect"),
    path("rentals/<int:pk>/end/", room_views.rental_end, name="rental_end"),
    path("rentals/<int:pk>/tenants/add/", room_views.rental_tenant_add, name="rental_tenant_add"),
    path("rentals/<int:pk>/tenants/remove/", room_views.rental_tenant_remove, name="rental_tenant_remove"),
    path("rentals/<int:pk>/tenants/register/", room_views.rental_tenant_register, name="rental_tenant_register"),
]
