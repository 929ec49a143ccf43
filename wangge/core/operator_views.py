"""Endpoints for operators and their machines: ``/healthz`` for probes, and the login gate in
front of the API docs pages."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache

from wangge.core import health


@never_cache
def healthz(request: HttpRequest) -> HttpResponse:
    """200 when the web can serve (database reachable, migrations applied), else 503. With
    ``?worker=1`` a missing or failing worker is a 503 too, for a probe of the whole system.
    No login, and nothing personal in the body: counts and ages only."""
    ok, body = health.report()
    if ok and request.GET.get("worker") in ("1", "true") and not body["checks"]["workers"]["ok"]:
        ok = False
        body["status"] = "worker unavailable"
    return JsonResponse(body, status=200 if ok else 503)


def api_docs_page(view: Callable[..., Any]) -> Callable[..., Any]:
    """A docs page that sends a visitor who is not signed in to the login page (the schema
    view itself answers 401/403 through its DRF permission), unless the docs are public."""

    def gated(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        if not settings.WANGGE_PUBLIC_API_DOCS and not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        return view(request, *args, **kwargs)

    return gated
