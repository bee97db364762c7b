"""Two people acting on one allocation at once (production lane, real transactions): two bureau reviewers approving
the same run, two school admins reviewing it, two withdrawals refunding one bill. One wins; the other gets a clear
409; nothing is written twice."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pytest
import time_machine
from django.db import connection

from afterschool.fees import allocation as fee_allocation
from afterschool.fees import services as fees
from afterschool.fees.models import AllocationRun, Refund
from afterschool.schedule import enrolment
from core.errors import DomainError
from core.models import AuditEvent
from tests.afterschool.conftest import SHANGHAI
from tests.afterschool.test_fee_helpers import build_term, bureau_of_town, take_attendance
from tests.concurrency import race
from tests.conftest import make_user

pytestmark = [
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="real concurrent transactions: production lane"),
]


@pytest.fixture
def scene(school_x, class_x, teacher_x, teacher_x2, parent, school_admin_x):
    s = build_term(school_x, class_x, teacher_x, teacher_x2, parent)
    fees.rate_set(actor=school_admin_x, term_id=s.term.pk, basis="per_lesson", amount="3.00")
    fees.bills_issue(actor=school_admin_x, term_id=s.term.pk)
    take_attendance(s)
    fee_allocation.plan_set(
        actor=school_admin_x, term_id=s.term.pk, shares={"teacher": 60, "outside": 20, "operations": 15, "reserve": 5}
    )
    fees.subsidy_add(actor=bureau_of_town(school_x.town), term_id=s.term.pk, amount="1000.00")
    return s


def _outcome(results):
    wins = [r for r in results if isinstance(r, AllocationRun)]
    losses = [r for r in results if isinstance(r, DomainError)]
    assert len(wins) + len(losses) == len(results), results  # nothing else (no deadlock, no integrity error)
    return wins, losses


def test_two_reviewers_approving_at_once_one_wins(scene, school_x, school_admin_x):
    run = fee_allocation.run_compute(actor=school_admin_x, term_id=scene.term.pk)
    fee_allocation.run_review(actor=school_admin_x, run_id=run.pk)
    approvers = iter(
        [bureau_of_town(school_x.town), make_user("区局科员", "bureau_staff", region=school_x.town.parent)]
    )
    users = [next(approvers), next(approvers)]
    calls = iter(users)

    def approve():
        return fee_allocation.run_approve(actor=next(calls), run_id=run.pk)

    wins, losses = _outcome(race(approve, n=2))
    assert len(wins) == 1
    assert [(e.code, e.status) for e in losses] == [("allocation.wrong_state", 409)]
    run.refresh_from_db()
    assert run.status == "approved" and run.approved_by_id == wins[0].approved_by_id
    assert AuditEvent.objects.filter(verb="afterschool.allocation_approved", object_id=str(run.pk)).count() == 1


def test_a_review_and_a_recompute_at_once_never_mix(scene, school_admin_x):
    run = fee_allocation.run_compute(actor=school_admin_x, term_id=scene.term.pk)
    calls = iter(["review", "compute", "review", "compute"])

    def act():
        what = next(calls)
        if what == "review":
            return fee_allocation.run_review(actor=school_admin_x, run_id=run.pk)
        return fee_allocation.run_compute(actor=school_admin_x, term_id=scene.term.pk)

    results = race(act, n=4)
    wins, losses = _outcome(results)
    assert all(e.status == 409 for e in losses)
    run.refresh_from_db()
    assert AllocationRun.objects.count() == 1
    assert run.status == "reviewed"
    assert run.lines.count() == 3  # lines of one computation, never half of two


def test_one_withdrawal_sent_twice_refunds_once(scene, school_admin_x):
    app = scene.apps[("李小红", "作业辅导")]
    with time_machine.travel(datetime(2026, 9, 10, 10, tzinfo=SHANGHAI), tick=False):
        results = race(lambda: enrolment.application_withdraw(actor=school_admin_x, application_id=app.pk), n=2)
    assert [e.code for e in results if isinstance(e, DomainError)] == ["application.not_live"]
    # Effective Fri 11 Sep: care lessons 14, 15, 16 Sep not attended, 3 × 3.00.
    assert list(Refund.objects.filter(application=app).values_list("amount", flat=True)) == [Decimal("9.00")]


def test_an_exemption_approved_and_rejected_at_once_is_decided_once(scene, school_admin_x, parent):
    e = fees.exemption_apply(actor=parent, student_id=scene.c1.pk, term_id=scene.term.pk, kind="exempt", reason="失业")
    results = race([
        lambda: fees.exemption_decide(actor=school_admin_x, exemption_id=e.pk, approve=True),
        lambda: fees.exemption_decide(actor=school_admin_x, exemption_id=e.pk, approve=False),
    ])
    losses = [r for r in results if isinstance(r, DomainError)]
    assert len(losses) == 1 and losses[0].code == "fee.exemption_decided", results
    e.refresh_from_db()
    events = AuditEvent.objects.filter(verb="afterschool.fee_exemption_decided", object_id=str(e.pk))
    assert [(x.from_state, x.to_state) for x in events] == [("applied", e.status)]
