"""API tokens through the profile page and the token endpoint: one set of actions behind both."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import DatabaseError
from django.test import Client
from rest_framework.authtoken.models import Token

from wangge.accounts.models import Role
from wangge.conftest import PASSWORD, World
from wangge.core.models import AuditEntry

pytestmark = pytest.mark.django_db


def refuse_audit(monkeypatch: pytest.MonkeyPatch) -> None:
    """From now on the audit table refuses writes (a full disk)."""

    def refuse(**kwargs: Any) -> None:
        raise DatabaseError("audit log unavailable")

    monkeypatch.setattr(AuditEntry.objects, "create", refuse)


def test_it_replaces_the_token_from_the_profile_page_and_audits_it(world: World, client_for: Any) -> None:
    user = world.user(Role.GRID_WORKER)
    old = Token.objects.create(user=user)
    response = client_for(Role.GRID_WORKER).post("/profile/token/")
    assert response.status_code == 302
    new = Token.objects.get(user=user)
    assert new.key != old.key
    assert AuditEntry.objects.filter(
        actor=user, action=AuditEntry.Action.CREATE, object_type="authtoken.token"
    ).exists()


def test_it_keeps_the_old_token_when_the_replacement_cannot_be_audited(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = world.user(Role.GRID_WORKER)
    old = Token.objects.create(user=user)
    client = Client(raise_request_exception=False)
    client.force_login(user)  # signing in is audited too: do it first
    refuse_audit(monkeypatch)
    assert client.post("/profile/token/").status_code == 500
    assert Token.objects.get(user=user).key == old.key


def test_it_keeps_the_token_when_its_revocation_cannot_be_audited(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = world.user(Role.GRID_WORKER)
    token = Token.objects.create(user=user)
    client = Client(raise_request_exception=False, HTTP_AUTHORIZATION=f"Token {token.key}")
    refuse_audit(monkeypatch)
    assert client.delete("/api/v1/auth/token/").status_code == 500
    assert Token.objects.filter(key=token.key).exists()


def test_it_issues_no_token_when_the_sign_in_cannot_be_audited(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    client = Client(raise_request_exception=False)
    refuse_audit(monkeypatch)
    response = client.post(
        "/api/v1/auth/token/", {"username": "grid_worker", "password": PASSWORD}, content_type="application/json"
    )
    assert response.status_code == 500
    assert not Token.objects.exists()


def test_it_revokes_the_token_from_the_profile_page_as_the_api_does(world: World, client_for: Any) -> None:
    user = world.user(Role.GRID_WORKER)
    Token.objects.create(user=user)
    assert client_for(Role.GRID_WORKER).post("/profile/token/delete/").status_code == 302
    assert not Token.objects.filter(user=user).exists()
    entry = AuditEntry.objects.get(actor=user, action=AuditEntry.Action.DELETE, object_type="authtoken.token")
    assert entry.detail["via"] == "profile"
