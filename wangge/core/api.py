"""API plumbing shared by every app: errors in one shape, translated; query parameters and
JSON bodies that no input can turn into a server error."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.http import Http404
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from rest_framework import exceptions, parsers, permissions
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, Http404):
        # Same body whether the object does not exist or is out of scope.
        exc = exceptions.NotFound(_("未找到。"))
    return drf_exception_handler(exc, context)


DB_INT_MIN, DB_INT_MAX = -(2**63), 2**63 - 1  # a 64-bit integer column, SQLite's and PostgreSQL's


def int_param(request: Request, name: str) -> int | None:
    """An integer query parameter, or ``None``; garbage matches nothing rather than erroring."""
    raw = request.query_params.get(name)
    if raw in (None, ""):
        return None
    try:
        value = int(raw)
    except ValueError:
        return -1
    if not DB_INT_MIN <= value <= DB_INT_MAX:
        # The database cannot even compare such a number (SQLite raises OverflowError).
        raise exceptions.ValidationError({name: [_("数值超出范围")]})
    return value


def datetime_param(request: Request, name: str) -> dt.datetime | None:
    """An aware datetime query parameter, or ``None`` when absent; 400 when it is not one the
    database can hold (``2020-13-45``, or ``0001-01-01T00:00:00``, which is year 0 in UTC)."""
    raw = request.query_params.get(name)
    if not raw:
        return None
    try:
        value = parse_datetime(raw)
        if value is not None:
            if timezone.is_naive(value):
                value = timezone.make_aware(value)
            value.astimezone(dt.UTC)
    except (ValueError, OverflowError):
        value = None
    if value is None:
        raise exceptions.ValidationError({name: [_("时间格式无效")]})
    return value


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, for which a document nested deeper than Python's parser goes (it raises
    RecursionError) is malformed JSON like any other: 400."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise exceptions.ParseError(_("JSON 嵌套过深")) from None


class ApiDocsPermission(permissions.BasePermission):
    """The OpenAPI schema and its docs pages: signed-in users only, unless
    ``WANGGE_PUBLIC_API_DOCS`` opens them (the schema maps every endpoint an attacker could try)."""

    def has_permission(self, request: Request, view: Any) -> bool:
        return bool(settings.WANGGE_PUBLIC_API_DOCS or (request.user and request.user.is_authenticated))
