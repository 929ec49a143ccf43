"""The client address behind a reverse proxy: one derivation, used by the sign-in lock, the
API throttles and the audit log."""

from __future__ import annotations

import pytest
from django.test import Client, override_settings

from wangge.accounts.models import Role
from wangge.conftest import PASSWORD, World
from wangge.core.middleware import derive_client_ip
from wangge.core.models import AuditEntry

PROXY = "127.0.0.1"


def sign_in(username: str, password: str, *, peer: str, forwarded_for: str | None = None) -> int:
    extra = {"REMOTE_ADDR": peer}
    if forwarded_for is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded_for
    response = Client().post("/login/", {"username": username, "password": password}, **extra)
    return 302 if response.status_code == 302 else response.status_code


def test_it_walks_the_forwarded_chain_from_the_right_skipping_trusted_proxies() -> None:
    trusted = ("127.0.0.1", "10.0.0.0/8")
    assert derive_client_ip(peer="127.0.0.1", forwarded_for="6.6.6.6, 198.51.100.7, 10.1.2.3", trusted=trusted) == (
        "198.51.100.7"
    )
    assert derive_client_ip(peer="203.0.113.5", forwarded_for="198.51.100.7", trusted=trusted) == "203.0.113.5"
    assert derive_client_ip(peer="127.0.0.1", forwarded_for="not-an-ip", trusted=trusted) == "127.0.0.1"
    assert derive_client_ip(peer="127.0.0.1", forwarded_for=None, trusted=trusted) == "127.0.0.1"


@override_settings(WANGGE_TRUSTED_PROXIES=[])
def test_it_ignores_a_forwarded_for_header_from_an_untrusted_peer(world: World) -> None:
    username = str(Role.GRID_WORKER)
    for attempt in range(5):
        sign_in(username, "wrong", peer="203.0.113.9", forwarded_for=f"198.51.100.{attempt}")
    # Rotating the header changed nothing: the pair (user, 203.0.113.9) is locked.
    assert sign_in(username, PASSWORD, peer="203.0.113.9", forwarded_for="198.51.100.200") == 429
    assert sign_in(username, PASSWORD, peer="203.0.113.10") == 302


@override_settings(WANGGE_TRUSTED_PROXIES=[PROXY])
def test_it_locks_each_client_behind_a_trusted_proxy_separately(world: World) -> None:
    username = str(Role.GRID_WORKER)
    for _attempt in range(5):
        sign_in(username, "wrong", peer=PROXY, forwarded_for="198.51.100.1")
    assert sign_in(username, PASSWORD, peer=PROXY, forwarded_for="198.51.100.1") == 429
    assert sign_in(username, PASSWORD, peer=PROXY, forwarded_for="198.51.100.2") == 302


@override_settings(WANGGE_TRUSTED_PROXIES=[PROXY])
def test_it_writes_the_client_address_into_the_audit_log(world: World) -> None:
    assert sign_in(str(Role.GRID_WORKER), PASSWORD, peer=PROXY, forwarded_for="6.6.6.6, 198.51.100.44") == 302
    assert AuditEntry.objects.filter(action=AuditEntry.Action.LOGIN).latest("id").ip == "198.51.100.44"


def token(client: Client, *, peer: str, forwarded_for: str) -> int:
    response = client.post(
        "/api/v1/auth/token/",
        {"username": "nobody", "password": "wrong"},
        REMOTE_ADDR=peer,
        HTTP_X_FORWARDED_FOR=forwarded_for,
    )
    return response.status_code


@pytest.mark.django_db
@override_settings(WANGGE_TRUSTED_PROXIES=[])
def test_a_rotating_forwarded_for_header_does_not_escape_the_api_throttle() -> None:
    client = Client()
    codes = [token(client, peer="203.0.113.9", forwarded_for=f"198.51.100.{n}") for n in range(25)]
    assert 429 in codes
