"""Open311 GeoReport v2 through HTTP, in JSON and XML: services, a request created with a key and
read back, the spec's error bodies, and nothing personal in any public answer."""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from typing import Any

import pytest
from django.core.management import call_command
from django.db import DatabaseError
from django.test import Client
from django.utils import timezone

from wangge.accounts.models import Role
from wangge.cases import actions as case_actions
from wangge.cases.models import Case, Category
from wangge.conftest import World, grid_lon
from wangge.core.models import AuditEntry
from wangge.open311 import actions
from wangge.open311.models import ClientApp, Report

pytestmark = pytest.mark.django_db

BASE = "/open311/v2"


def _post(client: Client, fmt: str, **fields: Any) -> Any:
    return client.post(f"{BASE}/requests.{fmt}", fields)


def _point(world: World, grid: str = "grid_a1_1") -> dict[str, str]:
    return {"lat": "41.12", "long": str(grid_lon(world.areas[grid]))}


def test_it_lists_only_public_event_categories_in_json_and_xml(world: World) -> None:
    body = Client().get(f"{BASE}/services.json").json()
    codes = {row["service_code"] for row in body}
    assert "facilities" in codes and "hazard" in codes
    assert "pension-social-security" not in codes  # a petition
    assert "unpaid-benefit" not in codes  # a sensitive event
    assert set(body[0]) == {"service_code", "service_name", "description", "metadata", "type", "keywords", "group"}
    response = Client().get(f"{BASE}/services.xml")
    assert response["Content-Type"] == "text/xml; charset=utf-8"
    assert response.content.startswith(b'<?xml version="1.0" encoding="utf-8"?>')
    root = ET.fromstring(response.content)
    assert root.tag == "services"
    assert {s.findtext("service_code") for s in root.findall("service")} == codes
    definition = Client().get(f"{BASE}/services/facilities.json").json()
    assert definition == {"service_code": "facilities", "attributes": []}
    missing = Client().get(f"{BASE}/services/pension-social-security.xml")
    assert missing.status_code == 404
    assert ET.fromstring(missing.content).find("error/code").text == "404"


def test_it_creates_a_request_in_the_grid_of_its_point_and_reads_it_back(world: World, api_key: str) -> None:
    client = Client()
    response = _post(
        client,
        "json",
        api_key=api_key,
        service_code="facilities",
        description="3号楼门口路灯不亮",
        address_string="3号楼门口",
        phone="13912345678",
        first_name="小明",
        last_name="刘",
        **_point(world, "grid_a1_2"),
    )
    assert response.status_code == 200, response.content
    (row,) = response.json()
    case = Case.objects.get(pk=int(row["service_request_id"]))
    assert case.grid == world.areas["grid_a1_2"] and case.channel == "open311" and case.received_by is None
    assert case.contact_name == "刘小明" and case.contact_phone == "13912345678"
    assert row["token"] == case.public_report.code
    assert case.steps.get().data["client"] == "FixMyLishan"

    (read,) = client.get(f"{BASE}/requests/{case.pk}.json").json()
    assert read["status"] == "open" and read["service_code"] == "facilities"
    assert read["description"] == "3号楼门口路灯不亮"
    assert read["lat"] == 41.12
    xml = ET.fromstring(client.get(f"{BASE}/requests/{case.pk}.xml").content)
    assert xml.tag == "service_requests" and xml.findtext("request/service_request_id") == str(case.pk)
    token = client.get(f"{BASE}/tokens/{row['token']}.json").json()
    assert token == [{"service_request_id": str(case.pk), "token": row["token"]}]

    made = ET.fromstring(
        _post(client, "xml", api_key=api_key, service_code="hazard", description="井盖丢失", **_point(world)).content
    )
    assert made.findtext("request/service_request_id")


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_it_answers_bad_requests_with_the_specs_error_bodies(world: World, api_key: str, fmt: str) -> None:
    client = Client()
    good = {"api_key": api_key, "service_code": "facilities", "description": "灯坏了", **_point(world)}

    def codes(response: Any) -> list[int]:
        if fmt == "json":
            return [error["code"] for error in response.json()]
        return [int(e.findtext("code")) for e in ET.fromstring(response.content).findall("error")]

    cases = [
        ({**good, "api_key": ""}, 403),
        ({**good, "api_key": "wrong"}, 403),
        ({**good, "service_code": "nope"}, 400),
        ({**good, "lat": "north"}, 400),
        ({**good, "lat": "91"}, 400),
        ({**good, "long": "nan"}, 400),
        ({k: v for k, v in good.items() if k not in ("lat", "long")} | {"address_string": "某路"}, 400),
        ({**good, "lat": "10", "long": "10"}, 400),  # in no grid
        ({**good, "description": ""}, 400),
    ]
    for fields, status in cases:
        response = _post(client, fmt, **fields)
        assert response.status_code == status, (fields, response.content)
        assert codes(response) == [status]
    huge = client.post(f"{BASE}/requests.{fmt}", {**good, "description": "长" * 70000})
    assert huge.status_code == 413 and codes(huge) == [413]
    assert client.get(f"{BASE}/requests.{fmt}?start_date=yesterday").status_code == 400
    assert client.get(f"{BASE}/requests.{fmt}?status=lost").status_code == 400
    assert client.get(f"{BASE}/requests/999999.{fmt}").status_code == 404
    assert not Case.objects.exists()


def test_it_translates_error_descriptions_for_an_english_client(world: World) -> None:
    response = Client().post(f"{BASE}/requests.json", {"service_code": "facilities"}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 403
    assert response.json()[0]["description"] == "api_key is missing"


def test_it_filters_requests_by_code_status_and_dates(world: World, api_key: str) -> None:
    client = Client()
    for code in ("facilities", "hazard"):
        _post(client, "json", api_key=api_key, service_code=code, description="问题", **_point(world))
    old = actions.report_submit(
        category=Category.objects.get(code="environment"),
        text="旧事",
        channel="web",
        lat=41.12,
        lon=grid_lon(world.areas["grid_a1_1"]),
        now=timezone.now() - dt.timedelta(days=120),
    )
    assert {r["service_code"] for r in client.get(f"{BASE}/requests.json").json()} == {"facilities", "hazard"}
    assert [r["service_code"] for r in client.get(f"{BASE}/requests.json?service_code=hazard").json()] == ["hazard"]
    assert client.get(f"{BASE}/requests.json?status=closed").json() == []
    past = (timezone.now() - dt.timedelta(days=150)).isoformat()
    window = client.get(f"{BASE}/requests.json", {"start_date": past})
    assert [r["service_request_id"] for r in window.json()] == [str(old.case_id)]
    too_long = client.get(f"{BASE}/requests.json", {"start_date": past, "end_date": timezone.now().isoformat()})
    assert too_long.status_code == 400
    by_id = client.get(f"{BASE}/requests.json?service_request_id={old.case_id}").json()
    assert by_id[0]["service_request_id"] == str(old.case_id)


def test_it_never_reveals_names_phones_or_id_numbers(world: World, api_key: str, client_for: Any) -> None:
    office = world.user(Role.PETITION_OFFICE)
    head = world.residents["a1_1_head"]
    case_actions.case_receive(
        by=office,
        category=Category.objects.get(code="pension-social-security"),
        text=f"{head.name}反映养老金",
        channel="phone",
        petitioners=[head],
        contact_phone=head.phone,
    )
    field = case_actions.case_receive(
        by=world.user(Role.GRID_WORKER),
        category=Category.objects.get(code="facilities"),
        text=f"{head.name}家门口灯坏了，电话{head.phone}",
        channel="field",
        contact_name=head.name,
        contact_phone=head.phone,
        area=world.areas["grid_a1_1"],
    )
    case_actions.case_receive(
        by=office,
        category=Category.objects.get(code="unpaid-benefit"),
        text=f"{head.name}待遇未发",
        channel="phone",
        petitioners=[head],
        area=world.areas["grid_a1_1"],
    )
    _post(
        Client(),
        "json",
        api_key=api_key,
        service_code="facilities",
        description="路灯坏了",
        phone="13911112222",
        first_name="明",
        last_name="刘",
        **_point(world),
    )
    secrets = [head.name, head.phone, head.id_number, "13911112222", "刘明"]
    client = Client()
    urls = [
        f"{BASE}/{path}.{fmt}"
        for fmt in ("json", "xml")
        for path in ("services", "requests", f"requests/{field.pk}", "servicerequestupdates", "discovery")
    ]
    for url in urls:
        body = client.get(url).content.decode()
        for secret in secrets:
            assert secret not in body, (url, secret)
    assert str(field.pk) in client.get(f"{BASE}/requests.json").content.decode()  # public, but without the text
    for report in Report.objects.all():
        page = client.get(f"/report/{report.code}/").content.decode()
        assert "13911112222" not in page and "刘明" not in page


def test_it_rolls_the_request_back_when_the_audit_fails(
    world: World, api_key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(**kwargs: Any) -> None:
        raise DatabaseError("audit log unavailable")

    monkeypatch.setattr(AuditEntry.objects, "create", refuse)
    client = Client(raise_request_exception=False)
    response = _post(client, "json", api_key=api_key, service_code="facilities", description="灯", **_point(world))
    assert response.status_code == 500
    assert not Case.objects.exists() and not Report.objects.exists()


def test_it_creates_a_key_once_stores_it_hashed_and_revokes_it(world: World, capsys: Any) -> None:
    call_command("open311", "keys", "create", "CivicBot")
    key = capsys.readouterr().out.strip().splitlines()[-1]
    app = ClientApp.objects.get(name="CivicBot")
    assert key not in (app.key_hash, app.key_prefix) and len(key) >= 40
    assert AuditEntry.objects.filter(object_type="open311.clientapp", object_id=str(app.pk)).exists()
    fields = {"api_key": key, "service_code": "facilities", "description": "灯", **_point(world)}
    assert _post(Client(), "json", **fields).status_code == 200
    call_command("open311", "keys", "revoke", "CivicBot")
    assert _post(Client(), "json", **fields).status_code == 403


def test_it_rate_limits_a_client_app(world: World) -> None:
    _app, key = actions.client_app_create(name="Noisy", per_minute=2)
    fields = {"api_key": key, "service_code": "facilities", "description": "灯", **_point(world)}
    assert [_post(Client(), "json", **fields).status_code for _ in range(3)] == [200, 200, 429]
