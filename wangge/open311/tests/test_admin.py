"""A district administrator issues client apps their keys and rotates their webhook secrets in
the admin: shown once, stored as the command stores them, audited."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.db import DatabaseError
from django.test import Client

from wangge.accounts.models import Role
from wangge.conftest import World, grid_lon
from wangge.core.models import AuditEntry
from wangge.open311 import actions
from wangge.open311.models import ClientApp

ADD = "/admin/open311/clientapp/add/"
LIST = "/admin/open311/clientapp/"


def _shown(page: str) -> list[str]:
    return re.findall(r'<code class="wangge-secret"[^>]*>([^<]+)</code>', page)


def _post_report(key: str, world: World) -> int:
    fields = {"api_key": key, "service_code": "facilities", "description": "灯"}
    fields |= {"lat": "41.12", "long": str(grid_lon(world.areas["grid_a1_1"]))}
    return Client().post("/open311/v2/requests.json", fields).status_code


def test_it_issues_a_key_in_the_admin_shown_once_and_stored_hashed(world: World, client_for: Any) -> None:
    admin = client_for(Role.DISTRICT_ADMIN)
    response = admin.post(ADD, {"name": "街道随手拍", "webhook_url": "https://app.example.cn/hook", "per_minute": 60})
    assert response.status_code == 200
    shown = _shown(response.content.decode())
    assert len(shown) == 2
    key, secret = shown
    app = ClientApp.objects.get(name="街道随手拍")
    assert app.key_hash == actions.key_digest(key) and app.key_prefix == key[:8] and key not in app.key_hash
    assert app.webhook_secret == secret and app.per_minute == 60
    entry = AuditEntry.objects.get(object_type="open311.clientapp", object_id=str(app.pk))
    assert entry.actor == world.user(Role.DISTRICT_ADMIN) and key not in entry.summary + str(entry.detail)
    # Never again: neither the change page nor the list shows the key or the secret.
    for url in (LIST, f"{LIST}{app.pk}/change/"):
        page = admin.get(url).content.decode()
        assert key not in page and secret not in page
    assert _post_report(key, world) == 200


def test_it_refuses_a_duplicate_or_blank_name_with_a_clear_error(world: World, client_for: Any) -> None:
    actions.client_app_create(name="FixMyLishan")
    admin = client_for(Role.DISTRICT_ADMIN)
    for name in ("FixMyLishan", "   "):
        response = admin.post(ADD, {"name": name, "per_minute": 600})
        assert response.status_code == 200 and not _shown(response.content.decode())
        assert "errorlist" in response.content.decode()
    assert ClientApp.objects.count() == 1


def test_it_rotates_a_webhook_secret_shown_once_and_audited(world: World, client_for: Any) -> None:
    app, key = actions.client_app_create(name="FixMyLishan", webhook_url="https://fix.example.cn/hook")
    old = app.webhook_secret
    admin = client_for(Role.DISTRICT_ADMIN)
    response = admin.post(LIST, {"action": "rotate_secret", "_selected_action": [app.pk]})
    assert response.status_code == 200
    (secret,) = _shown(response.content.decode())
    app.refresh_from_db()
    assert app.webhook_secret == secret != old
    assert actions.webhook_secret_of(str(app.pk)) == secret
    by_admin = AuditEntry.objects.filter(object_type="open311.clientapp", object_id=str(app.pk), actor__isnull=False)
    assert [entry.actor for entry in by_admin] == [world.user(Role.DISTRICT_ADMIN)]  # the rotation
    assert _post_report(key, world) == 200  # the key itself is untouched


def test_unticking_active_revokes_the_key(world: World, client_for: Any) -> None:
    app, key = actions.client_app_create(name="FixMyLishan")
    assert _post_report(key, world) == 200
    admin = client_for(Role.DISTRICT_ADMIN)
    form = {"name": app.name, "per_minute": 600, "webhook_url": ""}  # "active" unticked
    assert admin.post(f"{LIST}{app.pk}/change/", form).status_code == 302
    app.refresh_from_db()
    assert not app.active and app.revoked_at is not None
    assert _post_report(key, world) == 403


@pytest.mark.parametrize("role", [Role.GRID_WORKER, Role.COMMUNITY_STAFF])
def test_only_a_district_administrator_may_issue_keys(world: World, client_for: Any, role: str) -> None:
    response = client_for(role).post(ADD, {"name": "Sneaky", "per_minute": 600})
    assert response.status_code in (302, 403)
    assert not ClientApp.objects.exists()


def test_a_key_issued_in_the_admin_is_rolled_back_when_the_audit_fails(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(**kwargs: Any) -> None:
        raise DatabaseError("audit log unavailable")

    admin = Client(raise_request_exception=False)
    admin.force_login(world.user(Role.DISTRICT_ADMIN))
    monkeypatch.setattr(AuditEntry.objects, "create", refuse)
    response = admin.post(ADD, {"name": "街道随手拍", "per_minute": 600})
    assert response.status_code == 500
    assert not ClientApp.objects.exists()
