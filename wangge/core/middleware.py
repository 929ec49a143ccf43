"""Who is asking and from where: the client address behind trusted proxies, kept for the audit
log of the current request; and the response headers every page and API answer carries."""

from __future__ import annotations

import functools
import ipaddress
import urllib.parse
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse
from django.middleware.locale import LocaleMiddleware
from django.utils import translation
from django.utils.translation import check_for_language


@dataclass(frozen=True)
class RequestContext:
    ip: str | None
    user_agent: str


current_request: ContextVar[RequestContext | None] = ContextVar("wangge_request", default=None)


Network = ipaddress.IPv4Network | ipaddress.IPv6Network
_CLIENT_KEY = "wangge.client_ip"
_PEER_KEY = "wangge.peer_addr"


@functools.lru_cache(maxsize=8)
def _networks(proxies: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(proxy, strict=False) for proxy in proxies)


def _trusted(address: str, networks: tuple[Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


def derive_client_ip(*, peer: str | None, forwarded_for: str | None, trusted: tuple[str, ...]) -> str | None:
    """The client's address: ``peer`` unless it is a trusted proxy, in which case the
    X-Forwarded-For chain is walked from the right, skipping trusted proxies, to the first
    address a trusted proxy vouches for. Anything left of that was written by the client
    itself and proves nothing."""
    networks = _networks(trusted)
    if not peer or not forwarded_for or not _trusted(peer, networks):
        return peer or None
    hops = [hop.strip() for hop in forwarded_for.split(",") if hop.strip()]
    client = peer
    for hop in reversed(hops):
        try:
            ipaddress.ip_address(hop)
        except ValueError:
            return client  # garbage in the chain: stop at the last address we could vouch for
        client = hop
        if not _trusted(hop, networks):
            return hop
    return client


def client_ip(request: HttpRequest) -> str | None:
    """The one place the client address is derived (sign-in lock, API throttles, audit log),
    from ``WANGGE_TRUSTED_PROXIES``; X-Forwarded-For counts only when a trusted proxy sent it."""
    meta = request.META
    if _CLIENT_KEY not in meta:
        meta[_CLIENT_KEY] = derive_client_ip(
            peer=meta.get("REMOTE_ADDR") or None,
            forwarded_for=meta.get("HTTP_X_FORWARDED_FOR"),
            trusted=tuple(settings.WANGGE_TRUSTED_PROXIES),
        )
    return meta[_CLIENT_KEY]


class ClientAddressMiddleware:
    """First in the chain: REMOTE_ADDR becomes the derived client address (the socket peer is
    kept under ``wangge.peer_addr``), so DRF's throttles (``NUM_PROXIES = 0``: REMOTE_ADDR
    only) and anything else reading REMOTE_ADDR see the client, not the proxy."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        peer = request.META.get("REMOTE_ADDR")
        client = client_ip(request)
        request.META[_PEER_KEY] = peer
        if client:
            request.META["REMOTE_ADDR"] = client
        return self.get_response(request)


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


class ChineseFirstLocaleMiddleware(LocaleMiddleware):
    """Pages are in Simplified Chinese unless the user chose another language.

    Django's LocaleMiddleware would follow the browser's Accept-Language, so a grid worker on a
    borrowed English-language phone would get English. Here the choice is the user's: the
    language cookie set by the switcher, else Chinese. API clients still negotiate with
    Accept-Language, as HTTP clients expect.
    """

    def process_request(self, request: HttpRequest) -> None:
        if request.path_info.startswith("/api/"):
            super().process_request(request)
            return
        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
        language = chosen if chosen and check_for_language(chosen) else settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = translation.get_language()


def content_security_policy(*, tile_url: str) -> str:
    """Scripts only from our own static files (no inline script, no eval); inline styles are
    allowed because templates and Leaflet use style attributes. Base-map tiles may come from
    the configured tile server."""
    images = ["'self'", "data:", "blob:"]
    if tile_url:
        parts = urllib.parse.urlsplit(tile_url.replace("{s}", "*"))
        if parts.scheme and parts.netloc:
            images.append(f"{parts.scheme}://{parts.netloc}")
    directives = {
        "default-src": "'self'",
        "script-src": "'self'",
        "style-src": "'self' 'unsafe-inline'",
        "img-src": " ".join(images),
        "font-src": "'self' data:",
        "connect-src": "'self'",
        "worker-src": "'self' blob:",
        "object-src": "'none'",
        "base-uri": "'self'",
        "form-action": "'self'",
        "frame-ancestors": "'none'",
    }
    return "; ".join(f"{name} {value}" for name, value in directives.items())


class SecurityHeadersMiddleware:
    """A Content-Security-Policy on every response, and ``Cache-Control: no-store`` on every
    API response and every page shown to a signed-in user (they carry personal data that a
    shared computer's cache or a proxy must not keep)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.policy = content_security_policy(tile_url=settings.MAP_TILE_URL)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", self.policy)
        user = getattr(request, "user", None)
        if request.path_info.startswith("/api/") or (user is not None and user.is_authenticated):
            response.headers["Cache-Control"] = "no-store"
        return response


class RefuseNulMiddleware:
    """A NUL character in the path or the query string is a 400 before any view runs: no name,
    code or filter of Wangge's holds one, and PostgreSQL cannot compare text holding it (a
    filter on such a value would otherwise be a server error)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        query = request.META.get("QUERY_STRING", "")
        if "\x00" in request.path or "%00" in query or "\x00" in urllib.parse.unquote_plus(query):
            message = translation.gettext("请求中含有空字符（NUL），无法处理")
            if request.path_info.startswith("/api/"):
                return JsonResponse({"detail": message}, status=400)
            return HttpResponseBadRequest(message, content_type="text/plain; charset=utf-8")
        return self.get_response(request)
