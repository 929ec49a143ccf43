"""The device endpoints, with requests as OwnTracks and Traccar Client send them."""

from __future__ import annotations

import base64
import json
import time

import pytest
from django.test import Client

from wangge.protection import actions
from wangge.protection.models import Location
from wangge.protection.tests.conftest import HOME, Protected

pytestmark = pytest.mark.django_db

OWNTRACKS = "/api/v1/locations/owntracks"
OSMAND = "/api/v1/locations/osmand"


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def post_owntracks(protected: Protected, body: object, *, password: str | None = None, **headers: str):  # type: ignore[no-untyped-def]
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return Client().post(
        OWNTRACKS,
        data=data,
        content_type="application/json",
        HTTP_AUTHORIZATION=basic(protected.device.identifier, password or protected.password),
        HTTP_X_LIMIT_U=protected.device.identifier,
        HTTP_X_LIMIT_D="phone",
        **headers,
    )


def location(**fields: object) -> dict:
    message = {"_type": "location", "lat": HOME[0], "lon": HOME[1], "tst": int(time.time()) - 5, "acc": 10, "batt": 70}
    message.update(fields)
    return message


def test_it_stores_an_owntracks_http_location_and_replies_an_empty_list(protected: Protected) -> None:
    response = post_owntracks(protected, location(tst=str(int(time.time()))))
    assert response.status_code == 200
    assert response.json() == []
    assert Location.objects.get().source == "owntracks_http"


def test_it_ignores_an_empty_owntracks_body_and_an_lwt(protected: Protected) -> None:
    assert post_owntracks(protected, b"").json() == []
    assert post_owntracks(protected, {"_type": "lwt", "tst": int(time.time())}).json() == []
    assert not Location.objects.exists()


def test_it_refuses_bad_owntracks_credentials(protected: Protected) -> None:
    assert post_owntracks(protected, location(), password="wrong").status_code == 401
    response = Client().post(OWNTRACKS, data=json.dumps(location()), content_type="application/json")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Basic")
    assert not Location.objects.exists()


def test_it_explains_a_malformed_owntracks_message_and_takes_the_next(protected: Protected) -> None:
    bad = post_owntracks(protected, b"{oops")
    assert bad.status_code == 400
    assert "JSON" in bad.json()["error"]
    assert post_owntracks(protected, location(lat=123)).status_code == 400
    assert post_owntracks(protected, location()).status_code == 200
    assert Location.objects.count() == 1


def test_it_refuses_owntracks_locations_after_consent_is_withdrawn(protected: Protected) -> None:
    actions.consent_withdraw(by=None, enrolment=protected.enrolment)
    assert post_owntracks(protected, location()).status_code == 400
    assert not Location.objects.exists()


def test_it_stores_an_osmand_get_as_traccar_client_sends_it(protected: Protected) -> None:
    query = {
        "id": protected.osmand_key,
        "timestamp": str(int(time.time())),
        "lat": str(HOME[0]),
        "lon": str(HOME[1]),
        "speed": "1.2",
        "bearing": "0",
        "altitude": "40",
        "accuracy": "15",
        "batt": "88",
    }
    response = Client().get(OSMAND, query)
    assert response.status_code == 200
    stored = Location.objects.get()
    assert stored.battery == 88
    assert stored.source == "osmand"


def test_it_stores_an_osmand_form_post_and_a_traccar_json_post(protected: Protected) -> None:
    form = f"id={protected.osmand_key}&location={HOME[0]},{HOME[1]}&timestamp=2024-05-01%2001:00:00"
    response = Client().post(OSMAND, data=form, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 200
    body = {
        "location": {
            "timestamp": "2024-05-01T01:00:05.000Z",
            "coords": {
                "latitude": HOME[0],
                "longitude": HOME[1],
                "accuracy": 5,
                "speed": 0,
                "heading": 0,
                "altitude": 0,
            },
            "is_moving": False,
            "odometer": 0,
            "battery": {"level": 0.5, "is_charging": False},
            "activity": {"type": "still"},
        },
        "device_id": protected.osmand_key,
    }
    response = Client().post(OSMAND, data=json.dumps(body), content_type="application/json")
    assert response.status_code == 200
    assert Location.objects.count() == 2
    assert Location.objects.filter(battery=50).exists()


def test_it_answers_an_unknown_id_exactly_like_a_device_without_consent(protected: Protected, world) -> None:  # type: ignore[no-untyped-def]
    from wangge.protection.tests.conftest import protect

    other = protect(world, "a1_1_head")
    actions.consent_withdraw(by=None, enrolment=other.enrolment)
    unknown = Client().get(OSMAND, {"id": "doesnotexist123", "lat": "41.1", "lon": "122.9"})
    unconsented = Client().get(OSMAND, {"id": other.osmand_key, "lat": "41.1", "lon": "122.9"})
    assert unknown.status_code == unconsented.status_code == 400
    assert unknown.content == unconsented.content
    missing = Client().get(OSMAND, {"lat": "41.1", "lon": "122.9"})
    assert missing.status_code == 400
    assert not Location.objects.exists()


def test_the_device_endpoints_are_in_the_openapi_schema(client_for) -> None:  # type: ignore[no-untyped-def]
    schema = client_for("district_admin").get("/api/v1/schema/?format=json").json()
    assert "post" in schema["paths"]["/api/v1/locations/owntracks"]
    assert {"get", "post"} <= set(schema["paths"]["/api/v1/locations/osmand"])
