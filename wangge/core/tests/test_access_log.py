"""The access log of ``wangge serve`` (gunicorn) leaves out query strings: those of the location
endpoints carry the OsmAnd / Traccar Client device key, and those of search carry what people
looked for."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

from gunicorn.config import Config
from gunicorn.glogging import Logger

from wangge.core.management.commands.serve import ACCESS_LOG_FORMAT, gunicorn_application


def test_it_logs_the_path_of_a_location_request_without_its_device_key() -> None:
    app = gunicorn_application()({"access_log_format": ACCESS_LOG_FORMAT, "accesslog": "-"})
    query = "id=k3y0fth3phone&lat=41.12&lon=122.91"
    environ = {
        "REQUEST_METHOD": "GET",
        "RAW_URI": f"/api/v1/locations/osmand?{query}",
        "PATH_INFO": "/api/v1/locations/osmand",
        "QUERY_STRING": query,
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
    }
    request = SimpleNamespace(
        method="GET", uri=environ["RAW_URI"], path=environ["PATH_INFO"], query=query, version=(1, 1), headers=[]
    )
    response = SimpleNamespace(status="200 OK", sent=0, headers=[], response_length=0, status_code=200)
    config: Config = app.cfg
    line = config.access_log_format % Logger(config).atoms(response, request, environ, dt.timedelta(seconds=0.01))
    assert '"GET /api/v1/locations/osmand HTTP/1.1" 200' in line
    assert "k3y0fth3phone" not in line and "lat=" not in line
