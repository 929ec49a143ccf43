"""One way to ask before an action that moves people, notifies people or cannot be undone.

The form posts as usual; the view, having checked scope and input, calls ``ask`` unless the
post carries ``confirmed=1``. ``ask`` renders a page that says what will happen and re-posts the
same fields with ``confirmed=1`` (or goes back). It is plain HTML: it works without JavaScript
and under a Content-Security-Policy that forbids inline script. The API is not affected: its
clients say what they mean.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.http import url_has_allowed_host_and_scheme

FIELD = "confirmed"
# Fields never carried over to the confirmation form: the token is rendered afresh.
_SKIP = {FIELD, "csrfmiddlewaretoken"}


def confirmed(request: HttpRequest) -> bool:
    """Whether the post was sent from a confirmation page."""
    return request.POST.get(FIELD) == "1"


def _back(request: HttpRequest, cancel_url: str | None) -> str:
    if cancel_url:
        return cancel_url
    referer = request.META.get("HTTP_REFERER", "")
    if referer and url_has_allowed_host_and_scheme(referer, {request.get_host()}, request.is_secure()):
        return referer
    return "/"


def ask(
    request: HttpRequest,
    *,
    title: Any,
    consequences: Sequence[Any],
    button: Any,
    cancel_url: str | None = None,
    danger: bool = True,
) -> HttpResponse:
    """The confirmation page: ``title`` asks the question, each of ``consequences`` is one thing
    that will happen, ``button`` does it. Nothing has changed yet, so the page is a 200 that
    nobody should cache."""
    carried = [(name, value) for name in request.POST for value in request.POST.getlist(name) if name not in _SKIP]
    response = render(
        request,
        "core/confirm.html",
        {
            "title": title,
            "consequences": [c for c in consequences if c],
            "button": button,
            "action": request.path,
            "carried": carried,
            "cancel_url": _back(request, cancel_url),
            "danger": danger,
        },
    )
    response["Cache-Control"] = "no-store"
    return response
