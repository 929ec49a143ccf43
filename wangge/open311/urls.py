"""The resident's pages and the Open311 API (outside /api/v1/: the spec fixes its own paths)."""

from django.urls import include, path

from wangge.open311 import views

urlpatterns = [
    path("report/", views.report, name="open311-report"),
    path("report/photos/<int:pk>.jpg", views.photo, name="open311-photo"),
    path("report/grids.geojson", views.grids, name="open311-grids"),
    path("report/<str:code>/", views.track, name="open311-track"),
    path("", include("wangge.open311.api")),
]
