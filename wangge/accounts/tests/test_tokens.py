"""API tokens through the profile page and the token endpoint: one set of actions behind both.

Tokens are stored as SHA-256 digests only, expire after WANGGE_API_TOKEN_DAYS, and each client
(device) has its own, revocable on its own.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import DatabaseError, connection
from django.test import Client
from django.utils import timezone

from wangge.accounts import actions
from wangge.accounts.models import ApiToken, Role, token_digest
from wangge.conftest import PASSWORD, World, api_token
from wangge.core.models import AuditEntry

pytestmark = pytest.mark.django_db


def refuse_audit(monkeypatch: pytest.MonkeyPatch) -> None:
    """From now on the audit table refuses writes (a full disk)."""

    def refuse(**kwargs: Any) -> None:
        raise DatabaseError("audit log unavailable")

    monkeypatch.setattr(AuditEntry.objects, "create", refuse)


def status_with(secret: str) -> int:
    return Client(HTTP_AUTHORIZATION=f"Token {secret}").get("/api/v1/me/").status_code


def test_it_stores_no_token_in_plain_text_anywhere(world: World) -> None:
    user = world.user(Role.GRID_WORKER)
    issued = actions.token_obtain(user=user, via="test", name="phone")
    token = ApiToken.objects.get(pk=issued.token.pk)
    assert token.digest == token_digest(issued.secret) != issued.secret
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM accounts_apitoken")
        stored = " ".join(str(value) for row in cursor.fetchall() for value in row)
        cursor.execute("SELECT summary, detail FROM core_auditentry")
        audited = " ".join(str(value) for row in cursor.fetchall() for value in row)
    assert issued.secret not in stored
    assert issued.secret not in audited
    assert status_with(issued.secret) == 200


def test_it_refuses_an_expired_token(world: World, settings: Any) -> None:
    user = world.user(Role.GRID_WORKER)
    settings.WANGGE_API_TOKEN_DAYS = 30
    issued = actions.token_obtain(user=user, via="test", name="phone")
    assert issued.token.expires_at - timezone.now() > dt.timedelta(days=29, hours=23)
    ApiToken.objects.filter(pk=issued.token.pk).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    response = Client(HTTP_AUTHORIZATION=f"Token {issued.secret}").get("/api/v1/me/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"


def test_it_refuses_a_revoked_token_and_keeps_the_users_other_clients(world: World) -> None:
    user = world.user(Role.GRID_WORKER)
    phone = actions.token_obtain(user=user, via="test", name="phone")
    laptop = actions.token_obtain(user=user, via="test", name="laptop")
    assert actions.token_revoke(user=user, by=user, via="test", token_id=phone.token.pk) == 1
    assert status_with(phone.secret) == 401
    assert status_with(laptop.secret) == 200
    assert ApiToken.objects.get(pk=phone.token.pk).revoked_at is not None  # still listed, opens nothing


def test_it_refuses_an_unknown_or_malformed_token_with_a_challenge(world: World) -> None:
    for header in ("Token nonsense", "Token", "Token a b", "token \u00e9\u00e9"):
        response = Client(HTTP_AUTHORIZATION=header).get("/api/v1/me/")
        assert response.status_code == 401, header
        assert response["WWW-Authenticate"] == "Token"


def test_it_notes_when_a_token_was_last_used(world: World) -> None:
    user = world.user(Role.GRID_WORKER)
    secret = api_token(user)
    assert ApiToken.objects.get().last_used_at is None
    assert status_with(secret) == 200
    assert ApiToken.objects.get().last_used_at is not None


def test_it_makes_a_named_token_on_the_profile_page_and_audits_it(world: World, client_for: Any) -> None:
    user = world.user(Role.GRID_WORKER)
    old = actions.token_rotate(user=user, by=user, name="办公室电脑")
    response = client_for(Role.GRID_WORKER).post("/profile/token/", {"name": "办公室电脑"})
    assert response.status_code == 302
    assert status_with(old.secret) == 401  # the same client's earlier token is replaced
    new = ApiToken.objects.live().get(user=user)
    assert new.name == "办公室电脑"
    assert AuditEntry.objects.filter(
        actor=user, action=AuditEntry.Action.CREATE, object_type="accounts.apitoken", object_id=str(new.pk)
    ).exists()


def test_it_keeps_the_old_token_when_the_replacement_cannot_be_audited(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = world.user(Role.GRID_WORKER)
    old = api_token(user, name="phone")
    client = Client(raise_request_exception=False)
    client.force_login(user)  # signing in is audited too: do it first
    refuse_audit(monkeypatch)
    assert client.post("/profile/token/", {"name": "phone"}).status_code == 500
    assert ApiToken.objects.count() == 1
    assert status_with(old) == 200


def test_it_keeps_the_token_when_its_revocation_cannot_be_audited(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = world.user(Role.GRID_WORKER)
    token = api_token(user)
    client = Client(raise_request_exception=False, HTTP_AUTHORIZATION=f"Token {token}")
    refuse_audit(monkeypatch)
    assert client.delete("/api/v1/auth/token/").status_code == 500
    monkeypatch.undo()
    assert ApiToken.objects.get().revoked_at is None
    assert status_with(token) == 200


def test_it_issues_no_token_when_the_sign_in_cannot_be_audited(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    client = Client(raise_request_exception=False)
    refuse_audit(monkeypatch)
    response = client.post(
        "/api/v1/auth/token/", {"username": "grid_worker", "password": PASSWORD}, content_type="application/json"
    )
    assert response.status_code == 500
    assert not ApiToken.objects.exists()


def test_it_revokes_one_token_or_all_from_the_profile_page_as_the_api_does(world: World, client_for: Any) -> None:
    user = world.user(Role.GRID_WORKER)
    phone, laptop, tablet = (api_token(user, name=name) for name in ("phone", "laptop", "tablet"))
    client = client_for(Role.GRID_WORKER)
    phone_id = ApiToken.objects.get(name="phone").pk
    assert client.post("/profile/token/delete/", {"token": phone_id}).status_code == 302
    assert (status_with(phone), status_with(laptop)) == (401, 200)
    entry = AuditEntry.objects.get(actor=user, action=AuditEntry.Action.DELETE, object_type="accounts.apitoken")
    assert entry.detail["via"] == "profile"
    assert entry.detail["tokens"] == [phone_id]
    assert client.post("/profile/token/delete/").status_code == 302
    assert (status_with(laptop), status_with(tablet)) == (401, 401)
    assert client.post("/profile/token/delete/", {"token": "x1"}).status_code == 400


def test_it_cannot_revoke_another_users_token(world: World, client_for: Any) -> None:
    other = api_token(world.user(Role.COMMUNITY_STAFF))
    other_id = ApiToken.objects.get().pk
    assert client_for(Role.GRID_WORKER).post("/profile/token/delete/", {"token": other_id}).status_code == 302
    assert status_with(other) == 200
    assert not AuditEntry.objects.filter(action=AuditEntry.Action.DELETE, object_type="accounts.apitoken").exists()


def test_the_upgrade_drops_drfs_plain_text_token_table() -> None:
    """An existing database still holds DRF's keys in plain text: the migration removes them."""
    from importlib import import_module

    migration = import_module("wangge.accounts.migrations.0004_api_tokens_hashed_and_expiring")
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE authtoken_token (key varchar(40) PRIMARY KEY, user_id bigint)")
        cursor.execute("INSERT INTO authtoken_token VALUES ('0123456789abcdef0123456789abcdef01234567', 1)")
        for statement in migration.DROP_AUTHTOKEN:
            cursor.execute(statement)
    assert "authtoken_token" not in connection.introspection.table_names()
