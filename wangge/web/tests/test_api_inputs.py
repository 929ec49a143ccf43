"""Inputs that used to make the API answer 500 now get 400: numbers beyond a 64-bit column,
dates the database cannot hold or that do not exist, and JSON nested deeper than Python parses."""

from __future__ import annotations

import pytest
from django.test import Client

from wangge.accounts.models import Role
from wangge.conftest import World, api_token
from wangge.protection.tests.conftest import Protected, protect

BIG = "9" * 20
DEEP = "[" * 1000 + "]" * 1000


def api(world: World) -> Client:
    token = api_token(world.user(Role.DISTRICT_ADMIN))
    return Client(HTTP_AUTHORIZATION=f"Token {token}")


@pytest.fixture
def tracked(world: World) -> Protected:
    return protect(world)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url",
    [
        f"/api/v1/residents/?grid={BIG}",
        f"/api/v1/residents/?community=-{BIG}",
        f"/api/v1/households/?building={BIG}",
        f"/api/v1/areas/?parent={BIG}",
        f"/api/v1/residents/export/?grid={BIG}",
    ],
)
def test_it_answers_400_for_an_integer_filter_beyond_the_database(world: World, url: str) -> None:
    response = api(world).get(url)
    assert response.status_code == 400
    assert response.content  # the reason


@pytest.mark.django_db
def test_an_integer_filter_within_range_still_filters(world: World) -> None:
    assert api(world).get(f"/api/v1/residents/?grid={2**63 - 1}").json()["count"] == 0


@pytest.mark.django_db
@pytest.mark.parametrize(
    "since", ["0001-01-01T00:00:00", "2020-13-45", "2020-13-45T00:00:00", "9999-12-31T23:59:59-23:59"]
)
def test_it_answers_400_for_a_trail_since_a_time_that_does_not_exist_or_fit(tracked: Protected, since: str) -> None:
    url = f"/api/v1/protection/enrolments/{tracked.enrolment.pk}/trail/"
    response = api(tracked.world).get(url, {"purpose": "核实位置", "since": since})
    assert response.status_code == 400
    assert "since" in response.json()


@pytest.mark.django_db
def test_a_trail_since_a_real_time_is_read(tracked: Protected) -> None:
    url = f"/api/v1/protection/enrolments/{tracked.enrolment.pk}/trail/"
    response = api(tracked.world).get(url, {"purpose": "核实位置", "since": "2024-01-01T00:00:00"})
    assert response.status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/api/v1/auth/token/", "/api/v1/protection/enrolments/"])
def test_it_answers_400_for_json_nested_1000_deep(world: World, url: str) -> None:
    client = api(world) if url != "/api/v1/auth/token/" else Client()
    response = client.post(url, DEEP, content_type="application/json")
    assert response.status_code == 400


@pytest.mark.django_db
def test_a_search_with_a_nul_character_gets_a_clear_400_not_a_server_error(world: World) -> None:
    # PostgreSQL text cannot hold NUL: the audit entry of the search failed with a 500. Every path
    # and query string holding one is now refused before any view (core.middleware).
    response = api(world).get("/api/v1/search/", {"q": "刘\x00娟"})
    assert response.status_code == 400
    assert "NUL" in response.json()["detail"]
    page = Client()
    page.force_login(world.user(Role.DISTRICT_ADMIN))
    assert page.get("/search/", {"q": "刘\x00娟"}).status_code == 400
    assert page.get("/search/", {"q": "刘娟"}).status_code == 200
