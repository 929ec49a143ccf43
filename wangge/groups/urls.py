"""Pages of the special-group registers."""

from django.urls import path

from wangge.groups import exchange_views, views

app_name = "groups"

urlpatterns: list = [
    path("groups/", views.due, name="due"),
    path("groups/listings/<int:pk>/", views.listing, name="listing"),
    path("groups/listings/<int:pk>/follow-up/", views.follow_up, name="follow_up"),
    path("groups/listings/<int:pk>/end/", views.end, name="end"),
    path("groups/registers/<slug:code>/", views.register, name="register"),
    path("groups/registers/<slug:code>/template.xlsx", exchange_views.template, name="template"),
    path("groups/registers/<slug:code>/export.xlsx", exchange_views.export, name="export"),
    path("groups/registers/<slug:code>/import/", exchange_views.import_page, name="import"),
]
