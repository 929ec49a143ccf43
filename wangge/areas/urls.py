"""Pages of this app: the area tree, area and building pages, the map."""

from django.urls import path

from wangge.areas import division_views, views

app_name = "areas"

urlpatterns = [
    path("areas/", views.tree, name="tree"),
    path("areas/<int:pk>/", views.area, name="area"),
    path("buildings/<int:pk>/", views.building, name="building"),
    path("buildings/<int:pk>/households/", views.household_add, name="household_add"),
    path("areas/<int:pk>/division/", division_views.preview, name="division"),
    path("areas/<int:pk>/division/apply/", division_views.apply, name="division-apply"),
    path("areas/<int:pk>/staffing/", division_views.staffing, name="staffing"),
    path("areas/<int:pk>/target/", division_views.target, name="district-target"),
    path("map/", views.map_page, name="map"),
    path("map/geojson/", views.geojson, name="geojson"),
]
