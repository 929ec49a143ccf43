"""gunicorn's logger for ``wangge serve``: Wangge's line format (time and level on every line,
JSON optionally), and an access log that never records where a person is or whom staff looked
for — no query string of the location endpoints (an OsmAnd fix is a GET with the device's
identifier and coordinates in it) and no search terms (``q=``)."""

from __future__ import annotations

import urllib.parse
from typing import Any

from gunicorn.glogging import Logger

from wangge.core.logs import formatter

LOCATION_PATHS = ("/api/v1/locations/",)
REDACTED = "REDACTED"
SECRET_PARAMETERS = frozenset({"q"})


def redact_query(path: str, query: str) -> str:
    """The query string as the access log may show it."""
    if not query:
        return ""
    if path.startswith(LOCATION_PATHS):
        return REDACTED
    pairs = urllib.parse.parse_qsl(query, keep_blank_values=True)
    if not any(name in SECRET_PARAMETERS for name, _value in pairs):
        return query
    return "&".join(
        f"{urllib.parse.quote(name)}={REDACTED}"
        if name in SECRET_PARAMETERS
        else urllib.parse.urlencode([(name, value)])
        for name, value in pairs
    )


class AccessLogger(Logger):  # type: ignore[misc]
    log_format = "text"

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        for log in (self.error_log, self.access_log):
            for handler in log.handlers:
                handler.setFormatter(formatter(self.log_format))

    def atoms(self, resp: Any, req: Any, environ: Any, request_time: Any) -> dict[str, Any]:
        atoms: dict[str, Any] = super().atoms(resp, req, environ, request_time)
        path = environ.get("PATH_INFO", "")
        query = redact_query(path, environ.get("QUERY_STRING", ""))
        target = f"{path}?{query}" if query else path
        atoms["q"] = query
        atoms["U"] = path
        atoms["r"] = f"{environ.get('REQUEST_METHOD', '')} {target} {environ.get('SERVER_PROTOCOL', '')}"
        # A referrer may be a search results page or a setup link: keep where from, not what.
        referer = atoms.get("f", "-")
        if referer and referer != "-":
            atoms["f"] = urllib.parse.urlunsplit(urllib.parse.urlsplit(referer)._replace(query="", fragment=""))
        return atoms


class JsonAccessLogger(AccessLogger):
    log_format = "json"


def logger_class(kind: str) -> type[Logger]:
    return JsonAccessLogger if kind == "json" else AccessLogger
