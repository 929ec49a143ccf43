"""Pages of the special-group registers."""

from django.urls import path

from wangge.groups import views

app_name = "groups"

urlpatterns: list = [
    path("groups/", views.due, name="due"),
    path("groups/listings/<int:pk>/", views.listing, name="listing"),
    path("groups/listings/<int:pk>/follow-up/", views.follow_up, name="follow_up"),
]
