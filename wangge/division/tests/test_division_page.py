"""The division page says why the apply button is missing, to whoever may preview only."""

from __future__ import annotations

from django.test import Client

from wangge.accounts import policy
from wangge.conftest import World


def _page(world: World, role: str) -> str:
    client = Client()
    client.force_login(world.user(role))
    response = client.get(f"/areas/{world.areas['community_a1'].pk}/division/")
    assert response.status_code == 200
    return response.content.decode()


def test_a_community_administrator_is_told_why_they_cannot_apply(world: World) -> None:
    html = _page(world, "community_staff")
    assert 'id="apply-refused"' in html and "须由街道或区级工作人员操作" in html
    assert "division/apply/" not in html


def test_those_who_may_apply_get_the_button_and_no_reason(world: World) -> None:
    for role in ("street_staff", "district_admin"):
        html = _page(world, role)
        assert "division/apply/" in html and 'id="apply-refused"' not in html
        assert policy.why_not_apply_division(world.user(role)) is None


def test_the_reason_is_translated(world: World) -> None:
    client = Client()
    client.force_login(world.user("community_staff"))
    client.cookies["django_language"] = "en"
    html = client.get(f"/areas/{world.areas['community_a1'].pk}/division/").content.decode()
    assert "street or district staff must do it" in html
