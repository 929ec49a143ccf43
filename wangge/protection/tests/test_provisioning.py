"""The phone setup page: QR codes only for addresses a phone can reach, and one-time passwords
a person can read aloud."""

from __future__ import annotations

import base64
import json
import re

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import Client

from wangge.core import env
from wangge.protection.models import READABLE_ALPHABET, new_osmand_key, new_password
from wangge.protection.provisioning import reachable_by_phone
from wangge.protection.tests.conftest import Protected


def _register(protected: Protected, **extra: str) -> str:
    client = Client()
    client.force_login(protected.world.user("community_staff"))
    response = client.post(
        f"/protection/{protected.enrolment.pk}/devices/", {"name": "奶奶的手机", "coord_system": "wgs84"}, **extra
    )
    assert response.status_code == 200
    return response.content.decode()


def _owntracks_config(html: str) -> dict:
    link = re.search(r'href="(owntracks:///config\?inline=[^"]+)"', html).group(1)  # type: ignore[union-attr]
    return json.loads(base64.b64decode(link.split("inline=", 1)[1]))


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "[::1]", "127.0.1.1", "app.localhost", "0.0.0.0"])
def test_it_shows_no_qr_code_for_an_address_only_the_server_itself_reaches(
    protected: Protected, settings, host: str
) -> None:
    settings.ALLOWED_HOSTS = ["*"]
    html = _register(protected, HTTP_HOST=f"{host}:8000")
    assert "<svg" not in html and "owntracks:///config" not in html
    assert 'id="http-unreachable"' in html and "WANGGE_PUBLIC_URL" in html
    assert 'id="mqtt-unreachable"' in html and "WANGGE_MQTT_PUBLIC_URL" in html
    assert 'id="device-password"' in html  # the password is still there to copy by hand


def test_it_puts_the_public_url_into_the_codes_when_the_page_is_opened_on_the_server(
    protected: Protected, settings
) -> None:
    settings.ALLOWED_HOSTS = ["*"]
    settings.WANGGE_PUBLIC_URL = "https://wangge.example.cn"
    settings.WANGGE_MQTT_PUBLIC_URL = "mqtts://mqtt.example.cn:8884"
    html = _register(protected, HTTP_HOST="127.0.0.1:8000")
    assert "http-unreachable" not in html and "mqtt-unreachable" not in html
    assert html.count("<svg") == 3  # OwnTracks HTTP, OwnTracks MQTT, Traccar Client
    assert _owntracks_config(html)["url"] == "https://wangge.example.cn/api/v1/locations/owntracks"
    assert ">https://wangge.example.cn/api/v1/locations/osmand<" in html
    assert ">mqtt.example.cn<" in html and "8884 (TLS)" in html


def test_it_offers_phones_the_sites_host_for_a_broker_on_loopback(protected: Protected, settings) -> None:
    settings.ALLOWED_HOSTS = ["*"]
    settings.MQTT_URL = "mqtt://127.0.0.1:1883"
    html = _register(protected, HTTP_HOST="192.168.1.20:8000")
    assert "mqtt-unreachable" not in html and ">192.168.1.20<" in html
    assert _owntracks_config(html)["url"] == "http://192.168.1.20:8000/api/v1/locations/owntracks"


def test_it_judges_which_hosts_a_phone_can_reach() -> None:
    assert not any(map(reachable_by_phone, ["", "localhost", "LOCALHOST.", "::1", "[::1]", "127.0.0.1", "0.0.0.0"]))
    assert all(map(reachable_by_phone, ["192.168.1.20", "10.0.0.5", "wangge.example.cn", "2001:db8::1"]))


def test_it_reads_and_checks_the_public_urls(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WANGGE_PUBLIC_URL", "https://wangge.example.cn/")
    assert env.url("WANGGE_PUBLIC_URL", schemes=("http", "https")) == "https://wangge.example.cn"
    monkeypatch.delenv("WANGGE_PUBLIC_URL")
    assert env.url("WANGGE_PUBLIC_URL", schemes=("http", "https")) == ""
    for bad in ["wangge.example.cn", "ftp://wangge.example.cn", "https://", "https://h:99999", "https://h/?a=1"]:
        monkeypatch.setenv("WANGGE_PUBLIC_URL", bad)
        with pytest.raises(ImproperlyConfigured, match="WANGGE_PUBLIC_URL"):
            env.url("WANGGE_PUBLIC_URL", schemes=("http", "https"))
    monkeypatch.setenv("WANGGE_MQTT_PUBLIC_URL", "https://mqtt.example.cn")
    with pytest.raises(ImproperlyConfigured, match="WANGGE_MQTT_PUBLIC_URL"):
        env.url("WANGGE_MQTT_PUBLIC_URL", schemes=("mqtt", "mqtts"))


def test_one_time_passwords_have_no_look_alike_characters_and_come_in_groups_of_four() -> None:
    assert not set("il1o0IO") & set(READABLE_ALPHABET)
    for _ in range(50):
        password = new_password()
        assert re.fullmatch(r"([a-z2-9]{4}-){5}[a-z2-9]{4}", password), password
        assert not set(password) - set(READABLE_ALPHABET + "-")
        assert not set(new_osmand_key()) - set(READABLE_ALPHABET)
    assert len({new_password() for _ in range(100)}) == 100


def test_the_page_shows_the_password_in_groups_that_do_not_break(protected: Protected) -> None:
    html = _register(protected)
    shown = re.search(r'id="device-password">(.*?)</dd>', html).group(1)  # type: ignore[union-attr]
    groups = re.findall(r'<span class="otp-group">([^<]+)</span>', shown)
    assert len(groups) == 6 and all(len(g.rstrip("-")) == 4 for g in groups)
