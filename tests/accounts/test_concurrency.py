"""Races a phone on a weak signal makes happen: the same refresh token or SMS code sent twice at once."""

import threading

import pytest
from django.db import connection, connections

from accounts.models import SmsCode, User
from accounts.services import _code_hash, auth_refresh, parent_register
from core.errors import DomainError
from tests.conftest import login_tokens

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="real concurrent transactions: production lane"),
]


def race(fn, n=4):
    """Run fn in n threads released together; return what each returned or raised."""
    barrier = threading.Barrier(n)
    results = [None] * n

    def worker(i):
        barrier.wait()
        try:
            results[i] = fn()
        except Exception as exc:  # noqa: BLE001 - collected for the assertions
            results[i] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return results


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
    assert sum(isinstance(r, User) for r in results) == 1
    assert all(isinstance(r, (User, DomainError)) for r in results), results
    assert User.objects.filter(phone=phone).count() == 1
