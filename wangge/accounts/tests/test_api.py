"""Accounts over the API (/me, tokens), the admin for district administrators, the schema."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client

from wangge.accounts.models import ApiToken, Role
from wangge.conftest import PASSWORD, World, api_token
from wangge.core.models import AuditEntry

pytestmark = pytest.mark.django_db


def test_it_describes_the_calling_account(world: World, client_for: Any) -> None:
    body = client_for(Role.GRID_WORKER).get("/api/v1/me/").json()
    assert body["username"] == "grid_worker"
    assert body["role"] == "grid_worker"
    assert body["role_label"] == "网格员"
    assert [area["name"] for area in body["areas"]] == ["灵西第一网格"]
    assert body["sees_full_detail"] is True
    assert body["can_export"] is True
    assert body["can_import"] is False


def test_it_tells_a_department_it_sees_masked_data(world: World, client_for: Any) -> None:
    body = client_for(Role.DEPARTMENT).get("/api/v1/me/").json()
    assert body["sees_full_detail"] is False
    assert body["can_export"] is False


def test_it_issues_a_token_for_a_password_and_audits_the_login(world: World) -> None:
    response = Client().post(
        "/api/v1/auth/token/",
        {"username": "grid_worker", "password": PASSWORD, "client": "手机"},
        content_type="application/json",
        REMOTE_ADDR="192.0.2.7",
    )
    assert response.status_code == 200, response.content
    body = response.json()
    key = body["token"]
    assert body["client"] == "手机"
    user = world.user(Role.GRID_WORKER)
    token = ApiToken.objects.get(user=user)
    assert token.name == "手机"
    entry = AuditEntry.objects.get(action=AuditEntry.Action.LOGIN)
    assert entry.actor == user
    assert entry.ip == "192.0.2.7"
    assert entry.detail["client"] == "手机"
    me = Client().get("/api/v1/me/", HTTP_AUTHORIZATION=f"Token {key}")
    assert me.json()["username"] == "grid_worker"


def test_it_gives_each_client_its_own_token_and_replaces_a_clients_earlier_one(world: World) -> None:
    def sign_in(client: str) -> str:
        payload = {"username": "grid_worker", "password": PASSWORD, "client": client}
        return str(Client().post("/api/v1/auth/token/", payload, content_type="application/json").json()["token"])

    laptop, phone = sign_in("laptop"), sign_in("phone")
    phone_again = sign_in("phone")
    assert len({laptop, phone, phone_again}) == 3

    def status(secret: str) -> int:
        return Client(HTTP_AUTHORIZATION=f"Token {secret}").get("/api/v1/me/").status_code

    assert (status(laptop), status(phone), status(phone_again)) == (200, 401, 200)
    assert AuditEntry.objects.filter(action=AuditEntry.Action.LOGIN).count() == 3


def test_it_refuses_a_wrong_password(world: World) -> None:
    response = Client().post(
        "/api/v1/auth/token/", {"username": "grid_worker", "password": "wrong"}, content_type="application/json"
    )
    assert response.status_code == 400
    assert not ApiToken.objects.exists()
    # a failed attempt is logged (accounts.signals), but never as a sign-in by someone
    assert not AuditEntry.objects.filter(action=AuditEntry.Action.LOGIN).exclude(actor=None).exists()


def test_it_refuses_a_token_to_an_inactive_account(world: World) -> None:
    user = world.user(Role.GRID_WORKER)
    user.is_active = False
    user.save()
    response = Client().post(
        "/api/v1/auth/token/", {"username": "grid_worker", "password": PASSWORD}, content_type="application/json"
    )
    assert response.status_code == 400


def test_it_revokes_the_callers_token(world: World) -> None:
    client = Client(HTTP_AUTHORIZATION=f"Token {api_token(world.user(Role.GRID_WORKER))}")
    assert client.delete("/api/v1/auth/token/").status_code == 204
    assert ApiToken.objects.live().count() == 0
    refused = client.get("/api/v1/me/")
    assert refused.status_code == 401
    assert refused["WWW-Authenticate"] == "Token"


ADMIN_CHANGELISTS = [
    "/admin/",
    "/admin/registry/resident/",
    "/admin/core/auditentry/",
    "/admin/accounts/user/",
    "/admin/areas/area/",
]


@pytest.mark.parametrize("url", ADMIN_CHANGELISTS)
def test_it_lets_a_district_administrator_into_the_admin(world: World, client_for: Any, url: str) -> None:
    response = client_for(Role.DISTRICT_ADMIN).get(url)
    assert response.status_code == 200


@pytest.mark.parametrize("role", [r for r in Role if r != Role.DISTRICT_ADMIN])
def test_it_keeps_every_other_role_out_of_the_admin(world: World, client_for: Any, role: Role) -> None:
    client = client_for(role)
    for url in ADMIN_CHANGELISTS:
        response = client.get(url)
        assert response.status_code == 302, (role, url)
        assert response["Location"].startswith("/admin/login/")


def test_it_keeps_staff_flags_alone_from_opening_the_admin(world: World, client_for: Any) -> None:
    worker = world.user(Role.GRID_WORKER)
    worker.is_staff = True
    worker.save()
    assert client_for(Role.GRID_WORKER).get("/admin/registry/resident/").status_code == 302


def test_it_needs_the_staff_flag_even_for_a_district_administrator(world: World, client_for: Any) -> None:
    admin = world.user(Role.DISTRICT_ADMIN)
    admin.is_staff = False
    admin.save()
    assert client_for(Role.DISTRICT_ADMIN).get("/admin/").status_code == 302


def test_it_keeps_the_audit_log_read_only_in_the_admin(world: World, client_for: Any) -> None:
    client = client_for(Role.DISTRICT_ADMIN)
    client.get(f"/api/v1/residents/{world.residents['a1_1_head'].pk}/")
    entry = AuditEntry.objects.get(action=AuditEntry.Action.VIEW)
    assert client.get("/admin/core/auditentry/add/").status_code == 403
    assert client.get(f"/admin/core/auditentry/{entry.pk}/delete/").status_code == 403
    response = client.post(f"/admin/core/auditentry/{entry.pk}/change/", {"summary": "tampered"})
    assert response.status_code == 403
    entry.refresh_from_db()
    assert entry.summary != "tampered"


def test_it_scopes_and_masks_residents_in_the_admin(world: World, client_for: Any) -> None:
    body = client_for(Role.DISTRICT_ADMIN).get("/admin/registry/resident/").content.decode()
    assert "王建国" in body
    assert "周海涛" not in body  # another district
    assert world.residents["a1_1_head"].id_number not in body


def test_it_audits_a_full_view_in_the_admin(world: World, client_for: Any) -> None:
    head = world.residents["a1_1_head"]
    response = client_for(Role.DISTRICT_ADMIN).get(f"/admin/registry/resident/{head.pk}/change/")
    assert response.status_code == 200
    assert AuditEntry.objects.filter(action=AuditEntry.Action.VIEW, object_id=str(head.pk)).exists()


def test_it_audits_an_area_saved_in_the_admin(world: World, client_for: Any) -> None:
    grid = world.areas["grid_a1_1"]
    response = client_for(Role.DISTRICT_ADMIN).post(
        f"/admin/areas/area/{grid.pk}/change/",
        {
            "level": "grid",
            "kind": "urban",
            "name": "灵西一网格",
            "short_name": "",
            "code": "",
            "code_scheme": "",
            "code_date": "",
            "parent": world.areas["community_a1"].pk,
            "boundary": json.dumps(grid.boundary),
            "target_households": 300,
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    grid.refresh_from_db()
    assert grid.name == "灵西一网格"
    assert AuditEntry.objects.filter(action=AuditEntry.Action.UPDATE, object_type="areas.area").exists()


def test_it_generates_the_openapi_schema_without_warnings(tmp_path: Path) -> None:
    target = tmp_path / "schema.yml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(target))
    text = target.read_text()
    for path in ("/api/v1/residents/", "/api/v1/areas/locate/", "/api/v1/auth/token/", "/api/v1/residents/export/"):
        assert f"{path}:" in text


def test_it_serves_the_schema_and_the_docs(world: World, client_for: Any) -> None:
    client = client_for(Role.GRID_WORKER)
    assert client.get("/api/v1/schema/").status_code == 200
    assert client.get("/api/v1/docs/").status_code == 200


def test_the_schema_is_generated_once_per_language_and_format_and_still_needs_a_sign_in(
    world: World, client_for: Any, client: Any
) -> None:
    from unittest import mock

    from drf_spectacular.generators import SchemaGenerator

    from wangge.core.schema import SchemaView

    SchemaView._built.clear()
    worker = client_for(Role.GRID_WORKER)
    with mock.patch.object(
        SchemaGenerator, "get_schema", autospec=True, side_effect=SchemaGenerator.get_schema
    ) as built:
        first = worker.get("/api/v1/schema/")
        again = worker.get("/api/v1/schema/")
        assert built.call_count == 1
        assert first.content == again.content and b"/api/v1/residents/:" in first.content
        as_json = worker.get("/api/v1/schema/?format=json")
        english = worker.get("/api/v1/schema/?lang=en")
        assert built.call_count == 3
        assert as_json["Content-Type"].startswith("application/vnd.oai.openapi+json")
        assert as_json.json()["paths"]["/api/v1/residents/"]
        assert english.content != first.content  # descriptions follow the language
        # A signed-out caller never gets the stored copy.
        assert client.get("/api/v1/schema/").status_code in (401, 403)
        assert built.call_count == 3
