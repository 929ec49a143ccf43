"""API plumbing shared by every app: errors in one shape, translated."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import Http404
from django.utils.translation import gettext as _
from rest_framework import exceptions, permissions
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, Http404):
        # Same body whether the object does not exist or is out of scope.
        exc = exceptions.NotFound(_("未找到。"))
    return drf_exception_handler(exc, context)


def int_param(request: Request, name: str) -> int | None:
    """An integer query parameter, or ``None``; garbage matches nothing rather than erroring."""
    raw = request.query_params.get(name)
    if raw in (None, ""):
        return None
    try:
        return int(raw)
    except ValueError:
        return -1


class ApiDocsPermission(permissions.BasePermission):
    """The OpenAPI schema and its docs pages: signed-in users only, unless
    ``WANGGE_PUBLIC_API_DOCS`` opens them (the schema maps every endpoint an attacker could try)."""

    def has_permission(self, request: Request, view: Any) -> bool:
        return bool(settings.WANGGE_PUBLIC_API_DOCS or (request.user and request.user.is_authenticated))
