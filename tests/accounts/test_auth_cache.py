"""With Redis, a token's user, session and memberships are cached briefly; anything that changes them drops the entry
at once, so a revoked token never outlives its revocation."""

import pytest

from accounts.models import Membership, Role, User
from accounts.services import auth_revoke_user_sessions, membership_grant
from tests.conftest import ApiClient, assert_error, login_tokens, region

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _cache_on(settings):
    settings.AUTH_CACHE_SECONDS = 120


def test_a_second_request_reads_the_token_from_the_cache(parent, django_assert_num_queries):
    client = ApiClient(login_tokens(parent)["access"])
    assert client.get("me").status_code == 200
    with django_assert_num_queries(0):
        body = client.get("me").json()
    assert body["name"] == parent.name and body["roles"] == ["parent"]


def test_revocation_is_immediate(parent, bureau_admin):
    client = ApiClient(login_tokens(parent)["access"])
    assert client.get("me").status_code == 200  # cached now
    auth_revoke_user_sessions(actor=bureau_admin, user=parent)
    assert_error(client.get("me"), 401, "auth.token_revoked")


def test_logout_is_immediate(parent):
    client = ApiClient(login_tokens(parent)["access"])
    assert client.get("me").status_code == 200
    assert client.post("auth/logout").status_code == 204
    assert_error(client.get("me"), 401)


def test_a_new_role_shows_at_once(parent, bureau_admin):
    client = ApiClient(login_tokens(parent)["access"])
    assert client.get("me").json()["roles"] == ["parent"]
    membership_grant(actor=bureau_admin, user=parent, role=Role.INSPECTOR, region=region("500102006"))
    assert client.get("me").json()["roles"] == ["inspector", "parent"]


def test_a_removed_role_goes_at_once(inspector_a):
    client = ApiClient(login_tokens(inspector_a)["access"])
    assert client.get("me").json()["roles"] == ["inspector"]
    Membership.objects.filter(user=inspector_a).delete()
    assert client.get("me").json()["roles"] == []


def test_a_disabled_user_is_refused_at_once(parent):
    client = ApiClient(login_tokens(parent)["access"])
    assert client.get("me").status_code == 200
    user = User.objects.get(pk=parent.pk)
    user.is_active = False
    user.save()
    assert_error(client.get("me"), 401, "auth.token_revoked")


def test_a_cached_user_cannot_blank_the_password_when_saved(parent):
    from accounts.services import authenticate_access_token

    token = login_tokens(parent)["access"]
    authenticate_access_token(token)
    cached_user, _ = authenticate_access_token(token)
    cached_user.name = "改名"
    cached_user.save()
    fresh = User.objects.get(pk=parent.pk)
    assert fresh.name == "改名" and fresh.check_password("Correct-Horse-42")


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_a_revocation_in_another_process_reaches_this_processs_memory_at_once(parent, settings):
    """Production lane: this process keeps the token in its own memory; another process (an admin's request on
    another worker) revokes the session; the next request here is refused."""
    import os
    import subprocess
    import sys
    import time

    from accounts import authcache
    from tests.conftest import PRODUCTION_LANE, ROOT, _test_database_url

    if not PRODUCTION_LANE:
        pytest.skip("needs Redis: the in-process level is used only with the invalidation channel")
    settings.AUTH_LOCAL_SECONDS = 30
    tokens = login_tokens(parent)
    client = ApiClient(tokens["access"])
    deadline = time.monotonic() + 10
    while not authcache._local.usable() and time.monotonic() < deadline:
        client.get("me")  # starts the listener; wait until it listens
        time.sleep(0.05)
    assert client.get("me").status_code == 200  # from the database into Redis
    assert client.get("me").status_code == 200  # from Redis into this process's memory
    assert authcache._local.entries, "the token is held in this process's memory"

    script = (
        "import django; django.setup(); "
        "from accounts.models import AuthSession, User; from accounts.services import _revoke_sessions; "
        f"_revoke_sessions(AuthSession.objects.filter(pk={tokens['session'].pk}), 'admin')"
    )
    env = {**os.environ, "DATABASE_URL": _test_database_url()}
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    deadline = time.monotonic() + 2
    while client.get("me").status_code == 200:
        assert time.monotonic() < deadline, "the revocation did not reach this process within 2 s"
        time.sleep(0.02)
    assert_error(client.get("me"), 401, "auth.token_revoked")
