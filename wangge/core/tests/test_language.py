import pytest


@pytest.mark.django_db
def test_pages_are_chinese_even_for_an_english_browser(client):
    response = client.get("/login/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    assert response.headers["Content-Language"] == "zh-hans"


@pytest.mark.django_db
def test_the_language_switch_gives_english_pages(client):
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/login/"})
    assert response.status_code == 302
    response = client.get("/login/")
    assert response.headers["Content-Language"] == "en"


@pytest.mark.django_db
def test_api_clients_negotiate_their_language(client):
    response = client.get("/api/v1/residents/", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 401
    assert response.headers["Content-Language"] == "en"
