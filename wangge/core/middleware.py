"""Keeps who is asking and from where for the audit log of the current request."""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass

from django.http import HttpRequest, HttpResponse


@dataclass(frozen=True)
class RequestContext:
    ip: str | None
    user_agent: str


current_request: ContextVar[RequestContext | None] = ContextVar("wangge_request", default=None)


def client_ip(request: HttpRequest) -> str | None:
    # Behind a reverse proxy, gunicorn's forwarded_allow_ips decides whether REMOTE_ADDR is
    # rewritten; we do not trust X-Forwarded-For ourselves.
    return request.META.get("REMOTE_ADDR") or None


class RequestContextMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = current_request.set(
            RequestContext(ip=client_ip(request), user_agent=request.META.get("HTTP_USER_AGENT", "")[:300])
        )
        try:
            return self.get_response(request)
        finally:
            current_request.reset(token)
