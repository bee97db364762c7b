"""Invitations (/accounts/invite/, /accounts/invitation/<token>): the bureau's admin or a school's admin gives a role to
a phone; an SMS carries a one-time link (stored hashed, 72 hours, single use) where the person sets a password."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth import SESSION_KEY
from django.test import Client
from django.utils import timezone

from accounts import sms
from accounts.models import Invitation, Membership, Role, User
from core.models import AuditEvent
from tests.conftest import DISTRICT, PASSWORD, TOWN_A, make_user, region

pytestmark = pytest.mark.django_db

PHONE = "13712345678"
NEW_PASSWORD = "Autumn-Leaf-42"


def field_block(html: str, name: str) -> str:
    found = re.search(rf'data-testid="field-{name}".*?</div>', html, re.S)
    assert found, f"no field {name} on the page"
    return found.group(0)


@pytest.fixture
def invite(django_capture_on_commit_callbacks):
    """invite(user, **fields) → (response, the link's path from the SMS or None)."""

    def send(user, **fields):
        client = Client()
        client.force_login(user)
        data = {"phone": PHONE, "name": "新同事", **fields}
        before = len(sms.outbox)
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post("/accounts/invite/", data)
        link = None
        if len(sms.outbox) > before:
            sent_to, text = sms.outbox[-1]
            assert sent_to == PHONE
            link = re.search(r"https?://[^/\s]+(/accounts/invitation/[A-Za-z0-9_-]+)", text).group(1)
        return response, link

    return send


def test_the_bureau_invites_an_inspector_who_sets_a_password_and_holds_the_role(invite, bureau_admin):
    town = region(TOWN_A)
    response, link = invite(bureau_admin, role="inspector", region=str(town.pk))
    assert response.status_code == 302 and response.url == "/accounts/invite/?sent=1"
    invitation = Invitation.objects.get(phone=PHONE)
    token = link.rsplit("/", 1)[1]
    assert token not in invitation.token_hash  # stored hashed
    assert invitation.expires_at - invitation.created_at == timedelta(hours=72)
    assert AuditEvent.objects.filter(verb="invitation.create", actor=bureau_admin).count() == 1

    visitor = Client()
    page = visitor.get(link)
    assert page.status_code == 200 and "督查员" in page.content.decode()
    accepted = visitor.post(link, {"name": "赵督查", "password": NEW_PASSWORD})
    assert accepted.status_code == 302
    user = User.objects.get(phone=PHONE)
    assert user.name == "赵督查" and user.check_password(NEW_PASSWORD)
    assert Membership.objects.filter(user=user, role=Role.INSPECTOR, region=town, is_active=True).count() == 1
    assert int(visitor.session[SESSION_KEY]) == user.pk
    assert AuditEvent.objects.filter(verb="invitation.accept", actor=user).count() == 1
    listed = Client()
    listed.force_login(bureau_admin)
    assert "已接受" in listed.get("/accounts/invite/").content.decode()


def test_a_used_link_is_refused(invite, bureau_admin):
    _, link = invite(bureau_admin, role="bureau_staff", region=str(region(DISTRICT).pk))
    assert Client().post(link, {"password": NEW_PASSWORD}).status_code == 302
    again = Client().post(link, {"password": "Other-Pass-99"})
    assert again.status_code == 404 and "邀请链接无效或已使用" in again.content.decode()
    assert Membership.objects.filter(user__phone=PHONE).count() == 1
    assert Client().get(link).status_code == 404
    assert Client().get("/accounts/invitation/not-a-real-token").status_code == 404


def test_an_expired_link_is_refused(invite, bureau_admin):
    _, link = invite(bureau_admin, role="inspector", region=str(region(TOWN_A).pk))
    with time_machine.travel(timezone.now() + timedelta(hours=72, seconds=1)):
        response = Client().post(link, {"password": NEW_PASSWORD})
    assert response.status_code == 410 and "邀请链接已过期" in response.content.decode()
    assert not User.objects.filter(phone=PHONE).exists()


def test_a_weak_password_on_the_link_is_shown_beside_its_field(invite, bureau_admin):
    _, link = invite(bureau_admin, role="inspector", region=str(region(TOWN_A).pk))
    response = Client().post(link, {"name": "赵督查", "password": "12345678"})
    html = response.content.decode()
    assert response.status_code == 400
    assert 'class="errorlist"' in field_block(html, "password")
    assert 'href="#id_password"' in html
    assert not User.objects.filter(phone=PHONE).exists()
    assert Client().post(link, {"name": "赵督查", "password": NEW_PASSWORD}).status_code == 302  # not spent


def test_an_existing_account_accepts_with_its_own_password(invite, school_admin_x, school_x):
    person = make_user("老教师", phone=PHONE)
    _, link = invite(school_admin_x, role="teacher", school=str(school_x.pk))
    wrong = Client().post(link, {"password": "not-the-password"})
    assert wrong.status_code == 400 and "现有账号的密码" in field_block(wrong.content.decode(), "password")
    assert Client().post(link, {"password": PASSWORD}).status_code == 302
    assert Membership.objects.filter(user=person, role=Role.TEACHER, school_id=school_x.pk).exists()
    person.refresh_from_db()
    assert person.name == "老教师" and person.check_password(PASSWORD)


def test_a_school_admin_invites_teachers_of_their_school_only(invite, school_admin_x, school_x, school_y):
    response, link = invite(school_admin_x, role="teacher", school=str(school_x.pk))
    assert response.status_code == 302 and link

    other_school, link = invite(school_admin_x, role="teacher", school=str(school_y.pk))
    assert other_school.status_code == 404 and link is None
    bureau_role, link = invite(school_admin_x, role="inspector", region=str(region(TOWN_A).pk))
    assert bureau_role.status_code == 403 and link is None
    admin_role, link = invite(school_admin_x, role="school_admin", school=str(school_x.pk))
    assert admin_role.status_code == 403 and link is None
    assert Invitation.objects.count() == 1

    client = Client()
    client.force_login(school_admin_x)
    html = client.get("/accounts/invite/").content.decode()
    assert "X 小学" in html and "Y 小学" not in html and 'value="inspector"' not in html


def test_a_parent_or_a_stranger_cannot_invite(invite, parent, inspector_a):
    for user in (parent, inspector_a):
        response, link = invite(user, role="teacher")
        assert response.status_code == 403 and link is None
        client = Client()
        client.force_login(user)
        assert client.get("/accounts/invite/").status_code == 403
    anonymous = Client().get("/accounts/invite/")
    assert anonymous.status_code == 302 and anonymous.url.startswith("/login/")
    assert not Invitation.objects.exists()


def test_bad_invitation_input_is_shown_beside_each_field(invite, bureau_admin):
    response, link = invite(bureau_admin, phone="123", name="", role="inspector")
    html = response.content.decode()
    assert response.status_code == 422 and link is None
    assert "请输入有效的中国大陆手机号" in field_block(html, "phone")
    assert "errorlist" in field_block(html, "name")
    assert html.count("请输入有效的中国大陆手机号") == 1
    missing_region, _ = invite(bureau_admin, role="inspector")
    assert "请选择您管辖的区域" in field_block(missing_region.content.decode(), "region")
