"""Protocol adapters: OwnTracks JSON and OsmAnd / Traccar Client requests → ``Fix``.

Pure functions, no database: each message either becomes a ``Fix`` (or nothing, for message
types that carry no location) or raises ``Rejected`` with a translated reason. A rejected
message never affects the next one, because nothing here keeps state.

References: the OwnTracks booklet (owntracks.org/booklet/tech/json) and Traccar's
``OsmAndProtocolDecoder`` with the JSON format of Traccar Client 9+ (traccar.org/osmand).
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

KNOT_MS = 1852.0 / 3600.0  # one knot in metres per second
KMH_MS = 1.0 / 3.6
# A phone's clock may run a little fast; a fix further in the future than this is refused.
MAX_FUTURE = dt.timedelta(minutes=10)
# Nothing before the first smartphone GPS fixes can be real (and epoch 0 is a common bug).
MIN_TIME = dt.datetime(2005, 1, 1, tzinfo=dt.UTC)
MAX_BODY = 64 * 1024

SOURCE_OWNTRACKS_HTTP = "owntracks_http"
SOURCE_OWNTRACKS_MQTT = "owntracks_mqtt"
SOURCE_OSMAND = "osmand"


class Rejected(ValueError):
    """A message that cannot be used; ``reason`` is translated and safe to show the sender."""

    def __init__(self, reason: str | Promise) -> None:
        super().__init__(str(reason))
        self.reason = reason


@dataclass(slots=True)
class Fix:
    identifier: str  # OsmAnd id or OwnTracks user: the device's identifier
    recorded_at: dt.datetime
    lat: float
    lon: float
    source: str
    accuracy: float | None = None  # metres
    speed: float | None = None  # metres per second
    bearing: float | None = None  # degrees
    altitude: float | None = None  # metres
    battery: float | None = None  # percent
    alarm: str = ""  # "sos" when the person pressed the emergency button
    device_name: str = ""  # OwnTracks device name, informative only
    # The sender proved it is the phone (a password, or the secret OsmAnd key): only then can
    # an alarm raise an SOS.
    verified: bool = False


# -- shared field readers -----------------------------------------------------------------


def _number(value: Any, field: str, *, required: bool = False) -> float | None:
    kind = type(value)
    if kind is float or kind is int:  # what JSON decoders give for numbers: the usual case, kept cheap
        try:
            number = float(value)
        except OverflowError:  # an integer beyond any float
            number = math.inf
        if number - number == 0.0:  # finite (inf - inf and nan - nan are nan)
            return number
        raise Rejected(_("字段 %(field)s 不是数字") % {"field": field})
    if value is None or value == "":
        if required:
            raise Rejected(_("缺少字段 %(field)s") % {"field": field})
        return None
    if isinstance(value, bool):
        raise Rejected(_("字段 %(field)s 不是数字") % {"field": field})
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise Rejected(_("字段 %(field)s 不是数字") % {"field": field}) from None
    if not math.isfinite(number):
        raise Rejected(_("字段 %(field)s 不是数字") % {"field": field})
    return number


def _coordinates(lat: Any, lon: Any) -> tuple[float, float]:
    la = _number(lat, "lat", required=True)
    lo = _number(lon, "lon", required=True)
    assert la is not None and lo is not None
    if not -90.0 <= la <= 90.0 or not -180.0 <= lo <= 180.0:
        raise Rejected(_("坐标超出范围"))
    if la == 0.0 and lo == 0.0:
        # (0, 0) is what phones send when they have no fix at all.
        raise Rejected(_("没有定位（坐标为 0,0）"))
    return la, lo


def _check_time(value: dt.datetime, now: dt.datetime) -> dt.datetime:
    if value > now + MAX_FUTURE:
        raise Rejected(_("定位时间在未来"))
    if value < MIN_TIME:
        raise Rejected(_("定位时间过早"))
    return value


def _epoch(number: float) -> dt.datetime:
    # Traccar's rule: a value below 2^31 is seconds, anything larger milliseconds.
    seconds = number if number < 2**31 else number / 1000.0
    try:
        return dt.datetime.fromtimestamp(seconds, tz=dt.UTC)
    except (OverflowError, OSError, ValueError):
        raise Rejected(_("定位时间无效")) from None


@functools.lru_cache(maxsize=4096)
def _epoch_seconds(number: int) -> dt.datetime:
    return _epoch(float(number))


def parse_time(value: Any, now: dt.datetime) -> dt.datetime:
    """Epoch seconds or milliseconds, ISO 8601, or ``yyyy-MM-dd HH:mm:ss`` (taken as UTC)."""
    if isinstance(value, bool) or value is None or value == "":
        raise Rejected(_("缺少定位时间"))
    if type(value) is int and -(2**53) < value < 2**53:
        # Phones report whole seconds; a batch holds a few distinct ones.
        return _check_time(_epoch_seconds(value), now)
    if isinstance(value, int | float):
        try:
            seconds = float(value)
        except OverflowError:
            raise Rejected(_("定位时间无效")) from None
        return _check_time(_epoch(seconds), now)
    text = str(value).strip()
    try:
        number = float(text)
    except ValueError:
        number = None
    if number is not None and math.isfinite(number):
        return _check_time(_epoch(number), now)
    try:
        parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise Rejected(_("定位时间格式无法识别")) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return _check_time(parsed.astimezone(dt.UTC), now)


def _battery(value: Any) -> float | None:
    battery = _number(value, "batt")
    if battery is not None and not 0.0 <= battery <= 100.0:
        raise Rejected(_("电量超出范围"))
    return battery


def _non_negative(value: float | None) -> float | None:
    # Android reports -1 (or a negative accuracy) for "unknown".
    return None if value is None or value < 0 else value


# -- OwnTracks ------------------------------------------------------------------------------

OWNTRACKS_LOCATION_TYPES = frozenset({"location", "transition"})


def decode_json(body: bytes | str) -> Any:
    if isinstance(body, bytes | bytearray):
        if len(body) > MAX_BODY:
            raise Rejected(_("消息过大"))
        try:
            body = body.decode("utf-8")
        except UnicodeDecodeError:
            raise Rejected(_("消息不是 UTF-8 编码")) from None
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        raise Rejected(_("消息不是有效的 JSON")) from None


def parse_owntracks(
    payload: bytes | str | Mapping[str, Any],
    *,
    user: str,
    device: str,
    source: str,
    now: dt.datetime,
) -> Fix | None:
    """One OwnTracks message; ``None`` for types without a location (``lwt``, ``card``, …).

    Per the booklet: ``tst`` is epoch seconds (some versions send it as a string), ``vel`` is
    km/h, and fields whose value is zero may be left out, so a missing ``vel`` means 0.
    """
    message = payload if isinstance(payload, Mapping) else decode_json(payload)
    if not isinstance(message, Mapping):
        raise Rejected(_("消息不是 JSON 对象"))
    kind = message.get("_type")
    if not isinstance(kind, str):
        raise Rejected(_("缺少字段 %(field)s") % {"field": "_type"})
    if kind not in OWNTRACKS_LOCATION_TYPES:
        return None
    if not user:
        raise Rejected(_("缺少用户名"))
    lat, lon = _coordinates(message.get("lat"), message.get("lon"))
    velocity = _number(message.get("vel"), "vel")
    return Fix(
        identifier=user,
        device_name=device,
        recorded_at=parse_time(message.get("tst"), now),
        lat=lat,
        lon=lon,
        source=source,
        accuracy=_non_negative(_number(message.get("acc"), "acc")),
        speed=_non_negative((velocity or 0.0) * KMH_MS),
        bearing=_non_negative(_number(message.get("cog"), "cog")),
        altitude=_number(message.get("alt"), "alt") or 0.0,
        battery=_battery(message.get("batt")),
    )


def owntracks_topic(topic: str) -> tuple[str, str]:
    """``owntracks/<user>/<device>`` → (user, device); anything else is refused."""
    parts = topic.split("/")
    if len(parts) != 3 or parts[0] != "owntracks" or not parts[1] or not parts[2]:
        raise Rejected(_("主题不是 owntracks/<用户>/<设备>"))
    return parts[1], parts[2]


# -- OsmAnd / Traccar Client ----------------------------------------------------------------


def parse_osmand(params: Mapping[str, str], *, now: dt.datetime) -> Fix:
    """Query or form parameters as OsmAnd and Traccar Client (before 9) send them."""
    identifier = (params.get("id") or params.get("deviceid") or "").strip()
    if not identifier:
        raise Rejected(_("缺少设备标识"))
    if "location" in params and not ("lat" in params and "lon" in params):
        parts = str(params["location"]).split(",")
        if len(parts) != 2:
            raise Rejected(_("字段 location 应为 纬度,经度"))
        lat, lon = _coordinates(parts[0], parts[1])
    else:
        lat, lon = _coordinates(params.get("lat"), params.get("lon"))
    # Traccar takes the server's time when the phone sends none.
    recorded_at = parse_time(params["timestamp"], now) if params.get("timestamp") else now
    speed = _number(params.get("speed"), "speed")
    alarm = str(params.get("alarm") or "").strip().lower()
    return Fix(
        identifier=identifier,
        recorded_at=recorded_at,
        lat=lat,
        lon=lon,
        source=SOURCE_OSMAND,
        accuracy=_non_negative(_number(params.get("accuracy"), "accuracy")),
        speed=_non_negative(speed * KNOT_MS if speed is not None else None),
        bearing=_non_negative(_number(params.get("bearing") or params.get("heading"), "bearing")),
        altitude=_number(params.get("altitude"), "altitude"),
        battery=_battery(params.get("batt")),
        alarm="sos" if alarm == "sos" else "",
    )


def parse_traccar_json(body: bytes | str | Mapping[str, Any], *, now: dt.datetime) -> list[Fix]:
    """The JSON body of Traccar Client 9+ (the background-geolocation SDK's native format).

    ``{"device_id": "…", "location": {"timestamp": ISO, "coords": {"latitude", "longitude",
    "accuracy", "speed" (m/s), "heading", "altitude"}, "battery": {"level": 0…1}, …}}``;
    ``location`` may also be a list when the app uploads a backlog at once.
    """
    message = body if isinstance(body, Mapping) else decode_json(body)
    if not isinstance(message, Mapping):
        raise Rejected(_("消息不是 JSON 对象"))
    identifier = str(message.get("device_id") or "").strip()
    if not identifier:
        raise Rejected(_("缺少设备标识"))
    locations = message.get("location")
    if isinstance(locations, Mapping):
        locations = [locations]
    if not isinstance(locations, list) or not locations:
        raise Rejected(_("缺少字段 %(field)s") % {"field": "location"})
    fixes = []
    for location in locations[:1000]:
        if not isinstance(location, Mapping) or not isinstance(location.get("coords"), Mapping):
            raise Rejected(_("缺少字段 %(field)s") % {"field": "coords"})
        coords = location["coords"]
        lat, lon = _coordinates(coords.get("latitude"), coords.get("longitude"))
        battery = location.get("battery")
        level = _number(battery.get("level"), "battery.level") if isinstance(battery, Mapping) else None
        if level is not None and not -1.0 <= level <= 1.0:
            raise Rejected(_("电量超出范围"))
        extras = location.get("extras")
        alarm = str(extras.get("alarm") or "").lower() if isinstance(extras, Mapping) else ""
        fixes.append(
            Fix(
                identifier=identifier,
                recorded_at=parse_time(location.get("timestamp"), now),
                lat=lat,
                lon=lon,
                source=SOURCE_OSMAND,
                accuracy=_non_negative(_number(coords.get("accuracy"), "accuracy")),
                speed=_non_negative(_number(coords.get("speed"), "speed")),
                bearing=_non_negative(_number(coords.get("heading"), "heading")),
                altitude=_number(coords.get("altitude"), "altitude"),
                battery=round(level * 100.0, 1) if level is not None and level >= 0 else None,
                alarm="sos" if alarm == "sos" else "",
            )
        )
    return fixes
