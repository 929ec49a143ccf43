"""Pages of the worklist."""

from django.urls import path

from wangge.worklist import views

app_name = "worklist"
urlpatterns = [
    path("worklist/", views.today, name="today"),
    path("worklist/households/<int:household>/visit/", views.visit, name="visit"),
    path("worklist/coverage/", views.coverage, name="coverage"),
    path("worklist/coverage/<int:grid>/", views.unvisited, name="unvisited"),
]
