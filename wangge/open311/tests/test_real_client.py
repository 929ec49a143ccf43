"""A real Open311 client from PyPI (georeport) against the live test server, in JSON and XML:
it lists the services and reads back a request created by a form-encoded POST, as the spec's
clients send it (georeport itself has no create call)."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from georeport import GeoReport

from wangge.conftest import build_world, grid_lon
from wangge.open311 import actions


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_a_pypi_client_lists_services_and_reads_back_a_created_request(
    live_server: Any, transactional_db: None, fmt: str
) -> None:
    world = build_world()
    _app, key = actions.client_app_create(name=f"georeport-{fmt}")
    root = f"{live_server.url}/open311/v2"
    client = GeoReport(root, api_key=key, output_format=fmt)

    codes = {service["service_code"] for service in client.get_service_list()}
    assert "facilities" in codes
    created = requests.post(
        f"{root}/requests.{fmt}",
        data={
            "api_key": key,
            "service_code": "facilities",
            "lat": "41.12",
            "long": str(grid_lon(world.areas["grid_a1_1"])),
            "description": "健身器材损坏",
        },
        timeout=10,
    )
    assert created.status_code == 200, created.text
    request_id = (
        created.json()[0]["service_request_id"]
        if fmt == "json"
        else created.text.split("<service_request_id>")[1].split("<")[0]
    )
    read = client.get_service_request(request_id)
    assert read["service_request_id"] == request_id
    assert read["service_code"] == "facilities" and read["status"] == "open"
    listed = client.get_service_requests(service_code="facilities", status="open")
    listed = listed if isinstance(listed, list) else [listed]  # xmltodict gives one element unwrapped
    assert [row["service_request_id"] for row in listed] == [request_id]
