"""Sign-up and password reset on the web (/accounts/signup/, /accounts/password-reset/): a phone, an SMS code, a name
and a password; the same services and limits as the API (accounts.services), errors beside their fields."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth import SESSION_KEY
from django.test import Client
from django.utils import timezone

from accounts import services, sms
from accounts.models import AuthSession, Membership, Role, SmsCode, User
from core.models import AuditEvent
from tests.conftest import PASSWORD, ApiClient, login_tokens, make_user

pytestmark = pytest.mark.django_db

PHONE = "13912345678"
NEW_PASSWORD = "Spring-Rain-88"
NEXT = "/complaints/new?institution=7"


def field_block(html: str, name: str) -> str:
    """The markup of one field: its label, input and the errors beside it."""
    found = re.search(rf'data-testid="field-{name}".*?</(div|fieldset)>', html, re.S)
    assert found, f"no field {name} on the page"
    return found.group(0)


def summary(html: str) -> str:
    found = re.search(r'data-testid="error-summary".*?</div>', html, re.S)
    return found.group(0) if found else ""


@pytest.fixture
def web(django_capture_on_commit_callbacks):
    """A browser-like client with helpers: send(phone) → the 6-digit code the phone received (or None)."""
    client = Client(REMOTE_ADDR="10.20.0.1")

    def send(phone=PHONE, path="/accounts/signup/", **extra):
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(path, {"action": "send", "phone": phone, "next": NEXT, **extra})
        client.last = response
        sent_to, text = sms.outbox[-1]
        assert sent_to == phone
        found = re.search(r"\b(\d{6})\b", text)
        return found.group(1) if found else None

    client.send = send
    return client


def register(client, code, *, phone=PHONE, name="王妈妈", password=NEW_PASSWORD, kind="parent", next_url=NEXT):
    return client.post(
        "/accounts/signup/",
        {"action": "register", "phone": phone, "code": code, "name": name, "password": password, "kind": kind,
         "next": next_url},
    )  # fmt: skip


def signed_in_as(client) -> int | None:
    value = client.session.get(SESSION_KEY)
    return int(value) if value else None


# --- Sign-up -------------------------------------------------------------------------------------------------------


def test_a_parent_signs_up_with_an_sms_code_and_lands_on_next(web):
    page = web.get(f"/accounts/signup/?next={NEXT}")
    assert page.status_code == 200 and "获取验证码" in page.content.decode()
    code = web.send()
    second = web.last.content.decode()
    assert "短信已发送至 139****5678" in second and 'name="code"' in second
    response = register(web, code)
    assert response.status_code == 302 and response.url == NEXT
    user = User.objects.get(phone=PHONE)
    assert user.name == "王妈妈" and user.check_password(NEW_PASSWORD)
    assert list(Membership.objects.filter(user=user).values_list("role", flat=True)) == [Role.PARENT]
    assert signed_in_as(web) == user.pk
    assert AuditEvent.objects.filter(verb="user.register", actor=user, data__role="parent").count() == 1


def test_next_leading_off_the_site_is_not_followed(web):
    code = web.send()
    response = register(web, code, next_url="https://evil.example/steal")
    assert response.status_code == 302 and response.url == "/"


def test_a_signed_in_visitor_goes_straight_to_next(web, parent):
    web.force_login(parent)
    response = web.get(f"/accounts/signup/?next={NEXT}")
    assert response.status_code == 302 and response.url == NEXT


def test_an_outside_coach_signs_up_without_the_parent_role_and_lands_on_the_admission_form(web):
    code = web.send()
    response = register(web, code, name="何教练", kind="outside", next_url="")
    assert response.status_code == 302 and response.url == "/afterschool/admissions/new/"
    user = User.objects.get(phone=PHONE)
    assert not Membership.objects.filter(user=user).exists()  # like the demo's coaches: the admission is their role
    assert AuditEvent.objects.filter(verb="user.register", actor=user, data__role="outside").exists()
    assert web.get("/afterschool/admissions/new/").status_code == 200


def test_a_wrong_code_is_shown_beside_the_code_field_once(web):
    web.send()
    response = register(web, "000000")
    html = response.content.decode()
    assert response.status_code == 400
    assert "验证码错误" in field_block(html, "code")
    assert html.count("验证码错误") == 1
    assert 'href="#id_code"' in summary(html)
    assert not User.objects.filter(phone=PHONE).exists() and signed_in_as(web) is None


def test_an_expired_code_is_shown_beside_the_code_field_once(web):
    code = web.send()
    with time_machine.travel(timezone.now() + timedelta(minutes=5, seconds=1)):
        response = register(web, code)
    html = response.content.decode()
    assert "验证码已过期" in field_block(html, "code")
    assert html.count("验证码已过期") == 1
    assert not User.objects.filter(phone=PHONE).exists()


def test_a_weak_password_and_a_missing_name_are_shown_at_once_each_beside_its_field(web):
    code = web.send()
    response = register(web, code, name="", password="12345678")
    html = response.content.decode()
    assert response.status_code == 400
    password_errors = field_block(html, "password")
    assert re.search(r'class="errorlist".*数字', password_errors, re.S)  # Django's numeric-password validator
    assert "errorlist" in field_block(html, "name")
    listed = summary(html)
    assert 'href="#id_password"' in listed and 'href="#id_name"' in listed
    assert html.count("这个密码全部为数字") <= 1
    assert not User.objects.filter(phone=PHONE).exists()
    # the code was not spent on a refused form: the corrected form goes through
    assert register(web, code).status_code == 302


def test_a_registered_phone_is_answered_like_a_free_one(web, parent):
    assert web.send() is not None
    free_page = web.last
    taken_code = web.send(phone=parent.phone)
    taken_page = web.last
    assert taken_code is None  # its SMS says "you have an account" and carries no code
    assert "已注册" in sms.outbox[-1][1]
    assert taken_page.status_code == free_page.status_code == 200

    def shape(response):
        html = response.content.decode()
        html = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", html)
        return re.sub(r"1\d\d\*{4}\d{4}|1\d{10}", "PHONE", html)

    assert shape(taken_page) == shape(free_page)
    # guessing a code for the taken number says only "wrong code", never "taken"
    html = register(web, "123456", phone=parent.phone).content.decode()
    assert "验证码错误" in field_block(html, "code") and "已注册" not in html


def test_a_double_submitted_sign_up_creates_one_account_and_lands_on_the_same_page(web):
    code = web.send()
    first = register(web, code)
    twin = Client(REMOTE_ADDR="10.20.0.1")  # the second submit left before the first answer set the cookie
    second = register(twin, code)
    assert first.status_code == second.status_code == 302
    assert first.url == second.url == NEXT
    assert User.objects.filter(phone=PHONE).count() == 1
    user = User.objects.get(phone=PHONE)
    assert signed_in_as(twin) == user.pk
    assert Membership.objects.filter(user=user).count() == 1
    assert AuditEvent.objects.filter(verb="user.register").count() == 1
    # the same code with another password is no replay: refused as used
    third = register(Client(), code, password="Another-Pass-77")
    assert third.status_code == 400 and "验证码已使用" in field_block(third.content.decode(), "code")


def test_the_web_and_the_api_share_one_sms_limit(web, django_capture_on_commit_callbacks, settings):
    api = ApiClient()
    for _ in range(settings.SMS_CODES_PER_PHONE_PER_HOUR):
        with django_capture_on_commit_callbacks(execute=True):
            assert api.post("auth/sms-code", {"phone": PHONE}).status_code == 202
    response = web.post("/accounts/signup/", {"action": "send", "phone": PHONE})
    html = response.content.decode()
    assert response.status_code == 400
    assert "验证码发送过于频繁" in field_block(html, "phone") and html.count("验证码发送过于频繁") == 1
    assert SmsCode.objects.filter(phone=PHONE).count() == settings.SMS_CODES_PER_PHONE_PER_HOUR


def test_the_web_counts_toward_the_api_limit_per_address(web, django_capture_on_commit_callbacks, settings):
    settings.SMS_CODES_PER_ADDRESS_PER_HOUR = 2
    web.send(phone="13912340001")
    web.send(phone="13912340002")
    refused = ApiClient().post("auth/sms-code", {"phone": "13912340003"}, REMOTE_ADDR="10.20.0.1")
    assert refused.status_code == 429


def test_an_invalid_phone_is_shown_beside_the_phone_field(web):
    response = web.post("/accounts/signup/", {"action": "send", "phone": "12345"})
    html = response.content.decode()
    assert "请输入有效的中国大陆手机号" in field_block(html, "phone")
    assert html.count("请输入有效的中国大陆手机号") == 1 and not sms.outbox


# --- Sign-in page, QR page ------------------------------------------------------------------------------------------


def test_the_login_page_links_to_sign_up_and_reset_keeping_next():
    html = Client().get(f"/login/?next={NEXT}").content.decode()
    assert 'href="/accounts/signup/?next=/complaints/new%3Finstitution%3D7"' in html
    assert 'href="/accounts/password-reset/?next=/complaints/new%3Finstitution%3D7"' in html
    assert "手机 App" not in html


def test_the_qr_pages_report_link_leads_through_sign_up_to_the_complaint_form(web):
    from institutions import verification
    from tests.factories import InstitutionFactory

    institution = InstitutionFactory(name="涪陵区某培训学校")
    html = web.get(f"/v/{verification.live_token(institution).token}").content.decode()
    link = re.search(r'href="([^"]+)" data-testid="report-link"', html).group(1)
    assert link == f"/accounts/signup/?next=/complaints/new%3Finstitution%3D{institution.pk}"
    code = web.send()
    response = register(web, code, next_url=f"/complaints/new?institution={institution.pk}")
    assert response.url == f"/complaints/new?institution={institution.pk}"
    form = web.get(response.url)
    assert form.status_code == 200 and institution.name in form.content.decode()


# --- Password reset ------------------------------------------------------------------------------------------------


def reset(client, code, *, phone=PHONE, password=NEW_PASSWORD):
    return client.post(
        "/accounts/password-reset/", {"action": "reset", "phone": phone, "code": code, "password": password}
    )


def test_a_password_reset_by_sms_code_signs_out_the_old_passwords_devices(web):
    user = make_user("王妈妈", Role.PARENT, phone=PHONE)
    login_tokens(user)  # a phone signed in through the API
    other_browser = Client()
    other_browser.force_login(user)
    code = web.send(path="/accounts/password-reset/")
    assert code is not None
    response = reset(web, code)
    assert response.status_code == 302 and response.url == "/"
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD) and not user.check_password(PASSWORD)
    assert AuthSession.objects.filter(user=user, revoked_at__isnull=True).count() == 0
    assert AuthSession.objects.filter(user=user, revoked_reason="password_reset").count() == 1
    assert not other_browser.get("/").wsgi_request.user.is_authenticated  # the old password's web session ended
    assert signed_in_as(web) == user.pk
    assert AuditEvent.objects.filter(verb="user.password_reset", actor=user).count() == 1


def test_a_reset_is_answered_alike_for_a_phone_without_an_account(web):
    make_user("王妈妈", Role.PARENT, phone=PHONE)
    assert web.send(path="/accounts/password-reset/") is not None
    known = web.last
    assert web.send(phone="13912340009", path="/accounts/password-reset/") is None
    assert "尚未注册" in sms.outbox[-1][1]
    unknown = web.last
    assert known.status_code == unknown.status_code == 200
    assert "短信已发送至" in unknown.content.decode()
    html = reset(web, "123456", phone="13912340009").content.decode()
    assert "验证码错误" in field_block(html, "code") and "未注册" not in html


def test_a_reset_code_does_not_register_and_a_sign_up_code_does_not_reset(web):
    make_user("王妈妈", Role.PARENT, phone=PHONE)
    code = web.send(path="/accounts/password-reset/")
    with pytest.raises(services.DomainError):
        services.self_register(phone="13912340008", code=code, name="x", password=NEW_PASSWORD)
    html = reset(web, "000000").content.decode()
    assert html.count("验证码错误") == 1


def test_a_weak_new_password_is_shown_beside_its_field(web):
    make_user("王妈妈", Role.PARENT, phone=PHONE)
    code = web.send(path="/accounts/password-reset/")
    html = reset(web, code, password="abc").content.decode()
    assert "errorlist" in field_block(html, "password")
    assert 'href="#id_password"' in summary(html)


def test_reset_codes_count_toward_the_same_limit_as_sign_up_codes(web, settings):
    make_user("王妈妈", Role.PARENT, phone=PHONE)
    for _ in range(settings.SMS_CODES_PER_PHONE_PER_HOUR):
        web.send()
    response = web.post("/accounts/password-reset/", {"action": "send", "phone": PHONE})
    assert response.status_code == 400
    assert "验证码发送过于频繁" in field_block(response.content.decode(), "phone")


def test_the_coach_link_of_the_login_page_preselects_outside_personnel(web):
    html = Client().get("/login/").content.decode()
    assert 'href="/accounts/signup/?kind=outside"' in html
    web.send(kind="outside")
    second = web.last.content.decode()
    assert re.search(r'value="outside"[^>]*checked', second)


def test_a_wrong_password_on_the_login_page_is_said_once_in_one_language(db):
    user = make_user("赵家长", phone="13900000017")
    html = Client().post("/login/", {"username": user.phone, "password": "wrong-pass"}).content.decode()
    assert html.count("手机号/用户名或密码错误") == 1 and "wrong phone number" not in html
