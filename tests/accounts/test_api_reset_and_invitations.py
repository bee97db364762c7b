"""Password reset and invitations through the API, as a phone app would use them (the web pages use the same
services: tests/accounts/test_web_signup.py, test_web_invitations.py), and revoking an invitation anywhere."""

import re

import pytest

from accounts import sms
from accounts.models import Invitation, Membership, Role, User
from core.models import AuditEvent
from tests.conftest import PASSWORD, TOWN_A, assert_error, region

pytestmark = pytest.mark.django_db

PHONE = "13712345678"
NEW_PASSWORD = "Autumn-Leaf-42"


def last_sms_code() -> str:
    return re.search(r"\d{6}", sms.outbox[-1][1]).group(0)


def test_a_forgotten_password_is_reset_with_a_code_and_every_device_is_signed_out(
    anon, parent, api_as, django_capture_on_commit_callbacks
):
    phone_app = api_as(parent)
    assert phone_app.get("me").status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        assert anon.post("auth/sms-code", {"phone": parent.phone, "purpose": "reset"}).status_code == 202
    assert_error(anon.post("auth/password-reset", {"phone": parent.phone, "code": "000000", "password": NEW_PASSWORD}),
                 400, "auth.sms_code_invalid")  # fmt: skip
    code = last_sms_code()
    weak = anon.post("auth/password-reset", {"phone": parent.phone, "code": code, "password": "12345678"})
    assert "password" in assert_error(weak, 422)["fields"]
    done = anon.post("auth/password-reset", {"phone": parent.phone, "code": code, "password": NEW_PASSWORD})
    assert done.status_code == 204
    assert_error(phone_app.get("me"), 401)  # the old device is signed out
    assert anon.post("auth/login", {"login": parent.phone, "password": NEW_PASSWORD}).status_code == 200
    assert_error(anon.post("auth/password-reset", {"phone": parent.phone, "code": code, "password": NEW_PASSWORD}),
                 400)  # fmt: skip  # the code served once


def invite(api, django_capture_on_commit_callbacks, **fields):
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post("invitations", {"phone": PHONE, "name": "新同事", **fields})
    token = re.search(r"/accounts/invitation/([A-Za-z0-9_-]+)", sms.outbox[-1][1]).group(1) if sms.outbox else None
    return response, token


def test_the_bureau_invites_through_the_api_and_the_person_accepts_from_their_phone(
    api_as, anon, bureau_admin, django_capture_on_commit_callbacks
):
    town = region(TOWN_A)
    api = api_as(bureau_admin)
    response, token = invite(api, django_capture_on_commit_callbacks, role="inspector", region_id=town.pk)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["state"] == "sent" and body["phone"] == "137****5678" and body["region_id"] == town.pk
    listed = api.get("invitations").json()
    assert listed["count"] == 1 and listed["items"][0]["id"] == body["id"]
    accepted = anon.post("auth/invitations/accept", {"token": token, "password": NEW_PASSWORD, "name": "王督查"})
    assert accepted.status_code == 201 and accepted.json()["access_token"]
    user = User.objects.get(phone=PHONE)
    assert Membership.objects.filter(user=user, role=Role.INSPECTOR, region=town, is_active=True).exists()
    assert api.get("invitations").json()["items"][0]["state"] == "accepted"
    assert_error(anon.post("auth/invitations/accept", {"token": token, "password": NEW_PASSWORD}), 404)  # once only
    assert_error(api.post(f"invitations/{body['id']}/revoke"), 409, "invitation.accepted")


def test_a_revoked_invitation_link_stops_working_and_others_cannot_revoke_it(
    api_as, anon, bureau_admin, school_admin_x, school_x, parent, django_capture_on_commit_callbacks
):
    response, token = invite(api_as(school_admin_x), django_capture_on_commit_callbacks, role="teacher",
                             school_id=school_x.pk)  # fmt: skip
    invitation_id = response.json()["id"]
    for outsider in (parent,):
        assert_error(api_as(outsider).post(f"invitations/{invitation_id}/revoke"), 404)
        assert_error(api_as(outsider).get("invitations"), 403)
    revoked = api_as(school_admin_x).post(f"invitations/{invitation_id}/revoke")
    assert revoked.status_code == 200 and revoked.json()["state"] == "revoked"
    assert api_as(bureau_admin).post(f"invitations/{invitation_id}/revoke").status_code == 200  # twice: no change
    assert AuditEvent.objects.filter(verb="invitation.revoke", object_id=str(invitation_id)).count() == 1
    assert_error(anon.post("auth/invitations/accept", {"token": token, "password": NEW_PASSWORD}), 404,
                 "invitation.invalid")  # fmt: skip
    assert not User.objects.filter(phone=PHONE).exists()


def test_the_invite_page_revokes_a_waiting_invitation(
    client, school_admin_x, school_x, django_capture_on_commit_callbacks
):
    client.force_login(school_admin_x)
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/accounts/invite/", {"phone": PHONE, "name": "新老师", "role": "teacher", "school": school_x.pk})
    invitation = Invitation.objects.get(phone=PHONE)
    page = client.get("/accounts/invite/").content.decode()
    assert f'data-testid="revoke-{invitation.pk}"' in page
    response = client.post(f"/accounts/invite/{invitation.pk}/revoke")
    assert response.status_code == 302 and response.url.endswith("?revoked=1")
    page = client.get(response.url).content.decode()
    assert 'data-testid="invite-revoked"' in page and f'data-testid="revoke-{invitation.pk}"' not in page
    other = User.objects.create_user(phone="13900001111", name="别人", password=PASSWORD)
    client.force_login(other)
    assert client.post(f"/accounts/invite/{invitation.pk}/revoke").status_code == 404
