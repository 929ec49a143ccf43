"""URL map: each app owns its pages (``urls.py``) and its API (``api.py``)."""

from django.contrib import admin
from django.urls import URLPattern, URLResolver, include, path
from drf_spectacular.views import SpectacularRedocView, SpectacularSwaggerSplitView

from wangge.core.operator_views import api_docs_page
from wangge.core.schema import SchemaView

api_patterns: list[URLPattern | URLResolver] = [
    path("", include("wangge.areas.api")),
    path("", include("wangge.registry.api")),
    path("", include("wangge.registry.room_api")),
    path("", include("wangge.groups.api")),
    path("", include("wangge.accounts.api")),
    path("", include("wangge.protection.api")),
    path("", include("wangge.cases.api")),
    path("", include("wangge.worklist.api")),
    path("", include("wangge.places.api")),
    path("", include("wangge.cases.stats_api")),
    path("schema/", SchemaView.as_view(), name="schema"),
    # The split view serves Swagger UI's start-up script as a file: no inline script for the CSP.
    path("docs/", api_docs_page(SpectacularSwaggerSplitView.as_view(url_name="schema")), name="api-docs"),
    path("redoc/", api_docs_page(SpectacularRedocView.as_view(url_name="schema")), name="api-redoc"),
]

urlpatterns = [
    # First: the Open311 POSTs are the busiest public door, and a path is tried against every
    # pattern before it (this list ended with them: ~115 patterns per request). No other app
    # has paths under report/ or open311/.
    path("", include("wangge.open311.urls")),
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_patterns)),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("wangge.core.urls")),
    path("", include("wangge.accounts.urls")),
    path("", include("wangge.registry.urls")),
    path("", include("wangge.protection.urls")),
    path("", include("wangge.cases.urls")),
    path("", include("wangge.groups.urls")),
    path("", include("wangge.division.urls")),
    path("", include("wangge.worklist.urls")),
    path("", include("wangge.places.urls")),
    path("", include("wangge.web.urls")),
]
