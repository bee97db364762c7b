"""Sign-in with a phone or a username, tokens stored hashed, refresh rotation, sign-out, throttling."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from accounts.models import AccessToken, AuthSession, User
from accounts.services import hash_token
from core.models import AuditEvent
from tests.conftest import PASSWORD, ApiClient, assert_error, make_user

pytestmark = pytest.mark.django_db


def login(client, who, password=PASSWORD, **extra):
    return client.post("auth/login", {"login": who, "password": password, "device": "测试手机"}, **extra)


def test_login_with_phone_returns_tokens_and_me_shows_roles(anon, parent):
    response = login(anon, "13800000001")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["access_token"].startswith("sja_") and body["refresh_token"].startswith("sjr_")
    assert body["access_expires_at"].endswith("+08:00")  # times leave in Asia/Shanghai
    me = ApiClient(body["access_token"]).get("me")
    assert me.status_code == 200
    assert me.json()["name"] == "张家长"
    assert me.json()["roles"] == ["parent"]


@pytest.mark.parametrize("spelling", ["+86 138-0000-0001", "008613800000001", "138 0000 0001"])
def test_login_accepts_the_usual_ways_of_writing_a_mobile_number(anon, parent, spelling):
    assert login(anon, spelling).status_code == 200


def test_login_with_username(anon, inspector_a):
    response = login(anon, inspector_a.username)
    assert response.status_code == 200
    me = ApiClient(response.json()["access_token"]).get("me").json()
    assert me["roles"] == ["inspector"]
    assert me["memberships"][0]["region"]["code"] == "500102006"


def test_me_lists_several_roles_with_where_they_apply(db, school_x):
    from accounts.models import Role
    from tests.factories import MembershipFactory, region

    user = make_user("多角色", Role.TEACHER, school=school_x)
    MembershipFactory(user=user, role=Role.PARENT)
    MembershipFactory(user=user, role=Role.INSPECTOR, region=region("500102011"))
    client = ApiClient(login(ApiClient(), user.username).json()["access_token"])
    me = client.get("me").json()
    assert me["roles"] == ["inspector", "parent", "teacher"]
    places = {m["role"]: (m["region"], m["school"], m["institution"]) for m in me["memberships"]}
    assert places["teacher"][1]["name"] == "X 小学"
    assert places["inspector"][0]["name"] == "李渡街道"
    assert places["parent"] == (None, None, None)


def test_wrong_password_and_unknown_user_get_the_same_answer(anon, parent):
    wrong = assert_error(login(anon, "13800000001", "nope-nope"), 401, "auth.invalid_credentials")
    unknown = assert_error(login(anon, "13899999999", "nope-nope"), 401, "auth.invalid_credentials")
    assert wrong == unknown


def test_inactive_user_cannot_sign_in(anon, parent):
    User.objects.filter(pk=parent.pk).update(is_active=False)
    assert_error(login(anon, "13800000001"), 401, "auth.invalid_credentials")


def test_tokens_are_stored_hashed(anon, parent):
    body = login(anon, "13800000001").json()
    assert not AccessToken.objects.filter(token_hash=body["access_token"]).exists()
    assert AccessToken.objects.filter(token_hash=hash_token(body["access_token"])).exists()
    assert AuthSession.objects.filter(refresh_hash=hash_token(body["refresh_token"])).exists()


def test_passwords_are_hashed_with_argon2(settings, db):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.Argon2PasswordHasher"]
    user = make_user("新用户")
    assert user.password.startswith("argon2")
    assert user.check_password(PASSWORD)


def test_login_is_audited_with_the_address(anon, parent):
    login(anon, "13800000001", REMOTE_ADDR="10.1.2.3")
    event = AuditEvent.objects.get(verb="auth.login")
    assert event.actor == parent
    assert event.ip == "10.1.2.3"


def test_expired_access_token_is_401_and_refresh_gives_a_new_one(anon, parent):
    body = login(anon, "13800000001").json()
    with time_machine.travel(timezone.now() + timedelta(minutes=16)):
        assert_error(ApiClient(body["access_token"]).get("me"), 401, "auth.token_expired")
        refreshed = anon.post("auth/refresh", {"refresh_token": body["refresh_token"]})
        assert refreshed.status_code == 200
        new = refreshed.json()
        assert new["refresh_token"] != body["refresh_token"]
        assert ApiClient(new["access_token"]).get("me").status_code == 200


def test_a_refresh_token_serves_once(anon, parent):
    body = login(anon, "13800000001").json()
    assert anon.post("auth/refresh", {"refresh_token": body["refresh_token"]}).status_code == 200
    assert_error(anon.post("auth/refresh", {"refresh_token": body["refresh_token"]}), 401, "auth.refresh_reused")


def test_an_unknown_refresh_token_is_invalid(anon, parent):
    assert_error(anon.post("auth/refresh", {"refresh_token": "sjr_never-issued"}), 401, "auth.invalid_refresh")


def test_a_reused_refresh_token_revokes_its_whole_session(anon, parent):
    """A thief copies the refresh token and refreshes first; when the phone then presents the same (now rotated)
    token, the whole family goes: the thief's newest refresh token and its access token, and the phone's own."""
    stolen = login(anon, "13800000001").json()
    other_device = ApiClient(login(anon, "13800000001").json()["access_token"])
    thief = anon.post("auth/refresh", {"refresh_token": stolen["refresh_token"]}).json()
    assert ApiClient(thief["access_token"]).get("me").status_code == 200

    assert_error(anon.post("auth/refresh", {"refresh_token": stolen["refresh_token"]}), 401, "auth.refresh_reused")

    assert_error(ApiClient(thief["access_token"]).get("me"), 401, "auth.token_revoked")
    assert_error(anon.post("auth/refresh", {"refresh_token": thief["refresh_token"]}), 401, "auth.token_revoked")
    assert_error(ApiClient(stolen["access_token"]).get("me"), 401, "auth.token_revoked")
    session = AuthSession.objects.get(refresh_hash=hash_token(thief["refresh_token"]))
    assert session.revoked_reason == "refresh_reused"
    assert AuditEvent.objects.filter(verb="auth.refresh_reused", object_id=str(session.pk)).exists()
    assert other_device.get("me").status_code == 200  # another sign-in of the same person is another family


def test_expired_refresh_token_is_refused(anon, parent):
    body = login(anon, "13800000001").json()
    with time_machine.travel(timezone.now() + timedelta(days=31)):
        assert_error(anon.post("auth/refresh", {"refresh_token": body["refresh_token"]}), 401, "auth.refresh_expired")


def test_logout_revokes_access_and_refresh(anon, parent):
    body = login(anon, "13800000001").json()
    client = ApiClient(body["access_token"])
    assert client.post("auth/logout").status_code == 204
    assert_error(client.get("me"), 401)
    assert_error(anon.post("auth/refresh", {"refresh_token": body["refresh_token"]}), 401, "auth.token_revoked")
    assert AuditEvent.objects.filter(verb="auth.logout", actor=parent, to_state="revoked").exists()


def test_logout_signs_out_only_this_device(anon, parent):
    phone = ApiClient(login(anon, "13800000001").json()["access_token"])
    tablet = ApiClient(login(anon, "13800000001").json()["access_token"])
    assert phone.post("auth/logout").status_code == 204
    assert tablet.get("me").status_code == 200


def test_logout_needs_a_token(anon):
    assert_error(anon.post("auth/logout"), 401)


# --- Lost phone: an admin cuts every session -----------------------------------------------------------------------

def test_bureau_admin_revokes_all_sessions_of_a_user(anon, parent, bureau_admin, api_as):
    phone = ApiClient(login(anon, "13800000001").json()["access_token"])
    response = api_as(bureau_admin).post(f"users/{parent.pk}/revoke-sessions")
    assert response.status_code == 200
    assert response.json()["revoked"] == 1
    assert_error(phone.get("me"), 401, "auth.token_revoked")
    event = AuditEvent.objects.get(verb="auth.revoke_all")
    assert event.actor == bureau_admin and event.object_id == str(parent.pk)


@pytest.mark.parametrize("persona", ["parent", "bureau_staff", "inspector_a", "school_admin_x", "institution_staff"])
def test_only_bureau_admins_may_revoke_sessions(request, persona, other_parent, api_as):
    user = request.getfixturevalue(persona)
    before = AuthSession.objects.filter(revoked_at__isnull=False).count()
    assert_error(api_as(user).post(f"users/{other_parent.pk}/revoke-sessions"), 403, "permission_denied")
    assert AuthSession.objects.filter(revoked_at__isnull=False).count() == before


def test_revoking_an_unknown_user_is_404(bureau_admin, api_as):
    assert_error(api_as(bureau_admin).post("users/999999/revoke-sessions"), 404, "not_found")


# --- Throttling -----------------------------------------------------------------------------------------------------

def test_repeated_failures_for_one_account_are_throttled(anon, parent, settings):
    for _ in range(settings.LOGIN_FAILURES_PER_ACCOUNT):
        assert_error(login(anon, "13800000001", "wrong-pass"), 401)
    response = login(anon, "13800000001")  # even the right password waits now
    assert_error(response, 429, "auth.too_many_attempts")
    assert int(response["Retry-After"]) > 0


def test_throttle_window_passes(anon, parent, settings):
    for _ in range(settings.LOGIN_FAILURES_PER_ACCOUNT):
        login(anon, "13800000001", "wrong-pass")
    assert login(anon, "13800000001").status_code == 429
    from django.core.cache import cache

    cache.clear()  # the window in the cache has run out
    assert login(anon, "13800000001").status_code == 200


def test_repeated_failures_from_one_address_are_throttled(anon, settings):
    settings.LOGIN_FAILURES_PER_ADDRESS = 3
    for i in range(3):
        login(anon, f"1380000{i:04d}", "wrong-pass", REMOTE_ADDR="10.9.9.9")
    assert_error(login(anon, "13800009999", "x", REMOTE_ADDR="10.9.9.9"), 429, "auth.too_many_attempts")
    assert login(anon, "13800009999", "x", REMOTE_ADDR="10.9.9.8").status_code == 401


def test_success_resets_the_account_counter(anon, parent, settings):
    for _ in range(settings.LOGIN_FAILURES_PER_ACCOUNT - 1):
        login(anon, "13800000001", "wrong-pass")
    assert login(anon, "13800000001").status_code == 200
    for _ in range(settings.LOGIN_FAILURES_PER_ACCOUNT - 1):
        login(anon, "13800000001", "wrong-pass")
    assert login(anon, "13800000001").status_code == 200


def test_the_lockout_follows_the_account_not_its_spelling(anon, make_parent_with_username, settings):
    """Four spellings of one account (three of its phone and its username) share one count of 5."""
    user = make_parent_with_username
    spellings = ["13900000006", "+8613900000006", "139 0000 0006", user.username]
    tries = [spellings[i % 4] for i in range(settings.LOGIN_FAILURES_PER_ACCOUNT)]
    for spelling in tries:
        assert_error(login(anon, spelling, "wrong-pass"), 401, "auth.invalid_credentials")
    for spelling in spellings:  # locked in every spelling, even with the right password
        assert_error(login(anon, spelling), 429, "auth.too_many_attempts")


def test_unknown_phone_numbers_are_counted_in_their_canonical_form(anon, settings):
    for i in range(settings.LOGIN_FAILURES_PER_ACCOUNT):
        login(anon, ["13700000009", "+86 137 0000 0009"][i % 2], "wrong-pass")
    assert_error(login(anon, "0086-137-0000-0009", "x"), 429, "auth.too_many_attempts")


@pytest.fixture
def make_parent_with_username(db):
    from accounts.models import Role

    return make_user("王家长", Role.PARENT, phone="13900000006", username="wangjz")
