"""Pages of the worklist."""

from django.urls import path

from wangge.worklist import views

app_name = "worklist"
urlpatterns = [
    path("worklist/", views.today, name="today"),
    path("worklist/areas/<int:pk>/", views.area, name="area"),
    path("worklist/households/<int:household>/visit/", views.visit, name="visit"),
    path("worklist/visits/<int:pk>/", views.visit_detail, name="visit_detail"),
    path("worklist/visits/<int:pk>/photo/", views.visit_photo, name="visit_photo"),
    path("worklist/visits/<int:pk>/photo/thumb/", views.visit_photo_thumb, name="visit_photo_thumb"),
    path("worklist/coverage/", views.coverage, name="coverage"),
    # a grid's unvisited households; above the grid, the area's coverage by child area
    path("worklist/coverage/<int:grid>/", views.unvisited, name="unvisited"),
]
