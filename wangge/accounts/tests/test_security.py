"""Password guessing: repeated failed sign-ins for one username from one address lock that pair
out for a while, on every door that checks a password (the login page, the admin's login and
the API token endpoint), even when the next guess is right.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from wangge.accounts import throttle
from wangge.accounts.models import Role
from wangge.conftest import PASSWORD, World, api_token
from wangge.core.models import AuditEntry

pytestmark = pytest.mark.django_db

ATTACKER = "203.0.113.7"


def fail(client: Client, username: str, times: int, ip: str = ATTACKER) -> None:
    """Fail to sign in ``times`` times, starting from no recorded failures for the pair."""
    for attempt in range(1, times + 1):
        response = client.post(reverse("login"), {"username": username, "password": "guess"}, REMOTE_ADDR=ip)
        # The form answers each failure; the one that reaches the limit is already told it is locked.
        assert response.status_code == (429 if attempt >= throttle.MAX_FAILURES else 200), attempt


def sign_in(client: Client, username: str, ip: str = ATTACKER) -> Any:
    return client.post(reverse("login"), {"username": username, "password": PASSWORD}, REMOTE_ADDR=ip)


def test_it_still_lets_a_user_in_after_a_few_typos(world: World) -> None:
    client = Client()
    fail(client, Role.GRID_WORKER, throttle.MAX_FAILURES - 1)
    assert sign_in(client, Role.GRID_WORKER).status_code == 302


def test_it_locks_out_a_username_and_address_after_repeated_failures_even_with_the_right_password(
    world: World,
) -> None:
    client = Client()
    fail(client, Role.GRID_WORKER, throttle.MAX_FAILURES)
    response = sign_in(client, Role.GRID_WORKER)
    assert response.status_code == 429
    assert "登录失败次数过多" in response.content.decode()
    assert client.get(reverse("home")).status_code == 302  # not signed in


def test_it_tells_a_locked_out_user_in_english_when_they_chose_it(world: World) -> None:
    client = Client()
    client.cookies["django_language"] = "en"
    fail(client, Role.GRID_WORKER, throttle.MAX_FAILURES)
    assert "Too many failed sign-ins" in sign_in(client, Role.GRID_WORKER).content.decode()


def test_it_counts_usernames_regardless_of_case(world: World) -> None:
    client = Client()
    fail(client, Role.GRID_WORKER.upper(), throttle.MAX_FAILURES)
    assert sign_in(client, Role.GRID_WORKER).status_code == 429


def test_it_does_not_lock_the_same_user_out_from_another_address(world: World) -> None:
    fail(Client(), Role.GRID_WORKER, throttle.MAX_FAILURES)
    assert sign_in(Client(), Role.GRID_WORKER, ip="198.51.100.20").status_code == 302


def test_it_does_not_lock_another_user_out_from_the_same_address(world: World) -> None:
    fail(Client(), Role.GRID_WORKER, throttle.MAX_FAILURES)
    assert sign_in(Client(), Role.COMMUNITY_STAFF).status_code == 302


def test_it_forgets_the_failures_after_a_successful_sign_in(world: World) -> None:
    client = Client()
    fail(client, Role.GRID_WORKER, throttle.MAX_FAILURES - 1)
    assert sign_in(client, Role.GRID_WORKER).status_code == 302
    client.post(reverse("logout"))
    fail(client, Role.GRID_WORKER, throttle.MAX_FAILURES - 1)
    assert sign_in(client, Role.GRID_WORKER).status_code == 302


def test_it_slows_down_password_spraying_from_one_address(world: World) -> None:
    client = Client()
    for index in range(throttle.MAX_FAILURES_PER_ADDRESS):
        client.post(reverse("login"), {"username": f"nobody{index}", "password": "guess"}, REMOTE_ADDR=ATTACKER)
    assert sign_in(client, Role.COMMUNITY_STAFF).status_code == 429


def test_it_locks_the_api_token_endpoint_and_the_admin_login_too(world: World) -> None:
    fail(Client(), Role.DISTRICT_ADMIN, throttle.MAX_FAILURES)
    api = Client().post(
        "/api/v1/auth/token/", {"username": Role.DISTRICT_ADMIN, "password": PASSWORD}, REMOTE_ADDR=ATTACKER
    )
    assert api.status_code == 400
    assert "token" not in api.json()
    admin = Client()
    response = admin.post(
        reverse("admin:login"), {"username": Role.DISTRICT_ADMIN, "password": PASSWORD}, REMOTE_ADDR=ATTACKER
    )
    assert response.status_code == 200  # the form again
    assert admin.get("/admin/").status_code == 302


def test_it_counts_failures_on_the_api_token_endpoint(world: World) -> None:
    client = Client()
    for _ in range(throttle.MAX_FAILURES):
        client.post("/api/v1/auth/token/", {"username": Role.GRID_WORKER, "password": "guess"}, REMOTE_ADDR=ATTACKER)
    assert sign_in(Client(), Role.GRID_WORKER).status_code == 429


def test_it_audits_refused_sign_ins_while_locked(world: World) -> None:
    client = Client()
    fail(client, Role.GRID_WORKER, throttle.MAX_FAILURES)
    before = AuditEntry.objects.filter(action=AuditEntry.Action.LOGIN).count()
    sign_in(client, Role.GRID_WORKER)
    assert AuditEntry.objects.filter(action=AuditEntry.Action.LOGIN).count() == before + 1


def test_it_lets_the_user_in_again_when_the_lock_expires(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    client = Client()
    fail(client, Role.GRID_WORKER, throttle.MAX_FAILURES)
    assert sign_in(client, Role.GRID_WORKER).status_code == 429
    later = time.time() + throttle.LOCK_SECONDS + 1
    monkeypatch.setattr(time, "time", lambda: later)
    assert sign_in(client, Role.GRID_WORKER).status_code == 302


def test_it_counts_failures_across_server_processes(world: World, settings: Any) -> None:
    """gunicorn runs several worker processes; a guesser must not get the allowance once per worker."""
    import os
    import subprocess
    import sys

    fail(Client(), Role.GRID_WORKER, throttle.MAX_FAILURES - 1)
    pair_key = throttle._keys(str(Role.GRID_WORKER), ATTACKER)[0]
    script = f"import django; django.setup(); from django.core.cache import cache; print(cache.get({pair_key!r}))"
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "wangge.settings", "WANGGE_DATA_DIR": str(settings.DATA_DIR)}
    other_process = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120)
    assert other_process.stdout.strip() == str(throttle.MAX_FAILURES - 1), other_process.stderr[-500:]


def test_it_audits_revoking_a_token_through_the_api(world: World) -> None:
    user = world.user(Role.GRID_WORKER)
    token = api_token(user)
    other_client = api_token(user, name="phone")
    response = Client(HTTP_AUTHORIZATION=f"Token {token}").delete("/api/v1/auth/token/")
    assert response.status_code == 204
    assert Client(HTTP_AUTHORIZATION=f"Token {token}").get("/api/v1/me/").status_code == 401
    assert Client(HTTP_AUTHORIZATION=f"Token {other_client}").get("/api/v1/me/").status_code == 200
    assert AuditEntry.objects.filter(
        actor=user, action=AuditEntry.Action.DELETE, object_type="accounts.apitoken"
    ).exists()


def test_it_audits_area_assignments_changed_in_the_admin(world: World) -> None:
    """Assigning an area widens what an account sees: the log must say which areas, not only "user saved"."""
    worker = world.user(Role.GRID_WORKER)
    assignment = worker.assignments.get()
    admin = Client()
    admin.force_login(world.user(Role.DISTRICT_ADMIN))
    url = reverse("admin:accounts_user_change", args=[worker.pk])
    form = {
        "username": worker.username,
        "full_name": worker.full_name,
        "phone": "",
        "email": "",
        "role": worker.role,
        "is_active": "on",
        "date_joined_0": "2024-01-01",
        "date_joined_1": "00:00:00",
        "assignments-TOTAL_FORMS": "2",
        "assignments-INITIAL_FORMS": "1",
        "assignments-MIN_NUM_FORMS": "0",
        "assignments-MAX_NUM_FORMS": "1000",
        "assignments-0-id": str(assignment.pk),
        "assignments-0-user": str(worker.pk),
        "assignments-0-area": str(assignment.area_id),
        "assignments-1-user": str(worker.pk),
        "assignments-1-area": str(world.areas["grid_a1_2"].pk),
    }
    response = admin.post(url, form)
    assert response.status_code == 302, response.content.decode()[-3000:]
    assert worker.assignments.count() == 2
    entries = AuditEntry.objects.filter(object_type="accounts.areaassignment")
    assert entries.count() == 1
    entry = entries.get()
    assert entry.actor == world.user(Role.DISTRICT_ADMIN)
    assert world.areas["grid_a1_2"].name in entry.summary
    assert worker.username in entry.summary
