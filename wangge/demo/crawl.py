"""Visit every page kind as one signed-in user and record status, wall and CPU time per request.

The crawl starts from every URL pattern without parameters (pages and API lists), follows
redirects and the local links of each HTML page (``href``, ``data-*`` URLs, ``hx-get``) and, for a JSON list, the
detail URLs of its first items, so pages other engineers add are visited without a list to keep
up to date. A page *kind* is the path with its numbers replaced by ``<n>`` (and the names of its
query parameters); each kind is visited at most ``per_kind`` times. Used by the test that no page
fails on invalid boundaries and by ``bench/pages.py``.

Requests go through Django's test client in this process, so CPU time (``time.process_time``)
is the server's work plus the client's small share, and is not distorted by other processes on a
shared machine the way wall time is.
"""

from __future__ import annotations

import json
import re
import statistics
import time
import traceback
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from django.core import signals
from django.db import close_old_connections
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

#: URL names never visited: signing out would end the crawl's session
SKIP_NAMES = {"logout", "set_language", "token_delete", "notifications_read"}
#: path prefixes never visited: static files, and the Django admin (an operator's tool, not a page)
SKIP_PREFIXES = ("/static/", "/media/", "/admin/", "/i18n/")
#: query values the crawl adds to a search page that has none, so search does some work
SEARCH_TERMS = {"q": "王"}

#: bytes of a streamed response read (and timed) before the crawl moves on
STREAM_SAMPLE = 1 << 20

_NUMBER = re.compile(r"\d+")
_URL_ATTRS = {"href", "hx-get", "data-url", "data-geojson", "data-live", "data-href", "action"}


def kind_of(url: str) -> str:
    """``/residents/123/?page=2`` -> ``/residents/<n>/?page``."""
    parts = urlsplit(url)
    path = _NUMBER.sub("<n>", parts.path)
    keys = sorted({k for k, _v in parse_qsl(parts.query, keep_blank_values=True)})
    return path + ("?" + "&".join(keys) if keys else "")


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self._form_get = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "form":
            # a GET form is a page (search, filters); a POST form changes things: not crawled
            self._form_get = (values.get("method") or "get").lower() == "get"
            if not self._form_get:
                return
        for name, value in attrs:
            if value and (name in _URL_ATTRS or (name.startswith("data-") and value.startswith("/"))):
                if name == "action" and not self._form_get:
                    continue
                self.urls.append(value)


def links_in(html: str) -> list[str]:
    parser = _Links()
    try:
        parser.feed(html)
    except (ValueError, AssertionError):
        return parser.urls
    return parser.urls


def area_kinds(levels: dict[int, str]) -> Callable[[str], str]:
    """A ``classify`` for ``crawl`` that names area pages by level: ``/areas/<district>/division/``,
    ``/worklist/areas/<street>/``.

    ``levels`` maps area pk to level (``dict(Area.objects.values_list("pk", "level"))``).
    """

    def classify(url: str) -> str:
        kind = kind_of(url)
        # the worklist's summaries and coverage drill down by area too (a grid's is a list)
        match = re.match(r"^(/areas/|/worklist/areas/|/worklist/coverage/)(\d+)/", urlsplit(url).path)
        if match and int(match.group(2)) in levels:
            prefix = match.group(1)
            return kind.replace(f"{prefix}<n>/", f"{prefix}<{levels[int(match.group(2))]}>/", 1)
        return kind

    return classify


def _ids_in(data: Any) -> list[Any]:
    items = data.get("results") if isinstance(data, dict) else data
    if not isinstance(items, list):
        return []
    return [item["id"] for item in items[:2] if isinstance(item, dict) and "id" in item]


def _patterns(patterns: Iterable[URLPattern | URLResolver], prefix: str = "") -> Iterator[tuple[str, str | None]]:
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _patterns(pattern.url_patterns, prefix + str(pattern.pattern))
        else:
            yield prefix + str(pattern.pattern), pattern.name


def seed_urls() -> list[str]:
    """Every URL pattern without parameters, as a path (regex routes of DRF routers included)."""
    urls = []
    for route, name in _patterns(get_resolver().url_patterns):
        if name in SKIP_NAMES:
            continue
        path = "/" + route.replace("^", "").replace("$", "")
        if "<" in path or "(" in path or "\\" in path or "[" in path:
            continue
        if any(path.startswith(p) for p in SKIP_PREFIXES):
            continue
        urls.append(path)
    return sorted(set(urls))


@dataclass
class Visit:
    url: str
    kind: str
    status: int
    wall_ms: float
    cpu_ms: float
    size: int
    error: str = ""
    #: a streamed export: wall ms to its first megabyte (``wall_ms`` is to its first byte)
    first_mb_ms: float | None = None


@dataclass
class Crawl:
    user: str
    visits: list[Visit] = field(default_factory=list)

    @property
    def failures(self) -> list[Visit]:
        return [v for v in self.visits if v.status >= 500]

    def by_kind(self) -> dict[str, list[Visit]]:
        kinds: dict[str, list[Visit]] = {}
        for visit in self.visits:
            kinds.setdefault(visit.kind, []).append(visit)
        return kinds


def percentile(values: list[float], share: float) -> float:
    if not values:
        return 0.0
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[max(0, min(98, round(share * 100) - 1))]


def crawl(
    client: Client,
    *,
    user: str,
    per_kind: int = 3,
    max_visits: int = 2000,
    extra: Iterable[str] = (),
    classify: Callable[[str], str] = kind_of,
) -> Crawl:
    """Breadth-first over the pages this (signed-in) client can reach.

    Each kind is visited until it has answered ``per_kind`` times below 400 (or been tried three
    times as often: a role that gets 404s for a kind does not spend the crawl on it).
    ``classify`` names a URL's kind (``area_kinds`` tells a district's page from a grid's).
    """
    result = Crawl(user=user)
    queue: deque[str] = deque([*extra, *seed_urls()])
    seen: set[str] = set()
    answered: dict[str, int] = {}
    tried: dict[str, int] = {}
    while queue and len(result.visits) < max_visits:
        url = queue.popleft()
        parts = urlsplit(url)
        if parts.scheme or parts.netloc or not parts.path.startswith("/"):
            continue
        if any(parts.path.startswith(p) for p in SKIP_PREFIXES):
            continue
        if parts.path.rstrip("/").endswith("search") and not parts.query:
            url = f"{parts.path}?{urlencode(SEARCH_TERMS)}"
        url = url.split("#", 1)[0]
        kind = classify(url)
        if url in seen or answered.get(kind, 0) >= per_kind or tried.get(kind, 0) >= 3 * per_kind:
            continue
        seen.add(url)
        tried[kind] = tried.get(kind, 0) + 1
        visit, body, content_type, location = _visit(client, url, kind)
        result.visits.append(visit)
        if visit.status < 400:
            answered[kind] = answered.get(kind, 0) + 1
        if visit.status in (301, 302, 303, 307, 308) and location:
            queue.append(location)
            continue
        if visit.status != 200 or body is None:
            continue
        if "html" in content_type:
            queue.extend(links_in(body))
        elif "json" in content_type and parts.path.startswith("/api/"):
            try:
                data = json.loads(body)
            except ValueError:
                continue
            queue.extend(f"{parts.path}{pk}/" for pk in _ids_in(data))
    return result


def _visit(client: Client, url: str, kind: str) -> tuple[Visit, str | None, str, str]:
    wall, cpu = time.perf_counter(), time.process_time()
    try:
        response = client.get(url, HTTP_ACCEPT="text/html,application/json", HTTP_ACCEPT_ENCODING="gzip")
    except Exception as exc:  # a server error is what the crawl exists to find
        elapsed = (time.perf_counter() - wall) * 1000, (time.process_time() - cpu) * 1000
        error = "".join(traceback.format_exception_only(type(exc), exc)).strip()
        return Visit(url, kind, 500, elapsed[0], elapsed[1], 0, error), None, "", ""
    first_mb_ms: float | None = None
    if getattr(response, "streaming", False):
        # An export streams the whole scope: the server's answer time is its first byte, what
        # a user waits for before the download starts; the first megabyte is timed as well.
        content = b""
        first_byte: tuple[float, float] | None = None
        for chunk in getattr(response, "streaming_content", ()):
            content += chunk if isinstance(chunk, bytes) else str(chunk).encode()
            if first_byte is None and content:
                first_byte = time.perf_counter(), time.process_time()
            if len(content) >= STREAM_SAMPLE:
                break
        first_mb_ms = (time.perf_counter() - wall) * 1000
        # closing early sends request_finished, which would close the database connection (and
        # with it a test's transaction): keep it open, as the test client does for a full read
        signals.request_finished.disconnect(close_old_connections)
        try:
            response.close()
        finally:
            signals.request_finished.connect(close_old_connections)
        end = first_byte or (time.perf_counter(), time.process_time())
    else:
        content = response.content
        end = time.perf_counter(), time.process_time()
    elapsed = (end[0] - wall) * 1000, (end[1] - cpu) * 1000
    content_type = response.get("Content-Type", "")
    body: str | None = None
    if response.get("Content-Encoding") == "gzip":
        import gzip

        raw = gzip.decompress(content)
    else:
        raw = content
    if "html" in content_type or "json" in content_type:
        body = raw.decode("utf-8", "replace")
    visit = Visit(url, kind, response.status_code, elapsed[0], elapsed[1], len(content), first_mb_ms=first_mb_ms)
    return visit, body, content_type, response.get("Location", "")


def revisit(client: Client, result: Crawl, *, per_kind: int) -> None:
    """Visit kinds the crawl found fewer than ``per_kind`` URLs of again (their first URL), so
    every kind has ``per_kind`` samples for its percentiles."""
    for kind, visits in result.by_kind().items():
        ok = [v for v in visits if v.status < 400]
        if not ok:
            continue
        for _ in range(per_kind - len(visits)):
            visit, _body, _type, _location = _visit(client, ok[0].url, kind)
            result.visits.append(visit)
