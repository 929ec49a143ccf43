"""The protocol adapters, with messages as the apps send them."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from wangge.protection.protocols import (
    Rejected,
    owntracks_topic,
    parse_osmand,
    parse_owntracks,
    parse_time,
    parse_traccar_json,
)

NOW = dt.datetime(2024, 5, 1, 8, 0, tzinfo=dt.UTC)
TST = int(NOW.timestamp()) - 60


def owntracks(**fields: object) -> bytes:
    message = {"_type": "location", "lat": 41.12, "lon": 122.91, "tst": TST, "acc": 12, "batt": 80, "tid": "LX"}
    message.update(fields)
    return json.dumps({k: v for k, v in message.items() if v is not None}).encode()


def parse(body: bytes) -> object:
    return parse_owntracks(body, user="abc", device="phone", source="owntracks_http", now=NOW)


def test_it_reads_an_owntracks_location() -> None:
    fix = parse(owntracks(vel=36, cog=270, alt=13))
    assert fix.identifier == "abc"
    assert (fix.lat, fix.lon) == (41.12, 122.91)
    assert fix.recorded_at == dt.datetime.fromtimestamp(TST, tz=dt.UTC)
    assert fix.accuracy == 12
    assert fix.speed == pytest.approx(10.0)  # 36 km/h
    assert fix.bearing == 270
    assert fix.battery == 80


def test_it_accepts_tst_as_a_string_and_missing_zero_fields() -> None:
    fix = parse(owntracks(tst=str(TST), vel=None, acc=None, batt=None))
    assert fix.recorded_at.timestamp() == TST
    assert fix.speed == 0.0
    assert fix.altitude == 0.0
    assert fix.accuracy is None
    assert fix.battery is None


def test_it_reads_a_transition_as_a_location() -> None:
    fix = parse(owntracks(_type="transition", event="leave", desc="家", wtst=TST - 1000))
    assert fix.lat == 41.12


@pytest.mark.parametrize("kind", ["lwt", "card", "status", "waypoint"])
def test_it_ignores_messages_without_a_location(kind: str) -> None:
    assert parse(json.dumps({"_type": kind, "tst": TST}).encode()) is None


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"{not json", "JSON"),
        (b"\xff\xfe", "UTF-8"),
        (b"[1, 2]", "JSON 对象"),
        (b'{"lat": 1}', "_type"),
        (owntracks(lat=91), "坐标超出范围"),
        (owntracks(lon=-181), "坐标超出范围"),
        (owntracks(lat="north"), "不是数字"),
        (owntracks(lat=True), "不是数字"),
        (owntracks(lat=None), "缺少字段 lat"),
        (owntracks(lat=0, lon=0), "0,0"),
        (owntracks(tst=None), "缺少定位时间"),
        (owntracks(tst=TST + 3600), "未来"),
        (owntracks(tst=0), "过早"),
        (owntracks(tst="yesterday"), "无法识别"),
        (owntracks(batt=250), "电量"),
        (b'{"_type": "location", "lat": NaN, "lon": 1, "tst": 1}', "不是数字"),
        (b'{"_type": "location", "lat": 41, "lon": Infinity, "tst": 1}', "不是数字"),
        (owntracks(acc=float("-inf")), "不是数字"),
        (owntracks(lat=10**400), "不是数字"),
        (owntracks(tst=10**400), "定位时间无效"),
        (owntracks(tst=float("inf")), "定位时间无效"),
    ],
)
def test_it_rejects_malformed_owntracks_messages_with_a_reason(body: bytes, reason: str) -> None:
    with pytest.raises(Rejected) as caught:
        parse(body)
    assert reason in str(caught.value.reason)


def test_it_reads_the_owntracks_topic() -> None:
    assert owntracks_topic("owntracks/abc/phone") == ("abc", "phone")
    for bad in ["owntracks/abc", "owntracks/abc/phone/event", "other/abc/phone", "owntracks//phone"]:
        with pytest.raises(Rejected):
            owntracks_topic(bad)


def test_it_reads_osmand_query_parameters() -> None:
    fix = parse_osmand(
        {
            "id": "dev1",
            "lat": "41.12",
            "lon": "122.91",
            "timestamp": str(TST),
            "speed": "10",
            "bearing": "90",
            "altitude": "50",
            "accuracy": "8",
            "batt": "55",
            "hdop": "1.2",
        },
        now=NOW,
    )
    assert fix.identifier == "dev1"
    assert fix.speed == pytest.approx(5.14444, rel=1e-4)  # knots → m/s
    assert (fix.bearing, fix.altitude, fix.accuracy, fix.battery) == (90, 50, 8, 55)
    assert fix.source == "osmand"


def test_it_reads_location_deviceid_heading_and_sos() -> None:
    fix = parse_osmand({"deviceid": "dev1", "location": "41.12,122.91", "heading": "45", "alarm": "sos"}, now=NOW)
    assert (fix.lat, fix.lon, fix.bearing, fix.alarm) == (41.12, 122.91, 45, "sos")
    assert fix.recorded_at == NOW  # no timestamp: the server's time, as Traccar does


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (str(TST), dt.datetime.fromtimestamp(TST, tz=dt.UTC)),
        (str(TST * 1000), dt.datetime.fromtimestamp(TST, tz=dt.UTC)),
        ("2024-05-01T07:59:00Z", dt.datetime(2024, 5, 1, 7, 59, tzinfo=dt.UTC)),
        ("2024-05-01T15:59:00+08:00", dt.datetime(2024, 5, 1, 7, 59, tzinfo=dt.UTC)),
        ("2024-05-01T07:59:00.250Z", dt.datetime(2024, 5, 1, 7, 59, 0, 250000, tzinfo=dt.UTC)),
        ("2024-05-01 07:59:00", dt.datetime(2024, 5, 1, 7, 59, tzinfo=dt.UTC)),
    ],
)
def test_it_reads_every_osmand_timestamp_form(value: str, expected: dt.datetime) -> None:
    assert parse_time(value, NOW) == expected


@pytest.mark.parametrize(
    "params",
    [
        {"lat": "41", "lon": "122"},
        {"id": "", "lat": "41", "lon": "122"},
        {"id": "d", "lat": "41"},
        {"id": "d", "location": "41"},
        {"id": "d", "lat": "41", "lon": "122", "timestamp": "2099-01-01 00:00:00"},
        {"id": "d", "lat": "41", "lon": "122", "speed": "fast"},
    ],
)
def test_it_rejects_malformed_osmand_requests(params: dict[str, str]) -> None:
    with pytest.raises(Rejected):
        parse_osmand(params, now=NOW)


TRACCAR_BODY = {
    "location": {
        "timestamp": "2024-05-01T07:59:00.000Z",
        "coords": {"latitude": 41.12, "longitude": 122.91, "accuracy": 5, "speed": 1.5, "heading": 180, "altitude": 30},
        "is_moving": True,
        "odometer": 1234,
        "event": "motionchange",
        "battery": {"level": 0.42, "is_charging": False},
        "activity": {"type": "walking"},
        "extras": {},
    },
    "device_id": "48241179",
}


def test_it_reads_the_traccar_client_json_body() -> None:
    (fix,) = parse_traccar_json(json.dumps(TRACCAR_BODY).encode(), now=NOW)
    assert fix.identifier == "48241179"
    assert fix.recorded_at == dt.datetime(2024, 5, 1, 7, 59, tzinfo=dt.UTC)
    assert (fix.lat, fix.lon, fix.accuracy, fix.speed, fix.bearing, fix.altitude) == (41.12, 122.91, 5, 1.5, 180, 30)
    assert fix.battery == 42.0


def test_it_rejects_a_traccar_body_without_coordinates() -> None:
    body = {"device_id": "1", "location": {"timestamp": "2024-05-01T07:59:00Z"}}
    with pytest.raises(Rejected):
        parse_traccar_json(json.dumps(body), now=NOW)
    with pytest.raises(Rejected):
        parse_traccar_json(json.dumps({"location": TRACCAR_BODY["location"]}), now=NOW)
