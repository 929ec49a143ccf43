"""Log lines: time and level on each, JSON when asked, and an access log that keeps no
location query strings and no search terms."""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
from types import SimpleNamespace

import pytest
from gunicorn.config import Config

from wangge.core.gunicorn_logging import AccessLogger, JsonAccessLogger
from wangge.core.logs import JsonFormatter, TextFormatter

STAMP = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00"


def record(message: str, level: int = logging.WARNING) -> logging.LogRecord:
    return logging.LogRecord("wangge.test", level, __file__, 1, message, (), None)


def test_every_text_line_starts_with_a_utc_time_and_the_level() -> None:
    line = TextFormatter().format(record("disk nearly full"))
    assert re.fullmatch(rf"{STAMP} WARNING wangge\.test: disk nearly full", line)


def test_a_json_line_is_one_object_with_time_and_level() -> None:
    entry = json.loads(JsonFormatter().format(record("broker away", logging.ERROR)))
    assert entry["level"] == "ERROR" and entry["message"] == "broker away" and re.fullmatch(STAMP, entry["time"])


def access_line(logger_class: type[AccessLogger], capsys: pytest.CaptureFixture[str], path: str, query: str) -> str:
    config = Config()
    config.set("accesslog", "-")
    logger = logger_class(config)
    environ = {
        "REQUEST_METHOD": "GET",
        "RAW_URI": f"{path}?{query}",
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_REFERER": f"https://wangge.example/search/?{query}",
    }
    response = SimpleNamespace(status="200 OK", sent=12, headers=[])
    logger.access(response, SimpleNamespace(headers=[]), environ, dt.timedelta(milliseconds=3))
    return capsys.readouterr().out.strip()


def test_the_access_log_keeps_no_query_string_of_the_location_endpoints(capsys: pytest.CaptureFixture[str]) -> None:
    query = "id=5f2a9c&lat=41.123456&lon=122.987654&timestamp=1700000000"
    line = access_line(AccessLogger, capsys, "/api/v1/locations/osmand", query)
    assert "/api/v1/locations/osmand?REDACTED" in line
    for secret in ("5f2a9c", "41.123456", "122.987654"):
        assert secret not in line
    assert re.match(rf"{STAMP} INFO gunicorn\.access: ", line)


def test_the_access_log_keeps_no_search_terms(capsys: pytest.CaptureFixture[str]) -> None:
    line = access_line(AccessLogger, capsys, "/search/", "q=%E7%8E%8B%E5%BB%BA%E5%9B%BD&page=2")
    assert "/search/?q=REDACTED&page=2" in line
    assert "%E7%8E%8B" not in line and "王建国" not in line


def test_the_access_log_can_be_json(capsys: pytest.CaptureFixture[str]) -> None:
    line = access_line(JsonAccessLogger, capsys, "/search/", "q=210304")
    entry = json.loads(line)
    assert entry["level"] == "INFO" and "q=REDACTED" in entry["message"] and "210304" not in line


def test_serve_gives_gunicorn_the_redacting_logger_and_the_trusted_proxies(settings: object) -> None:
    from wangge.core.management.commands.serve import gunicorn_options

    settings.WANGGE_TRUSTED_PROXIES = ["127.0.0.1", "10.0.0.0/8"]  # type: ignore[attr-defined]
    config = Config()
    for key, value in gunicorn_options(bind="127.0.0.1:8000", workers=1, threads=1).items():
        config.set(key, value)
    assert config.logger_class is AccessLogger
    assert config.forwarded_allow_ips == ["127.0.0.1", "10.0.0.0/8"]
    assert config.umask == 0o077
