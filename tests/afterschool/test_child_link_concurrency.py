"""A phone on a weak signal sends the same child-link request several times at once (one Idempotency-Key): one
request, one notice to the school, every call answered with it."""

import pytest
from django.db import connection

from afterschool.family import services as family
from afterschool.family.models import ChildLinkRequest
from core.models import Notification
from tests.concurrency import race

pytestmark = [
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="real concurrent transactions: production lane"),
]


def test_one_link_request_sent_four_times_at_once_is_stored_once(school_x, class_x, other_parent, school_admin_x):
    def send():
        return family.child_link_request(actor=other_parent, school_id=school_x.pk, grade=class_x.grade,
                                          class_number=class_x.number, child_name="刘小宇",
                                          idempotency_key="weak-signal-0001")  # fmt: skip

    results = race(send)
    assert all(isinstance(r, ChildLinkRequest) for r in results), results
    assert len({r.pk for r in results}) == 1
    assert ChildLinkRequest.objects.count() == 1
    assert Notification.objects.filter(recipient=school_admin_x, kind="afterschool.child_link_requested").count() == 1
