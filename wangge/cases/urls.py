"""Pages of petitions and grid events."""

from django.urls import path

from wangge.cases import flow_views, views

app_name = "cases"
urlpatterns = [
    path("cases/", views.case_list, name="list"),
    path("cases/new/", views.intake, name="intake"),
    path("cases/field/", flow_views.field_intake, name="field"),
    path("cases/<int:pk>/", views.detail, name="detail"),
    path("cases/<int:pk>/<slug:name>/", views.step, name="step"),
    path("cases/<int:pk>/photos/add/", flow_views.photos_add, name="photos_add"),
    path("cases/<int:pk>/photos/<int:photo_pk>/", flow_views.photo, name="photo"),
    path("cases/<int:pk>/photos/<int:photo_pk>/thumb/", flow_views.photo_thumb, name="photo_thumb"),
    path("cases/<int:pk>/flow/<slug:name>/", flow_views.flow_step, name="flow_step"),
    path("s/<str:token>/", flow_views.rate, name="satisfaction"),
]

# Statistics for leaders, and repeat / cross-level marks (issue 11 items 8 and 9).
from wangge.cases import repeat_views, stats_views  # noqa: E402

urlpatterns += [
    path("cases/stats/", stats_views.stats_page, name="stats"),
    path("cases/stats/export.xlsx", stats_views.stats_export, name="stats-export"),
    path("cases/repeats/<int:pk>/", repeat_views.repeats_page, name="repeats"),
]
