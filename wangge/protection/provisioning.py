"""Phone provisioning: the settings to type into OwnTracks and Traccar Client for a registered
device, and QR codes that type them, for the page and the API alike."""

from __future__ import annotations

import base64
import ipaddress
import json
from typing import Any
from urllib.parse import urlencode, urlsplit

import segno
from django.conf import settings
from django.http import HttpRequest
from django.urls import reverse

from wangge.protection.models import Device, DeviceSecrets


def _qr(data: str) -> str:
    return segno.make(data, error="m", micro=False).svg_inline(scale=4, border=2, dark="#1d2733")


def reachable_by_phone(host: str) -> bool:
    """Whether a phone could ever reach ``host``: not this machine's own loopback or "any"
    address, nor a name that means it (``localhost``, ``*.localhost``)."""
    name = host.strip("[]").lower().rstrip(".")
    if not name or name == "localhost" or name.endswith(".localhost"):
        return False
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return True
    return not (address.is_loopback or address.is_unspecified)


def _public_site(request: HttpRequest) -> str:
    """The site's base URL as phones reach it: ``WANGGE_PUBLIC_URL``, else the page's own."""
    return settings.WANGGE_PUBLIC_URL or f"{request.scheme}://{request.get_host()}"


def _public_mqtt(request: HttpRequest) -> tuple[str, int, bool]:
    """Host and port phones use for MQTT: ``WANGGE_MQTT_PUBLIC_URL`` if set, else the broker's
    URL with a loopback host replaced by the public site's host."""
    raw = settings.WANGGE_MQTT_PUBLIC_URL or settings.MQTT_URL
    parts = urlsplit(raw)
    host = parts.hostname or ""
    if not settings.WANGGE_MQTT_PUBLIC_URL and not reachable_by_phone(host):
        host = urlsplit(_public_site(request)).hostname or ""
    tls = parts.scheme in ("mqtts", "ssl", "tls")
    return host, parts.port or (8883 if tls else 1883), tls


def device_setup(request: HttpRequest, device: Device, credentials: DeviceSecrets | None) -> dict[str, Any]:
    """Everything to type into OwnTracks and Traccar Client, and QR codes that type it for you.

    OwnTracks imports ``owntracks:///config?inline=<base64 of a _type=configuration JSON>``
    (mode 3 = HTTP, 0 = MQTT); Traccar Client applies a scanned ``https://…?id=…`` URL as its
    server URL and device identifier. That id is the phone's only credential in OsmAnd and
    Traccar Client, so it is a secret key shown (and put in a QR code) only right after the
    phone is registered or reset, like the password; other times the Traccar part says so.

    A loopback address (the server opened as ``127.0.0.1``) would put a QR code on the page
    that sets a phone up to talk to itself: then there is no QR code or app link, and
    ``http_unreachable`` / ``mqtt_unreachable`` name the host and the setting to set instead.
    """
    password = credentials.password if credentials else None
    site = _public_site(request)
    owntracks_url = site + reverse("locations-owntracks")
    osmand_url = site + reverse("locations-osmand")
    site_host = urlsplit(site).hostname or ""
    http_ok = reachable_by_phone(site_host)
    user, device_name = device.identifier, device.owntracks_device
    http_config: dict[str, Any] = {
        "_type": "configuration",
        "mode": 3,
        "url": owntracks_url,
        "auth": True,
        "username": user,
        "deviceId": device_name,
        "tid": device.identifier[:2].upper(),
    }
    host, port, tls = _public_mqtt(request)
    mqtt_ok = reachable_by_phone(host)
    mqtt_config: dict[str, Any] = {
        "_type": "configuration",
        "mode": 0,
        "host": host,
        "port": port,
        "tls": tls,
        "auth": True,
        "username": user,
        "deviceId": device_name,
        "tid": device.identifier[:2].upper(),
    }
    if password:
        http_config["password"] = password
        mqtt_config["password"] = password

    def inline(config: dict[str, Any]) -> str:
        raw = json.dumps(config, ensure_ascii=False, separators=(",", ":")).encode()
        return "owntracks:///config?inline=" + base64.b64encode(raw).decode()

    traccar_link = ""
    if credentials:
        traccar_link = osmand_url + "?" + urlencode({"id": credentials.osmand_key, "accuracy": "high", "interval": 60})
    return {
        "device": device,
        "password": password,
        "owntracks_url": owntracks_url,
        "osmand_url": osmand_url,
        "mqtt_host": host,
        "mqtt_port": port,
        "mqtt_tls": tls,
        "mqtt_topic": f"owntracks/{user}/{device_name}",
        "http_unreachable": "" if http_ok else site_host,
        "mqtt_unreachable": "" if mqtt_ok else host,
        "owntracks_http_link": inline(http_config) if http_ok else "",
        "owntracks_http_qr": _qr(inline(http_config)) if http_ok else "",
        "owntracks_mqtt_link": inline(mqtt_config) if mqtt_ok else "",
        "owntracks_mqtt_qr": _qr(inline(mqtt_config)) if mqtt_ok else "",
        "osmand_key": credentials.osmand_key if credentials else None,
        "osmand_legacy": device.osmand_legacy,
        "traccar_link": traccar_link if http_ok else "",
        "traccar_qr": _qr(traccar_link) if traccar_link and http_ok else "",
    }
