"""Pages of this app: preview and apply a division, staff the grids, set a district's target."""

from django.urls import path

from wangge.division import views

app_name = "division"

urlpatterns = [
    path("areas/<int:pk>/division/", views.preview, name="preview"),
    path("areas/<int:pk>/division/apply/", views.apply, name="apply"),
    path("areas/<int:pk>/staffing/", views.staffing, name="staffing"),
    path("areas/<int:pk>/target/", views.target, name="target"),
]
