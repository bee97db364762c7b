"""Parents register themselves: an SMS code (6 digits, 5 minutes, single use, 5 an hour), then name and password."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from accounts import sms
from accounts.models import Membership, Role, SmsCode, User
from core.models import AuditEvent
from tests.conftest import ApiClient, assert_error

pytestmark = pytest.mark.django_db


PHONE = "13912345678"


@pytest.fixture
def request_code(django_capture_on_commit_callbacks):
    """request_code(client, phone) → the 6-digit code the phone received (the SMS leaves after commit)."""

    def send(client, phone=PHONE):
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post("auth/sms-code", {"phone": phone})
        assert response.status_code == 202, response.content
        sent_to, text = sms.outbox[-1]
        assert sent_to == phone
        return re.search(r"\b(\d{6})\b", text).group(1)

    return send


def register(client, code, phone=PHONE, password="Spring-Rain-88", name="王妈妈"):
    return client.post("auth/register", {"phone": phone, "code": code, "name": name, "password": password})


def test_parent_registers_with_an_sms_code_and_is_signed_in(anon, request_code):
    code = request_code(anon)
    response = register(anon, code)
    assert response.status_code == 201, response.content
    me = ApiClient(response.json()["access_token"]).get("me").json()
    assert me["name"] == "王妈妈" and me["phone"] == PHONE and me["roles"] == ["parent"]
    user = User.objects.get(phone=PHONE)
    assert Membership.objects.filter(user=user, role=Role.PARENT).count() == 1
    assert AuditEvent.objects.filter(verb="user.register", actor=user).exists()


def test_the_code_is_stored_hashed(anon, request_code):
    code = request_code(anon)
    row = SmsCode.objects.get(phone=PHONE)
    assert code not in row.code_hash


def test_a_code_serves_once(anon, request_code):
    from accounts.services import parent_register
    from core.errors import DomainError

    code = request_code(anon)
    assert register(anon, code).status_code == 201
    User.objects.filter(phone=PHONE).update(phone="13912340000")  # so the phone is free again
    with pytest.raises(DomainError) as refused:
        parent_register(phone=PHONE, code=code, name="又一次", password="Spring-Rain-88")
    assert refused.value.code == "auth.sms_code_used"
    assert not User.objects.filter(phone=PHONE).exists()


def test_an_expired_code_is_refused_and_nothing_is_written(anon, request_code):
    code = request_code(anon)
    with time_machine.travel(timezone.now() + timedelta(minutes=5, seconds=1)):
        error = assert_error(register(anon, code), 400, "auth.sms_code_expired")
    assert "code" in error["fields"]
    assert not User.objects.filter(phone=PHONE).exists()


def test_a_wrong_code_is_refused(anon, request_code):
    request_code(anon)
    assert_error(register(anon, "000000"), 400, "auth.sms_code_invalid")


def test_guessing_burns_the_code(anon, settings, request_code):
    code = request_code(anon)
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    for _ in range(settings.SMS_CODE_MAX_ATTEMPTS):
        assert_error(register(anon, wrong), 400, "auth.sms_code_invalid")
    assert_error(register(anon, code), 400, "auth.sms_code_used")


def test_at_most_five_codes_per_phone_per_hour(anon, request_code):
    for _ in range(5):
        request_code(anon)
    response = anon.post("auth/sms-code", {"phone": PHONE})
    assert_error(response, 429, "auth.sms_rate_limited")
    assert response["Retry-After"] == "3600"
    assert len(sms.outbox) == 5
    with time_machine.travel(timezone.now() + timedelta(minutes=61)):
        assert anon.post("auth/sms-code", {"phone": PHONE}).status_code == 202


@pytest.mark.parametrize("phone", ["12345678901", "1380013800", "23800138000", "+1 415 555 0100", "abc"])
def test_a_number_that_is_not_a_mainland_mobile_is_refused(anon, phone):
    error = assert_error(anon.post("auth/sms-code", {"phone": phone}), 422, "request.invalid")
    assert "phone" in error["fields"]
    assert not SmsCode.objects.exists()
    assert sms.outbox == []


def test_register_refuses_a_bad_phone(anon):
    error = assert_error(register(anon, "123456", phone="110"), 422)
    assert "phone" in error["fields"]


def test_weak_password_is_refused_and_the_code_is_kept(anon, request_code):
    code = request_code(anon)
    error = assert_error(register(anon, code, password="12345678"), 422, "request.invalid")
    assert "password" in error["fields"]
    assert not User.objects.filter(phone=PHONE).exists()
    assert register(anon, code).status_code == 201  # the code was not spent on the failed attempt


def test_malformed_code_is_422(anon):
    error = assert_error(register(anon, "12ab"), 422)
    assert "code" in error["fields"]


def test_a_registered_phone_cannot_register_again(anon, parent, request_code):
    code = request_code(anon, phone=parent.phone)
    assert_error(register(anon, code, phone=parent.phone), 409, "auth.phone_taken")
    assert User.objects.filter(phone=parent.phone).count() == 1
