"""Response headers: the Content-Security-Policy, no caching of personal data, closed API docs,
and the one switch for HTTPS."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.test import Client, override_settings

from wangge.accounts.models import Role
from wangge.conftest import World

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.django_db
def test_every_page_carries_a_policy_that_allows_no_inline_script() -> None:
    policy = Client().get("/login/")["Content-Security-Policy"]
    script_src = re.search(r"script-src ([^;]*)", policy)
    assert script_src is not None
    assert script_src.group(1).strip() == "'self'"
    assert "frame-ancestors 'none'" in policy and "object-src 'none'" in policy


def test_no_template_has_an_inline_script_or_event_handler() -> None:
    offenders = []
    for template in ROOT.rglob("templates/**/*.html"):
        text = template.read_text(encoding="utf-8")
        for match in re.finditer(r"<script\b([^>]*)>", text):
            if "src=" not in match.group(1):
                offenders.append(f"{template.relative_to(ROOT)}: inline <script>")
        if re.search(r"\son[a-z]+\s*=\s*[\"']", text):
            offenders.append(f"{template.relative_to(ROOT)}: on… event handler attribute")
    assert offenders == []


def test_it_keeps_personal_pages_and_api_answers_out_of_caches(world: World, client_for: Any) -> None:
    client = client_for(Role.GRID_WORKER)
    resident = world.residents["a1_1_head"]
    assert client.get(f"/residents/{resident.pk}/")["Cache-Control"] == "no-store"
    assert client.get(f"/api/v1/residents/{resident.pk}/")["Cache-Control"] == "no-store"
    assert Client().get("/api/v1/me/")["Cache-Control"] == "no-store"


def test_it_keeps_the_api_schema_and_docs_behind_a_login(world: World, client_for: Any) -> None:
    anonymous = Client()
    assert anonymous.get("/api/v1/schema/").status_code in (401, 403)
    for page in ("/api/v1/docs/", "/api/v1/redoc/"):
        response = anonymous.get(page)
        assert response.status_code == 302 and "/login/" in response["Location"]
    signed_in = client_for(Role.GRID_WORKER)
    assert signed_in.get("/api/v1/schema/").status_code == 200
    assert signed_in.get("/api/v1/docs/").status_code == 200


@override_settings(WANGGE_PUBLIC_API_DOCS=True)
@pytest.mark.django_db
def test_it_opens_the_api_docs_when_told_to() -> None:
    anonymous = Client()
    assert anonymous.get("/api/v1/schema/").status_code == 200
    assert anonymous.get("/api/v1/docs/").status_code == 200
    script = anonymous.get("/api/v1/docs/?script=")
    assert script.status_code == 200 and "SwaggerUIBundle" in script.content.decode()


def settings_under(env: dict[str, str], tmp_path: Path, *names: str) -> list[str]:
    code = "import django,os;django.setup();from django.conf import settings as s;" + ";".join(
        f"print(repr(s.{name}))" for name in names
    )
    environment = {**os.environ, "DJANGO_SETTINGS_MODULE": "wangge.settings", "WANGGE_DATA_DIR": str(tmp_path), **env}
    environment.pop("SECURE_COOKIES", None)
    result = subprocess.run([sys.executable, "-c", code], env=environment, capture_output=True, text=True, check=True)
    return result.stdout.split()


def test_one_setting_turns_on_secure_cookies_hsts_and_the_https_redirect(tmp_path: Path) -> None:
    names = ("SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE", "SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS")
    assert settings_under({"WANGGE_HTTPS": "true"}, tmp_path, *names) == ["True", "True", "True", "31536000"]
    assert settings_under({"WANGGE_HTTPS": "false"}, tmp_path, *names) == ["False", "False", "False", "0"]


@override_settings(SECURE_SSL_REDIRECT=True, SECURE_HSTS_SECONDS=31536000)
@pytest.mark.django_db
def test_behind_https_it_redirects_plain_http_but_not_the_health_probe() -> None:
    client = Client()
    response = client.get("/login/")
    assert response.status_code == 301 and response["Location"].startswith("https://")
    assert client.get("/login/", secure=True)["Strict-Transport-Security"].startswith("max-age=31536000")
    assert client.get("/healthz").status_code == 200


@pytest.mark.django_db
def test_a_nul_in_a_filter_is_a_translated_400_not_a_database_error(world: World, client_for: Any) -> None:
    # The API fuzz test found register=…%00… on the special-group listings a 500 on PostgreSQL.
    district = client_for(Role.DISTRICT_ADMIN)
    api = district.get("/api/v1/group-listings/?register=a%00b&purpose=follow_up")
    assert api.status_code == 400
    assert "NUL" in api.json()["detail"]
    district.post("/i18n/setlang/", {"language": "en", "next": "/"})
    page = district.get("/cases/?q=%00")
    assert page.status_code == 400
    assert "NUL character" in page.content.decode()
    assert district.get("/api/v1/group-listings/?register=ab&purpose=follow_up").status_code == 200
