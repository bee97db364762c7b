import pytest
from django.core.management import call_command

from accounts.models import Membership, Role, User
from afterschool.schedule.models import School
from core.models import Notification
from institutions.models import Institution

pytestmark = pytest.mark.django_db


def counts():
    return [m.objects.count() for m in (User, Membership, School, Institution, Notification)]


def test_seed_demo_is_idempotent_and_covers_every_role(capsys):
    call_command("seed_demo")
    first = counts()
    call_command("seed_demo")
    assert counts() == first
    assert {m.role for m in Membership.objects.all()} == set(Role.values)
    out = capsys.readouterr().out
    assert "/api/v1/docs" in out and "/admin/" in out
    for role in Role:
        assert str(role.label) in out


def test_demo_login_works(client):
    from mobile_api.management.commands.seed_demo import DEMO_PASSWORD

    call_command("seed_demo")
    response = client.post(
        "/api/v1/auth/login", {"login": "inspector", "password": DEMO_PASSWORD}, content_type="application/json"
    )
    assert response.status_code == 200
