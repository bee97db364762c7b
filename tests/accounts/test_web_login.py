"""The web sign-in pages (/login/ and the Django admin's /admin/login/) count failures like the API does: per account,
in any spelling, and per address."""

import pytest
from django.test import Client

from tests.conftest import PASSWORD, make_user

pytestmark = pytest.mark.django_db

THROTTLED = "登录失败次数过多"


def post(client, path, username, password, ip):
    return client.post(path, {"username": username, "password": password}, REMOTE_ADDR=ip)


def test_password_spraying_at_the_admin_login_is_throttled_per_address(admin_user, settings):
    """Many accounts, one wrong password each, from one address: after LOGIN_FAILURES_PER_ADDRESS the address waits,
    even for a right password of a real admin; another address does not."""
    settings.LOGIN_FAILURES_PER_ADDRESS = 10
    client = Client()
    for i in range(10):
        response = post(client, "/admin/login/", f"staff{i:02d}", "Spring-2026", "10.7.7.7")
        assert response.status_code == 200 and THROTTLED not in response.content.decode()
    response = post(client, "/admin/login/", admin_user.username, PASSWORD, "10.7.7.7")
    assert response.status_code == 200  # the form again, not the redirect of a signed-in admin
    assert THROTTLED in response.content.decode()
    other = post(Client(), "/admin/login/", admin_user.username, PASSWORD, "10.7.7.8")
    assert other.status_code == 302


def test_the_admin_login_locks_an_account_after_five_failures(admin_user, settings):
    client = Client()
    for _ in range(settings.LOGIN_FAILURES_PER_ACCOUNT):
        post(client, "/admin/login/", admin_user.username, "wrong-pass", "10.7.7.9")
    response = post(client, "/admin/login/", admin_user.username, PASSWORD, "10.7.7.10")
    assert THROTTLED in response.content.decode()


def test_the_web_login_counts_every_spelling_of_a_phone_toward_one_account(db, settings):
    user = make_user("赵家长", phone="13900000007")
    client = Client()
    spellings = ["13900000007", "+86 139 0000 0007", "139-0000-0007", user.username]
    for i in range(settings.LOGIN_FAILURES_PER_ACCOUNT):
        post(client, "/login/", spellings[i % 4], "wrong-pass", f"10.8.0.{i}")
    response = post(client, "/login/", "13900000007", PASSWORD, "10.8.1.1")
    assert response.status_code == 200 and THROTTLED in response.content.decode()


def test_a_post_without_a_password_does_not_reset_the_count(db, settings):
    user = make_user("钱家长", phone="13900000008")
    client = Client()
    for _ in range(settings.LOGIN_FAILURES_PER_ACCOUNT - 1):
        post(client, "/login/", user.phone, "wrong-pass", "10.8.2.1")
    post(client, "/login/", user.phone, "", "10.8.2.1")
    post(client, "/login/", user.phone, "wrong-pass", "10.8.2.1")
    assert THROTTLED in post(client, "/login/", user.phone, PASSWORD, "10.8.2.1").content.decode()
