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
from tests.factories import UserFactory

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


# --- Sign-up does not tell which phones have accounts ----------------------------------------------------------------

FREE = "13912340001"


def send_code(client, phone, **extra):
    return client.post("auth/sms-code", {"phone": phone}, **extra)


def test_a_taken_and_a_free_number_get_the_same_answer(anon, parent, django_capture_on_commit_callbacks):
    """Same status, same body, one stored code and one SMS each; only the taken number's owner reads, on their own
    phone, that an account exists (and gets no code)."""
    with django_capture_on_commit_callbacks(execute=True):
        taken = send_code(anon, parent.phone)
    with django_capture_on_commit_callbacks(execute=True):
        free = send_code(anon, FREE)
    assert (taken.status_code, taken.json()) == (free.status_code, free.json()) == (202, free.json())
    assert SmsCode.objects.filter(phone=parent.phone).count() == SmsCode.objects.filter(phone=FREE).count() == 1
    assert [p for p, _ in sms.outbox] == [parent.phone, FREE]
    taken_text, free_text = sms.outbox[0][1], sms.outbox[1][1]
    assert "已注册" in taken_text and not re.search(r"\d{6}", taken_text)
    assert re.search(r"\b\d{6}\b", free_text)
    assert User.objects.filter(phone=parent.phone).count() == 1 and not User.objects.filter(phone=FREE).exists()


def test_the_per_phone_limit_is_the_same_for_a_taken_number(anon, parent):
    for _ in range(5):
        assert send_code(anon, parent.phone).status_code == 202
        assert send_code(anon, FREE).status_code == 202
    taken, free = send_code(anon, parent.phone), send_code(anon, FREE)
    assert assert_error(taken, 429, "auth.sms_rate_limited") == assert_error(free, 429, "auth.sms_rate_limited")


def test_registering_a_taken_number_is_answered_like_a_wrong_code(anon, parent, request_code):
    """The code is checked first: without the phone in hand, a taken number looks like any number with a wrong
    code (today's 409 "phone taken" told anyone which numbers have accounts)."""
    send_code(anon, parent.phone)
    request_code(anon, phone=FREE)
    taken = assert_error(register(anon, "123456", phone=parent.phone), 400, "auth.sms_code_invalid")
    free = assert_error(register(anon, "123456", phone=FREE), 400, "auth.sms_code_invalid")
    assert taken == free
    assert User.objects.filter(phone=parent.phone).count() == 1


def test_without_any_code_a_taken_and_a_free_number_get_the_same_answer(anon, parent):
    taken = register(anon, "123456", phone=parent.phone)
    free = register(anon, "123456", phone=FREE)
    assert (taken.status_code, taken.json()) == (free.status_code, free.json())
    assert_error(taken, 400, "auth.sms_code_invalid")


def test_who_holds_the_phone_learns_it_is_registered(anon, request_code):
    """A code sent while the number was free, and the number registered meanwhile: the code proves the phone, so the
    answer may say so."""
    code = request_code(anon, phone=FREE)
    UserFactory(username=None, phone=FREE, name="先注册的", password="Spring-Rain-88")
    assert_error(register(anon, code, phone=FREE), 409, "auth.phone_taken")
    assert User.objects.filter(phone=FREE).count() == 1


# --- What SMS may cost: per phone, per address, per hour and per day ------------------------------------------------

def test_at_most_so_many_codes_per_address_per_hour(anon, settings):
    settings.SMS_CODES_PER_ADDRESS_PER_HOUR = 3
    for i in range(3):
        assert send_code(anon, f"1391234{i:04d}", REMOTE_ADDR="10.5.5.5").status_code == 202
    response = send_code(anon, "13912349999", REMOTE_ADDR="10.5.5.5")
    assert_error(response, 429, "auth.sms_rate_limited")
    assert 3500 < int(response["Retry-After"]) <= 3600
    assert SmsCode.objects.count() == 3  # nothing stored, nothing sent
    assert send_code(anon, "13912349999", REMOTE_ADDR="10.5.5.6").status_code == 202
    with time_machine.travel(timezone.now() + timedelta(minutes=61)):
        assert send_code(anon, "13912349998", REMOTE_ADDR="10.5.5.5").status_code == 202


def test_at_most_so_many_codes_per_address_per_day(anon, settings):
    settings.SMS_CODES_PER_ADDRESS_PER_DAY = 4
    start = timezone.now()
    for i in range(4):
        with time_machine.travel(start + timedelta(hours=2 * i)):
            assert send_code(anon, f"1391234{i:04d}", REMOTE_ADDR="10.5.5.7").status_code == 202
    with time_machine.travel(start + timedelta(hours=10)):
        response = send_code(anon, "13912349999", REMOTE_ADDR="10.5.5.7")
        assert_error(response, 429, "auth.sms_rate_limited")
        assert int(response["Retry-After"]) > 13 * 3600  # until the first of the day's four is a day old
    with time_machine.travel(start + timedelta(hours=24, minutes=1)):
        assert send_code(anon, "13912349999", REMOTE_ADDR="10.5.5.7").status_code == 202


def test_at_most_ten_codes_per_phone_per_day(anon, settings):
    start = timezone.now()
    for i in range(settings.SMS_CODES_PER_PHONE_PER_DAY):
        with time_machine.travel(start + timedelta(minutes=15 * i)):  # within the hourly limit
            assert send_code(anon, PHONE).status_code == 202
    with time_machine.travel(start + timedelta(hours=5)):
        assert_error(send_code(anon, PHONE), 429, "auth.sms_rate_limited")
    with time_machine.travel(start + timedelta(hours=24, minutes=1)):
        assert send_code(anon, PHONE).status_code == 202
