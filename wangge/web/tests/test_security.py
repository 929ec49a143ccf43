"""A penetration tester's pass over sessions and forms: CSRF on every POST, open redirects,
sign-out, tokens kept to the API, inactive accounts, the audit log and the admin, and error
pages in the user's language.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from wangge.accounts.models import Role
from wangge.conftest import PASSWORD, World, api_token
from wangge.core.models import AuditEntry
from wangge.registry.models import CareCategory

pytestmark = pytest.mark.django_db

EVIL = "https://evil.example.com/phish"


def csrf_client(world: World, role: str) -> Client:
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.user(role))
    return client


def post_forms(world: World) -> list[tuple[str, str, dict[str, Any]]]:
    mine = world.residents["a1_1_head"]
    category = CareCategory.objects.first()
    assert category is not None
    return [
        (Role.GRID_WORKER, reverse("registry:resident_event", args=[mine.pk, "death"]), {"date": "2024-05-01"}),
        (Role.GRID_WORKER, reverse("registry:resident_event", args=[mine.pk, "move_out"]), {"date": "2024-05-01"}),
        (Role.GRID_WORKER, reverse("registry:care_tag_add", args=[mine.pk]), {"category": category.pk}),
        (Role.GRID_WORKER, reverse("registry:care_tag_remove", args=[mine.pk, category.code]), {}),
        (Role.GRID_WORKER, reverse("registry:household_register", args=[mine.household_id]), {"name": "某人"}),
        (Role.GRID_WORKER, reverse("registry:household_move_in", args=[mine.household_id]), {"id_number": "1"}),
        (Role.GRID_WORKER, reverse("registry:household_add", args=[world.buildings["grid_a1_1"].pk]), {"room": "9"}),
        (Role.GRID_WORKER, reverse("profile") + "token/", {}),
        (Role.GRID_WORKER, reverse("token_delete"), {}),
        (Role.GRID_WORKER, reverse("logout"), {}),
        (Role.GRID_WORKER, reverse("set_language"), {"language": "en"}),
        (Role.COMMUNITY_STAFF, reverse("registry:import"), {}),
        (Role.DISTRICT_ADMIN, "/api/v1/residents/", {"household": mine.household_id}),
        (Role.DISTRICT_ADMIN, "/api/v1/auth/token/", {"username": "x", "password": "y"}),
    ]


def test_it_refuses_every_post_form_without_a_csrf_token(world: World) -> None:
    attempts = [(csrf_client(world, role), url, data) for role, url, data in post_forms(world)]
    before = AuditEntry.objects.count()
    for client, url, data in attempts:
        response = client.post(url, data)
        assert response.status_code == 403, (url, response.status_code)
    assert AuditEntry.objects.count() == before


def test_it_puts_a_csrf_token_in_every_post_form_on_the_pages(world: World, client_for: Any) -> None:
    mine = world.residents["a1_1_head"]
    client = client_for(Role.GRID_WORKER)
    for url in (
        reverse("registry:resident", args=[mine.pk]),
        reverse("registry:household", args=[mine.household_id]),
        reverse("registry:building", args=[world.buildings["grid_a1_1"].pk]),
        reverse("profile"),
        reverse("home"),
    ):
        body = client.get(url).content.decode()
        forms = body.split("<form")[1:]
        for form in forms:
            head = form.split(">", 1)[0]
            if 'method="post"' in head:
                assert "csrfmiddlewaretoken" in form.split("</form>")[0], (url, head)


# --- redirects and signing in and out ---------------------------------------------------------


@pytest.mark.parametrize("target", [EVIL, "//evil.example.com/", "/\\evil.example.com", "https:evil.example.com"])
def test_it_never_redirects_off_site_after_sign_in(world: World, target: str) -> None:
    response = Client().post(
        reverse("login") + "?next=" + target, {"username": Role.GRID_WORKER, "password": PASSWORD, "next": target}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("home")


@pytest.mark.parametrize("target", [EVIL, "//evil.example.com/"])
def test_it_never_redirects_off_site_after_sign_out_or_a_language_switch(
    world: World, client_for: Any, target: str
) -> None:
    client = client_for(Role.GRID_WORKER)
    response = client.post(reverse("set_language"), {"language": "en", "next": target})
    assert "evil" not in response.get("Location", "")
    response = client.post(reverse("logout"), {"next": target})
    assert "evil" not in response.get("Location", "")


def test_it_signs_out_only_on_post(world: World, client_for: Any) -> None:
    client = client_for(Role.GRID_WORKER)
    assert client.get(reverse("logout")).status_code == 405
    assert client.get(reverse("home")).status_code == 200
    client.post(reverse("logout"))
    assert client.get(reverse("home")).status_code == 302


def test_it_lets_a_token_open_the_api_but_not_the_pages(world: World) -> None:
    token = api_token(world.user(Role.GRID_WORKER))
    client = Client(HTTP_AUTHORIZATION=f"Token {token}")
    assert client.get("/api/v1/me/").status_code == 200
    response = client.get(reverse("registry:resident", args=[world.residents["a1_1_head"].pk]))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_it_refuses_an_inactive_account_everywhere(world: World) -> None:
    user = world.user(Role.GRID_WORKER)
    token = api_token(user)
    session = Client()
    session.force_login(user)
    user.is_active = False
    user.save(update_fields=["is_active"])
    assert session.get(reverse("home")).status_code == 302
    # Token authentication comes first, so DRF challenges both: 401 with WWW-Authenticate: Token.
    assert session.get("/api/v1/residents/").status_code == 401
    refused = Client(HTTP_AUTHORIZATION=f"Token {token}").get("/api/v1/residents/")
    assert refused.status_code == 401
    assert refused["WWW-Authenticate"] == "Token"
    response = Client().post(reverse("login"), {"username": user.username, "password": PASSWORD})
    assert response.status_code == 200  # the form again, not a redirect home
    assert Client().post("/api/v1/auth/token/", {"username": user.username, "password": PASSWORD}).status_code == 400


def test_it_keeps_the_session_cookie_away_from_scripts(world: World) -> None:
    response = Client().post(reverse("login"), {"username": Role.GRID_WORKER, "password": PASSWORD})
    assert response.cookies["sessionid"]["httponly"]
    assert response.cookies["sessionid"]["samesite"] == "Lax"


def test_it_forbids_framing_the_pages(world: World, client_for: Any) -> None:
    assert client_for(Role.GRID_WORKER).get(reverse("home"))["X-Frame-Options"] == "DENY"


# --- the audit log ----------------------------------------------------------------------------


@pytest.mark.parametrize("role", [r for r in Role if r not in (Role.AUDITOR, Role.DISTRICT_ADMIN)])
def test_it_hides_the_audit_log_from_everyone_but_auditors_and_district_admins(
    world: World, client_for: Any, role: Role
) -> None:
    assert client_for(role).get(reverse("audit_log")).status_code == 404


def test_it_keeps_the_audit_log_append_only_in_the_admin(world: World, client_for: Any) -> None:
    client = client_for(Role.GRID_WORKER)
    client.get(reverse("registry:resident", args=[world.residents["a1_1_head"].pk]))
    entry = AuditEntry.objects.get(action=AuditEntry.Action.VIEW)
    admin = client_for(Role.DISTRICT_ADMIN)
    change = reverse("admin:core_auditentry_change", args=[entry.pk])
    delete = reverse("admin:core_auditentry_delete", args=[entry.pk])
    assert admin.post(change, {"summary": "nothing happened"}).status_code == 403
    assert admin.post(delete, {"post": "yes"}).status_code == 403
    changelist = reverse("admin:core_auditentry_changelist")
    admin.post(changelist, {"action": "delete_selected", "_selected_action": [entry.pk], "post": "yes"})
    assert admin.get(reverse("admin:core_auditentry_add")).status_code == 403
    entry.refresh_from_db()
    assert entry.summary != "nothing happened"
    assert AuditEntry.objects.filter(pk=entry.pk).exists()


def test_it_refuses_to_change_or_delete_an_entry_in_code(world: World, client_for: Any) -> None:
    client_for(Role.GRID_WORKER).get(reverse("registry:resident", args=[world.residents["a1_1_head"].pk]))
    entry = AuditEntry.objects.get(action=AuditEntry.Action.VIEW)
    entry.summary = "rewritten"
    with pytest.raises(ValueError):
        entry.save()
    with pytest.raises(ValueError):
        entry.delete()


@pytest.mark.parametrize("url", ["/api/v1/audit/", "/api/v1/audit-log/", "/api/v1/auditentries/"])
def test_it_has_no_api_to_rewrite_the_log(world: World, client_for: Any, url: str) -> None:
    assert client_for(Role.DISTRICT_ADMIN).delete(url).status_code == 404


@pytest.mark.parametrize("role", [r for r in Role if r != Role.DISTRICT_ADMIN])
def test_it_keeps_everyone_but_district_admins_out_of_the_admin(world: World, role: Role) -> None:
    user = world.user(role)
    user.is_staff = True  # even a staff flag set by mistake does not open it
    user.save(update_fields=["is_staff"])
    client = Client()
    client.force_login(user)
    for url in ("/admin/", "/admin/registry/resident/", "/admin/core/auditentry/", "/admin/accounts/user/"):
        response = client.get(url)
        assert response.status_code == 302, (url, response.status_code)
        assert response["Location"].startswith("/admin/login/")


# --- errors in the user's language --------------------------------------------------------


def test_it_says_not_found_in_chinese_by_default_and_in_english_when_chosen(world: World, client_for: Any) -> None:
    client = client_for(Role.GRID_WORKER)
    url = reverse("registry:resident", args=[world.residents["a1_2_head"].pk])
    chinese = client.get(url)
    assert chinese.status_code == 404
    assert "Not Found" not in chinese.content.decode()
    assert "找不到" in chinese.content.decode()
    client.cookies["django_language"] = "en"
    english = client.get(url)
    assert english.status_code == 404
    assert "not found" in english.content.decode().lower()
    assert "找不到" not in english.content.decode()


def test_it_answers_api_errors_in_the_clients_language(world: World) -> None:
    token = api_token(world.user(Role.GRID_WORKER))
    headers = {"HTTP_AUTHORIZATION": f"Token {token}"}
    other = world.residents["a1_2_head"].pk
    chinese = Client(**headers).get(f"/api/v1/residents/{other}/")
    english = Client(**headers, HTTP_ACCEPT_LANGUAGE="en").get(f"/api/v1/residents/{other}/")
    assert chinese.status_code == english.status_code == 404
    assert chinese.json()["detail"] == "未找到。"
    assert english.json()["detail"] == "Not found."
    anonymous = Client(HTTP_ACCEPT_LANGUAGE="en").get("/api/v1/residents/")
    assert anonymous.status_code == 401
    assert anonymous["WWW-Authenticate"] == "Token"
    assert anonymous.json()["detail"].startswith("Authentication credentials")
    bad = Client(**headers, HTTP_ACCEPT_LANGUAGE="en").patch(
        f"/api/v1/residents/{world.residents['a1_1_head'].pk}/", {}, content_type="application/json"
    )
    assert bad.status_code == 400
    assert "没有" not in bad.content.decode()
    forbidden = Client(**headers, HTTP_ACCEPT_LANGUAGE="en").get("/api/v1/residents/export/")
    assert forbidden.status_code == 200
    denied = Client(HTTP_ACCEPT_LANGUAGE="en")
    denied.force_login(world.user(Role.DEPARTMENT))
    response = denied.get("/api/v1/residents/export/", HTTP_ACCEPT="application/json")
    assert response.status_code == 403
    assert response.json()["detail"] == "You may not export residents' details."


def test_it_shows_a_server_error_in_the_users_language(
    world: World, client_for: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from wangge.registry import summary

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("boom")

    monkeypatch.setattr(summary, "area_totals", broken)
    client = client_for(Role.GRID_WORKER)
    client.raise_request_exception = False
    response = client.get(reverse("home"))
    assert response.status_code == 500
    assert "服务器出错" in response.content.decode()
    client.cookies["django_language"] = "en"
    assert "Server error" in client.get(reverse("home")).content.decode()


@pytest.mark.parametrize("url", ["/api/v1/docs/", "/api/v1/redoc/"])
def test_it_serves_the_api_docs_without_scripts_from_another_site(world: World, client_for: Any, url: str) -> None:
    """A district's intranet may have no internet, and a CDN's "latest" script would run with the session."""
    response = client_for(Role.GRID_WORKER).get(url)
    assert response.status_code == 200
    body = response.content.decode()
    sources = re.findall(r'(?:src|href)="([^"]+)"', body)
    assert sources, body[:300]
    assert all(not s.startswith(("http:", "https:", "//")) for s in sources), sources


def test_it_shows_no_api_token_in_the_admin_even_to_a_superuser(world: World) -> None:
    """A token is a password for the API: listing them would let an administrator act as anyone, unlogged."""
    token = api_token(world.user(Role.GRID_WORKER))
    admin_user = world.user(Role.DISTRICT_ADMIN)
    admin_user.is_superuser = True
    admin_user.save(update_fields=["is_superuser"])
    client = Client()
    client.force_login(admin_user)
    assert token not in client.get("/admin/").content.decode()
    assert client.get("/admin/accounts/apitoken/").status_code == 404
    assert client.get("/admin/authtoken/tokenproxy/").status_code == 404


def test_it_audits_a_resident_search_in_the_admin(world: World, client_for: Any) -> None:
    client = client_for(Role.DISTRICT_ADMIN)
    response = client.get("/admin/registry/resident/", {"q": "王建国"})
    assert response.status_code == 200
    assert "王建国" in response.content.decode()
    entry = AuditEntry.objects.get(action=AuditEntry.Action.SEARCH)
    assert entry.actor == world.user(Role.DISTRICT_ADMIN)
    assert entry.detail["via"] == "admin"
    client.get("/admin/registry/resident/")  # a plain list is not a search
    assert AuditEntry.objects.filter(action=AuditEntry.Action.SEARCH).count() == 1
