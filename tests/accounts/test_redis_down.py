"""Redis down (the cache, the channel layer and the invalidation channel unreachable): signed-in users go on working,
because tokens are checked in the database, where they are stored hashed."""

import pytest
from django.test import override_settings

from accounts import authcache
from tests.conftest import ApiClient, assert_error, login_tokens

pytestmark = pytest.mark.django_db

DEAD_REDIS = "redis://127.0.0.1:6390/0"  # nothing listens here; the shared Redis on 6379 is left alone


def dead_redis():
    """Cache, channel layer and pub/sub pointed at a port where nothing listens, with the auth cache on (as in
    production). Used as a context manager, so it is undone before the shared teardown clears the (real) cache."""
    return override_settings(
        REDIS_URL=DEAD_REDIS,
        CACHES={"default": {"BACKEND": "core.cache.RedisCache", "LOCATION": DEAD_REDIS}},
        CHANNEL_LAYERS={
            "default": {"BACKEND": "channels_redis.core.RedisChannelLayer", "CONFIG": {"hosts": [DEAD_REDIS]}}
        },
        AUTH_CACHE_SECONDS=120,
        AUTH_LOCAL_SECONDS=0,  # no listener thread left retrying the dead port after the test
    )


@pytest.fixture
def redis_down():
    from accounts import throttle

    throttle._fallback.clear()
    with dead_redis():
        yield
    throttle._fallback.clear()


def test_with_redis_down_an_authenticated_call_succeeds(parent, settings):
    settings.AUTH_CACHE_SECONDS = 120
    client = ApiClient(login_tokens(parent)["access"])  # signed in while Redis was up
    assert client.get("me").status_code == 200
    with dead_redis():
        response = client.get("me")
    assert response.status_code == 200, response.content
    assert response.json()["roles"] == ["parent"]


def test_with_redis_down_a_revoked_token_is_still_refused(parent, bureau_admin, settings):
    from accounts.services import auth_revoke_user_sessions

    settings.AUTH_CACHE_SECONDS = 120
    client = ApiClient(login_tokens(parent)["access"])
    with dead_redis():
        assert client.get("me").status_code == 200
        auth_revoke_user_sessions(actor=bureau_admin, user=parent)  # no cache to clear, no one to announce it to
        assert_error(client.get("me"), 401, "auth.token_revoked")


def test_with_redis_down_sign_in_and_sign_out_work(anon, parent, redis_down):
    response = anon.post("auth/login", {"login": "13800000001", "password": "Correct-Horse-42"})
    assert response.status_code == 200, response.content
    client = ApiClient(response.json()["access_token"])
    assert client.post("auth/logout").status_code == 204  # revocation pub/sub fails quietly
    assert_error(client.get("me"), 401, "auth.token_revoked")


def test_with_redis_down_failed_sign_ins_are_still_counted(anon, parent, settings, redis_down):
    for _ in range(settings.LOGIN_FAILURES_PER_ACCOUNT):
        assert_error(anon.post("auth/login", {"login": "13800000001", "password": "wrong-pass"}), 401)
    assert_error(anon.post("auth/login", {"login": "13800000001", "password": "Correct-Horse-42"}), 429)


def test_publishing_a_revocation_with_redis_down_does_not_raise(redis_down):
    authcache._publish(["user:1"])  # logged, not raised
