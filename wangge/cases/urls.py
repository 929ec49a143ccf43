"""Pages of petitions and grid events."""

from django.urls import path

from wangge.cases import views

app_name = "cases"
urlpatterns = [
    path("cases/", views.case_list, name="list"),
    path("cases/new/", views.intake, name="intake"),
    path("cases/field/", views.field_intake, name="field"),
    path("cases/<int:pk>/", views.detail, name="detail"),
    path("cases/<int:pk>/<slug:name>/", views.step, name="step"),
]
