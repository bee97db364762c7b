# ruff: noqa: F811 - fixtures imported from inspection_fixtures are used as arguments
"""Races of phones: the same batch sent twice at the same instant (a retry while the first is in flight) leaves one
copy of each record; two inspectors editing the same answer at once give one applied edit and one conflict, never a
lost update; two draws of one plan at once give one draw. Real concurrent transactions: the production lane."""

from __future__ import annotations

import pytest
from django.db import connection

from supervision.inspections import plans, sync
from supervision.models import ChecklistAnswer, PlanDraw, VisitRecord
from tests.concurrency import race
from tests.supervision.inspection_fixtures import make_plan, premises, record, team, visit  # noqa: F401

pytestmark = [
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="real concurrent transactions: production lane"),
]




def test_the_same_batch_twice_at_once_is_one_copy(visit, team):
    batch = [record(visit, "answer", {"item_code": c, "value": "yes"}) for c in ("LIC-1", "LIC-2", "PUB-1")]
    results = race([lambda: sync.sync_batch(actor=team[0], records=batch)] * 2)
    fates = sorted(tuple(sorted(f["status"] for f in r)) for r in results)
    assert fates == [("already_applied",) * 3, ("applied",) * 3], results
    assert VisitRecord.objects.count() == 3 and ChecklistAnswer.objects.count() == 3


def test_two_edits_of_one_answer_at_once_one_applies_one_conflicts(visit, team):
    sync.sync_batch(actor=team[0], records=[record(visit, "answer", {"item_code": "PUB-1", "value": "yes"})])
    edits = [record(visit, "answer", {"item_code": "PUB-1", "value": v}, base_version=1) for v in ("no", "na")]
    results = race([lambda i=i: sync.sync_batch(actor=team[i], records=[edits[i]]) for i in (0, 1)])
    assert sorted(r[0]["status"] for r in results) == ["applied", "conflict"], results
    answer = ChecklistAnswer.objects.get(item__code="PUB-1")
    assert answer.version == 2
    assert VisitRecord.objects.filter(state="conflict").count() == 1


def test_two_draws_of_one_plan_at_once_give_one_draw(bureau_staff, team, premises):
    plan = make_plan(bureau_staff, team, sampling_mode="overall", shares={"overall": 1})
    results = race([lambda: plans.plan_draw(actor=bureau_staff, plan_id=plan.pk, seed="s")] * 2)
    assert PlanDraw.objects.filter(plan=plan).count() == 1
    assert sum(isinstance(r, PlanDraw) for r in results) == 1  # the other needs a reason for a redraw


def test_two_phones_checking_out_one_visit_at_once_complete_it_once(visit, team):
    from core.models import AuditEvent

    sync.sync_batch(actor=team[0], records=[record(visit, "checkin", {"latitude": 29.7032, "longitude": 107.3897})])
    checkouts = [record(visit, "checkout", {}) for _ in (0, 1)]
    results = race([lambda i=i: sync.sync_batch(actor=team[i], records=[checkouts[i]]) for i in (0, 1)])
    # the second waits for the first's lock, then finds the visit complete: closed to records
    assert sorted((r[0]["status"], r[0]["code"]) for r in results) == [
        ("applied", ""), ("rejected", "sync.visit_closed")
    ], results
    events = AuditEvent.objects.filter(verb="inspection.status", object_id=str(visit.pk), to_state="complete")
    assert [(e.from_state, e.to_state) for e in events] == [("in_progress", "complete")]
    visit.refresh_from_db()
    assert visit.status == "complete" and visit.completed_at is not None


def test_two_first_draws_at_once_leave_one_draft_to_drawn_event(bureau_staff, team, premises):
    from core.models import AuditEvent

    plan = make_plan(bureau_staff, team, sampling_mode="overall", shares={"overall": 1})
    results = race([lambda: plans.plan_draw(actor=bureau_staff, plan_id=plan.pk, seed="s")] * 2)
    assert sorted(type(r).__name__ for r in results) == ["DomainError", "PlanDraw"], results
    events = AuditEvent.objects.filter(object_id=str(plan.pk), verb__startswith="inspection_plan.draw")
    assert [(e.from_state, e.to_state) for e in events] == [("draft", "drawn")]
