import pytest

from wangge.conftest import PASSWORD
from wangge.core.models import AuditEntry


@pytest.mark.django_db
def test_it_audits_a_sign_in_with_the_address_it_came_from(world, client):
    response = client.post("/login/", {"username": "grid_worker", "password": PASSWORD}, REMOTE_ADDR="10.1.2.3")
    assert response.status_code == 302
    entry = AuditEntry.objects.get(action="login", actor=world.user("grid_worker"))
    assert entry.ip == "10.1.2.3"


@pytest.mark.django_db
def test_it_audits_a_failed_sign_in_without_an_actor(world, client):
    response = client.post("/login/", {"username": "grid_worker", "password": "wrong"})
    assert response.status_code == 200
    entry = AuditEntry.objects.get(action="login")
    assert entry.actor is None
    assert "grid_worker" in entry.summary


@pytest.mark.django_db
def test_the_operators_superuser_can_open_the_admin(client):
    from django.core.management import call_command

    call_command("createsuperuser", username="operator", email="", interactive=False, verbosity=0)
    from wangge.accounts.models import User

    operator = User.objects.get(username="operator")
    assert operator.role == "district_admin"
    client.force_login(operator)
    assert client.get("/admin/").status_code == 200
