# ruff: noqa: F811 - fixtures imported from inspection_fixtures are used as arguments
"""Plans and draws through the API: reproducible from the recorded seed, redraw with a reason kept in the audit
trail, recent visits left out, conflicts respected, inspectors told, candidates read in a bounded number of queries."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from core.errors import DomainError
from core.models import AuditEvent, Notification
from supervision.inspections import plans
from supervision.models import ConflictDeclaration, Inspection, InspectionStatus, PlanDraw
from tests.conftest import TOWN_A, TOWN_B, assert_error, region
from tests.factories import InspectionFactory
from tests.institutions.helpers import make_institution
from tests.supervision.inspection_fixtures import ensure_checklist, make_plan, team  # noqa: F401

pytestmark = pytest.mark.django_db


def registry(n, town=TOWN_A):
    grades = "AAAAABBBCD"
    return [make_institution(f"机构{town}-{i}", town=town, risk_grade=grades[i % 10]) for i in range(n)]


def plan_body(team, **extra):
    return {
        "name": "2026 年第四季度双随机抽查",
        "period_start": "2026-11-01",
        "period_end": "2026-12-31",
        "region_id": region(TOWN_A).pk,
        "inspector_ids": [u.pk for u in team],
        **extra,
    }


def test_plan_defaults_come_from_r_insp_1(api_as, bureau_staff, team):
    r = api_as(bureau_staff).post("inspection-plans", plan_body(team))
    assert r.status_code == 201, r.content
    body = r.json()
    shares = {k: Decimal(v) for k, v in body["shares"].items()}
    assert shares == {"overall": Decimal("0.1"), "A": Decimal("0.05"), "B": Decimal("0.1"), "C": Decimal("0.2"),
                      "D": Decimal("0.4")}  # fmt: skip
    assert body["team_size"] == 2 and body["recent_days_excluded"] == 180 and body["status"] == "draft"


def test_a_team_of_one_is_refused(api_as, bureau_staff, team):
    r = api_as(bureau_staff).post("inspection-plans", plan_body(team, team_size=1))
    assert_error(r, 422, "request.invalid")
    r = api_as(bureau_staff).post("inspection-plans", plan_body(team[:1]))
    assert_error(r, 422)


def test_the_same_seed_on_the_same_inputs_draws_the_same_and_a_redraw_keeps_the_first(api_as, bureau_staff, team):
    registry(60)
    client = api_as(bureau_staff)
    plan_id = client.post("inspection-plans", plan_body(team)).json()["id"]
    first = client.post(f"inspection-plans/{plan_id}/draw", {"seed": "涪陵-2026Q4"})
    assert first.status_code == 201, first.content
    first = first.json()
    assert first["seed"] == "涪陵-2026Q4" and first["draw"] == 1 and first["candidates"] == 60
    assert first["strata"]["D"] == {"candidates": 6, "drawn": 3}  # 40 % of 6, rounded up
    assert all(len(a["inspector_ids"]) == 2 for a in first["assignments"])

    assert_error(client.post(f"inspection-plans/{plan_id}/draw", {"seed": "x"}), 422, "plan.redraw_reason_required")
    again = client.post(f"inspection-plans/{plan_id}/draw", {"seed": "涪陵-2026Q4", "reason": "核对抽取结果"}).json()
    assert again["assignments"] == first["assignments"] and again["draw"] == 2

    other = client.post(f"inspection-plans/{plan_id}/draw", {"seed": "另一个种子", "reason": "人员调整"}).json()
    assert other["assignments"] != first["assignments"]
    draws = list(PlanDraw.objects.filter(plan_id=plan_id).order_by("number"))
    assert [d.is_current for d in draws] == [False, False, True]
    assert draws[0].result["assignments"] == first["assignments"]  # the first draw is kept
    events = AuditEvent.objects.filter(object_id=str(plan_id), verb__startswith="inspection_plan.").order_by("id")
    assert [e.verb for e in events][1:] == ["inspection_plan.draw", "inspection_plan.redraw", "inspection_plan.redraw"]
    assert events.last().data["reason"] == "人员调整" and events.last().data["previous_seed"] == "涪陵-2026Q4"
    # Only the current draw's visits are live; the earlier ones are cancelled, not deleted.
    live = Inspection.objects.filter(plan_id=plan_id).exclude(status=InspectionStatus.CANCELLED)
    assert live.count() == len(other["assignments"])
    assert Inspection.objects.filter(plan_id=plan_id, status=InspectionStatus.CANCELLED).count() == 2 * len(
        first["assignments"]
    )


def test_inspectors_are_told_of_their_visits(api_as, bureau_staff, team, django_capture_on_commit_callbacks):
    registry(20)
    client = api_as(bureau_staff)
    plan_id = client.post("inspection-plans", plan_body(team, sampling_mode="overall")).json()["id"]
    with django_capture_on_commit_callbacks(execute=True):
        drawn = client.post(f"inspection-plans/{plan_id}/draw", {"seed": "s"}).json()
    told = {n.recipient_id for n in Notification.objects.filter(kind="inspection.assigned")}
    assert told == {uid for a in drawn["assignments"] for uid in a["inspector_ids"]}


def test_recently_inspected_institutions_are_left_out(bureau_staff, team):
    insts = registry(10)
    recent = insts[0]
    done = InspectionFactory(
        institution=recent,
        status=InspectionStatus.COMPLETE,
        completed_at=timezone.now() - timedelta(days=30),
    )
    plan = make_plan(bureau_staff, team, sampling_mode="overall", shares={"overall": 1})
    record = plans.plan_draw(actor=bureau_staff, plan_id=plan.pk, seed="s")
    drawn = {a["institution_id"] for a in record.result["assignments"]}
    assert recent.pk not in drawn and len(drawn) == 9
    # Beyond the plan's window it is a candidate again.
    Inspection.objects.filter(pk=done.pk).update(completed_at=timezone.now() - timedelta(days=400))
    plan2 = make_plan(bureau_staff, team, sampling_mode="overall", shares={"overall": 1})
    assert recent.pk in {
        a["institution_id"] for a in plans.plan_draw(actor=bureau_staff, plan_id=plan2.pk).result["assignments"]
    }


def test_an_inspector_never_goes_where_they_declared_a_conflict(api_as, bureau_staff, team):
    insts = registry(12)
    conflicted = insts[3]
    r = api_as(team[0]).post("inspection-conflicts", {"institution_id": conflicted.pk, "reason": "亲属任职"})
    assert r.status_code == 201
    plan = make_plan(bureau_staff, team[:2], sampling_mode="overall", shares={"overall": 1})
    result = plans.plan_draw(actor=bureau_staff, plan_id=plan.pk, seed="s").result
    assert conflicted.pk in result["unstaffed"]  # a pool of two with one conflicted: no team, flagged
    assert all(a["institution_id"] != conflicted.pk for a in result["assignments"])
    plan3 = make_plan(bureau_staff, team, sampling_mode="overall", shares={"overall": 1})
    result = plans.plan_draw(actor=bureau_staff, plan_id=plan3.pk, seed="s").result
    team_there = next(a for a in result["assignments"] if a["institution_id"] == conflicted.pk)
    assert team[0].pk not in team_there["inspector_ids"]
    assert ConflictDeclaration.objects.count() == 1


def test_the_draw_reads_its_candidates_in_a_bounded_number_of_queries(bureau_staff, team):
    def queries_for(n):
        registry(n, town=TOWN_A)
        plan = make_plan(bureau_staff, team)
        with CaptureQueriesContext(connection) as ctx:
            plans.draw_inputs(plan)
        return len(ctx.captured_queries)

    assert queries_for(10) == queries_for(100) <= 5


def test_the_draw_writes_in_a_bounded_number_of_queries(bureau_staff, team):
    def queries_for(n):
        registry(n)
        plan = make_plan(bureau_staff, team, sampling_mode="overall", shares={"overall": 1})
        with CaptureQueriesContext(connection) as ctx:
            plans.plan_draw(actor=bureau_staff, plan_id=plan.pk, seed="s")
        Inspection.objects.all().delete()
        return len(ctx.captured_queries)

    small, large = queries_for(10), queries_for(100)
    assert large - small <= 2, (small, large)  # bulk inserts may split into batches on SQLite


def test_plans_and_draws_of_others_answer_404(api_as, bureau_staff, team, inspector_b):
    from accounts.models import Role
    from tests.conftest import make_user

    staff_b = make_user("李渡科员", Role.BUREAU_STAFF, region=region(TOWN_B))
    plan = make_plan(bureau_staff, team)
    assert_error(api_as(staff_b).post(f"inspection-plans/{plan.pk}/draw", {"seed": "s"}), 404, "not_found")
    assert_error(api_as(inspector_b).get(f"inspection-plans/{plan.pk}"), 404, "not_found")
    assert_error(api_as(team[0]).post(f"inspection-plans/{plan.pk}/draw", {"seed": "s"}), 404)
    assert api_as(bureau_staff).get(f"inspection-plans/{plan.pk}").status_code == 200


def test_a_plan_draws_only_within_its_scope_of_towns_categories_and_statuses(api_as, bureau_staff, team):
    from accounts.models import Role
    from tests.conftest import DISTRICT, make_user

    inside = [
        make_institution("敦仁体育一", town=TOWN_A, category="sports"),
        make_institution("敦仁体育二", town=TOWN_A, category="sports", status="rectifying"),
    ]
    make_institution("敦仁美术", town=TOWN_A, category="arts")  # another category
    make_institution("敦仁体育停办", town=TOWN_A, category="sports", status="suspended")  # another status
    make_institution("李渡体育", town=TOWN_B, category="sports")  # another town
    body = plan_body(
        team, region_id=region(DISTRICT).pk, town_ids=[region(TOWN_A).pk], categories=["sports"],
        statuses=["licensed", "rectifying"], sampling_mode="overall", shares={"overall": "1"},
    )  # fmt: skip
    client = api_as(bureau_staff)
    plan = client.post("inspection-plans", body)
    assert plan.status_code == 201, plan.content
    drawn = client.post(f"inspection-plans/{plan.json()['id']}/draw", {"seed": "scope"}).json()
    assert sorted(a["institution_id"] for a in drawn["assignments"]) == sorted(i.pk for i in inside)
    assert drawn["candidates"] == 2
    # A town's bureau plans only within its own towns.
    staff_a = make_user("敦仁科员", Role.BUREAU_STAFF, region=region(TOWN_A))
    outside = plan_body(team, town_ids=[region(TOWN_B).pk])
    assert_error(api_as(staff_a).post("inspection-plans", outside), 422, "plan.scope_outside")
    assert_error(api_as(staff_a).post("inspection-plans", plan_body(team, categories=["cooking"])), 422)


def test_a_draw_and_a_redraw_are_audited_from_to_with_each_cancelled_visit(bureau_staff, team):
    registry(20)
    plan = make_plan(bureau_staff, team, sampling_mode="overall", shares={"overall": Decimal("0.2")})
    first = plans.plan_draw(actor=bureau_staff, plan_id=plan.pk, seed="a")
    plans.plan_draw(actor=bureau_staff, plan_id=plan.pk, seed="b", reason="人员调整")
    verbs = ["inspection_plan.draw", "inspection_plan.redraw"]
    moves = AuditEvent.objects.filter(object_id=str(plan.pk), verb__in=verbs)
    assert [(e.verb, e.from_state, e.to_state) for e in moves.order_by("id")] == [
        ("inspection_plan.draw", "draft", "drawn"),
        ("inspection_plan.redraw", "drawn", "drawn"),
    ]
    cancelled = AuditEvent.objects.filter(verb="inspection.cancel", object_type="supervision.inspection")
    assert sorted(int(e.object_id) for e in cancelled) == sorted(first.visits.values_list("pk", flat=True))
    assert {(e.from_state, e.to_state, e.actor_id) for e in cancelled} == {("assigned", "cancelled", bureau_staff.pk)}
    plan.refresh_from_db()
    assert plan.status == "drawn" and plan.seed == "b"

    plans.plan_finish(actor=bureau_staff, plan_id=plan.pk)
    with pytest.raises(DomainError) as refused:
        plans.plan_draw(actor=bureau_staff, plan_id=plan.pk, seed="c", reason="再抽")
    assert refused.value.code == "plan.finished" and refused.value.status == 409
