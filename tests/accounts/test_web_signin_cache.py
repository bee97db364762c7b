"""A signed-in browser's user is kept with accounts.authcache (no query to learn who is asking), yet a changed
password, a deactivated account or a changed role is seen at the very next request."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from accounts.models import Membership, Role
from tests.conftest import PASSWORD, TOWN_A, make_user, region

pytestmark = pytest.mark.django_db


@pytest.fixture
def kept(settings):
    settings.AUTH_CACHE_SECONDS = 120


def signed_in(user) -> Client:
    client = Client()
    assert client.post("/login/", {"username": user.username, "password": PASSWORD}).status_code == 302
    return client


def menu(client) -> str:
    response = client.get("/")
    assert response.status_code == 200
    return response.content.decode()


def test_a_second_page_asks_nobody_who_is_signed_in(kept):
    staff = make_user("办件人", Role.BUREAU_STAFF, region=region(TOWN_A))
    client = signed_in(staff)
    client.get("/notifications/")
    # The inbox's own rows and count; no query for the user or their memberships.
    with CaptureQueriesContext(connection) as captured:
        assert client.get("/notifications/").status_code == 200
    tables = " ".join(q["sql"] for q in captured.captured_queries)
    assert '"accounts_user"' not in tables and '"accounts_membership"' not in tables


def test_a_password_changed_elsewhere_signs_this_browser_out(kept):
    parent = make_user("家长", Role.PARENT)
    client = signed_in(parent)
    assert "data-testid=\"welcome-name\"" in menu(client)
    parent.set_password("another-Strong-pass-2026")
    parent.save()
    response = client.get("/")
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_a_deactivated_account_is_signed_out_at_once(kept):
    parent = make_user("家长", Role.PARENT)
    client = signed_in(parent)
    menu(client)
    parent.is_active = False
    parent.save(update_fields=["is_active"])
    assert client.get("/").status_code == 302


def test_a_role_taken_away_leaves_the_menu_at_once(kept):
    staff = make_user("办件人", Role.BUREAU_STAFF, region=region(TOWN_A))
    client = signed_in(staff)
    assert 'data-menu="desk"' in menu(client)
    Membership.objects.filter(user=staff).delete()
    assert 'data-menu="desk"' not in menu(client)


def test_a_forged_session_hash_is_not_accepted_from_the_cache(kept):
    parent = make_user("家长", Role.PARENT)
    client = signed_in(parent)
    menu(client)  # the entry is kept now
    session = client.session
    session["_auth_user_hash"] = "0" * 64
    session.save()
    assert client.get("/").status_code == 302
