"""Races a phone on a weak signal makes happen: the same refresh token or SMS code sent twice at once."""


import pytest
from django.db import connection

from accounts.models import SmsCode, User
from accounts.services import _code_hash, auth_refresh, parent_register
from core.errors import DomainError
from core.models import AuditEvent
from tests.concurrency import race
from tests.conftest import login_tokens

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="real concurrent transactions: production lane"),
]




def test_one_refresh_token_used_twice_at_once_gives_one_new_pair(parent):
    refresh = login_tokens(parent)["refresh"]
    results = race(lambda: auth_refresh(refresh_token=refresh))
    winners = [r for r in results if not isinstance(r, Exception)]
    losers = [r for r in results if isinstance(r, DomainError)]
    assert len(winners) == 1
    assert len(losers) == len(results) - 1
    assert all(e.status == 401 for e in losers)


def test_one_sms_code_used_twice_at_once_registers_one_user(db):
    from datetime import timedelta

    from django.utils import timezone

    phone = "13700000001"
    SmsCode.objects.create(
        phone=phone, purpose="register", code_hash=_code_hash(phone, "123456"),
        expires_at=timezone.now() + timedelta(minutes=5),
    )
    results = race(lambda: parent_register(phone=phone, code="123456", name="并发", password="Spring-Rain-88"))
    assert all(isinstance(r, (User, DomainError)) for r in results), results
    assert User.objects.filter(phone=phone).count() == 1
    # A twin that comes after the winner is a replay (same code, same password): the same account, nothing written;
    # one caught mid-race may be refused instead. Never a second account or a second audit event.
    user = User.objects.get(phone=phone)
    assert {r.pk for r in results if isinstance(r, User)} == {user.pk}
    assert AuditEvent.objects.filter(verb="user.register", object_id=str(user.pk)).count() == 1
