"""Races: a phone filing the same complaint twice at once (same Idempotency-Key), two handlers acting on one
complaint at the same moment, many parents filing at once (tracking numbers never collide). Real concurrent
transactions need PostgreSQL: the production lane."""


import pytest
from django.db import connection

from core.models import AuditEvent
from supervision.models import Complaint
from tests.concurrency import race
from tests.conftest import ApiClient, login_tokens, make_user

from .conftest import complaint_body, new_key

pytestmark = [
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="real concurrent transactions: production lane"),
]




def test_the_same_complaint_filed_four_times_at_once_is_filed_once(parent, registered):
    token, key = login_tokens(parent)["access"], new_key()
    body = complaint_body(registered)
    results = race([lambda: ApiClient(token).post("complaints", body, HTTP_IDEMPOTENCY_KEY=key)] * 4)
    statuses = sorted(r.status_code for r in results)
    assert statuses == [200, 200, 200, 201], [r.content for r in results]
    assert len({r.json()["id"] for r in results}) == 1
    assert Complaint.objects.count() == 1
    assert AuditEvent.objects.filter(verb="complaint.submit").count() == 1


def test_a_new_institution_filed_twice_at_once_is_recorded_once(parent):
    from institutions.models import Institution
    from tests.conftest import TOWN_A, region

    token, key = login_tokens(parent)["access"], new_key()
    body = complaint_body(
        new_institution_name="并发托管班", new_institution_address="敦仁街道 1 号", town_id=region(TOWN_A).pk
    )
    results = race([lambda: ApiClient(token).post("complaints", body, HTTP_IDEMPOTENCY_KEY=key)] * 3)
    assert sorted(r.status_code for r in results) == [200, 200, 201]
    assert Institution.objects.filter(name="并发托管班").count() == 1


def test_tracking_numbers_never_collide(registered):
    from accounts.models import Role

    parents = [make_user(f"家长{i}", Role.PARENT, phone=f"1390000010{i}", username=None) for i in range(6)]
    tokens = [login_tokens(p)["access"] for p in parents]
    body = complaint_body(registered)
    results = race([lambda t=t: ApiClient(t).post("complaints", body) for t in tokens])
    assert all(r.status_code == 201 for r in results), [r.content for r in results]
    numbers = sorted(r.json()["tracking_number"] for r in results)
    assert len(set(numbers)) == 6
    assert all(r.json()["tracking_number"].endswith(f"-{r.json()['id']:04d}") for r in results)


def test_two_handlers_acting_at_the_same_moment_one_wins_the_other_gets_409(parent, registered, staff_a, supervisor):
    cid = ApiClient(login_tokens(parent)["access"]).post("complaints", complaint_body(registered)).json()["id"]
    a, s = login_tokens(staff_a)["access"], login_tokens(supervisor)["access"]
    results = race(
        [
            lambda: ApiClient(a).post(f"complaints/{cid}/actions", {"action": "accept"}),
            lambda: ApiClient(s).post(
                f"complaints/{cid}/actions",
                {"action": "reject", "reason": "out_of_remit", "comment": "不属于教育部门职责。"},
            ),
        ]
    )
    statuses = sorted(r.status_code for r in results)
    assert statuses == [200, 409], [r.content for r in results]
    loser = next(r for r in results if r.status_code == 409).json()["error"]
    assert loser["code"] in {"complaint.invalid_transition", "complaint.conflict"}
    c = Complaint.objects.get(pk=cid)
    assert c.status in {"accepted", "rejected"} and c.version == 2
    assert AuditEvent.objects.filter(object_id=str(cid), verb__in=["complaint.accept", "complaint.reject"]).count() == 1


def test_the_same_action_twice_at_once_happens_once(parent, registered, staff_a, supervisor):
    cid = ApiClient(login_tokens(parent)["access"]).post("complaints", complaint_body(registered)).json()["id"]
    tokens = [login_tokens(staff_a)["access"], login_tokens(supervisor)["access"]] * 2
    results = race([lambda t=t: ApiClient(t).post(f"complaints/{cid}/actions", {"action": "accept"}) for t in tokens])
    assert sorted(r.status_code for r in results) == [200, 409, 409, 409]
    assert AuditEvent.objects.filter(object_id=str(cid), verb="complaint.accept").count() == 1
