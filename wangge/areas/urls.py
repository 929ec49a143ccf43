"""Pages of this app: the area tree, area and building pages, the map."""

from django.urls import path

from wangge.areas import views

app_name = "areas"

urlpatterns = [
    path("areas/", views.tree, name="tree"),
    path("areas/<int:pk>/", views.area, name="area"),
    path("buildings/<int:pk>/", views.building, name="building"),
    path("buildings/<int:pk>/households/", views.household_add, name="household_add"),
    path("map/", views.map_page, name="map"),
    path("map/geojson/", views.geojson, name="geojson"),
]
