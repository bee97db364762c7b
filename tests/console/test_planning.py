# ruff: noqa: F811 - fixtures imported from inspection_fixtures are used as arguments
"""Inspection planning in the bureau console: create a plan (scope, sampling per risk grade, a pool picked by name
from the towns), preview the draw (per grade, who is left out and why), draw, follow the teams and their progress,
reassign a visit with a reason, finish and publish the results; sync conflicts, the orders board and penalties with
their ranges checked as typed. Bad input gets a clear message and changes nothing; others get 404."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from accounts.models import Role
from core.models import AuditEvent
from institutions.models import Status
from supervision.inspections import plans, sync
from supervision.models import Inspection, InspectionPlan, PenaltyDecision, PlanDraw
from tests.conftest import TOWN_A, TOWN_B, client_for, make_user, region
from tests.supervision.inspection_fixtures import make_plan, premises, record, team, visit  # noqa: F401

from .helpers import institutions

pytestmark = pytest.mark.django_db


def form(team_ids, **extra) -> dict:
    today = timezone.localdate()
    data = {
        "name": "第一季度抽查",
        "period_start": today.isoformat(),
        "period_end": (today + timedelta(days=30)).isoformat(),
        "region_id": str(region(TOWN_A).pk),
        "statuses": ["licensed"],
        "sampling_mode": "by_grade",
        "share_A": "100", "share_B": "100", "share_C": "100", "share_D": "100", "share_overall": "10",
        "team_size": "2",
        "inspector_ids": [str(i) for i in team_ids],
    }  # fmt: skip
    data.update(extra)
    return data


def test_staff_create_a_plan_picking_inspectors_by_name_from_their_towns(bureau_staff, team, premises):
    c = client_for(bureau_staff)
    page = c.get("/console/plans/new")
    html = page.content.decode()
    assert page.status_code == 200
    assert f'data-testid="pool-town-{region(TOWN_A).pk}"' in html and "督查员甲" in html  # by name, by town
    r = c.post("/console/plans/new", form([u.pk for u in team]))
    assert r.status_code == 302
    plan = InspectionPlan.objects.get(name="第一季度抽查")
    assert r["Location"] == f"/console/plans/{plan.pk}/"
    assert sorted(plan.inspectors.values_list("pk", flat=True)) == sorted(u.pk for u in team)
    assert plan.share_grade_a == 1


def test_a_pool_smaller_than_a_team_is_refused_with_a_clear_message(bureau_staff, team, premises):
    r = client_for(bureau_staff).post("/console/plans/new", form([team[0].pk, team[1].pk], team_size="3"))
    assert r.status_code == 422
    assert "检查人员库人数少于每组人数" in r.content.decode()
    assert not InspectionPlan.objects.exists()


def test_missing_fields_are_listed(bureau_staff, team):
    r = client_for(bureau_staff).post("/console/plans/new", form([], name="", period_start="x"))
    html = r.content.decode()
    assert r.status_code == 422
    assert "请填写计划名称" in html and "请填写开始日期" in html and "请从检查人员库中选择检查人员" in html


def test_preview_then_draw_then_follow_the_teams(bureau_staff, team, premises):
    others = institutions(3, TOWN_A, status=Status.LICENSED, risk_grade="C")
    recent = others[0]
    plan = make_plan(bureau_staff, team, sampling_mode="by_grade",
                     shares={"A": 1, "B": 1, "C": 1, "D": 1})  # fmt: skip
    Inspection.objects.create(institution=recent, town=recent.town, checklist_version=plan.checklist_version,
                              status="complete", completed_at=timezone.now() - timedelta(days=10))  # fmt: skip
    c = client_for(bureau_staff)
    page = c.get(f"/console/plans/{plan.pk}/")
    html = page.content.decode()
    preview = page.context["preview"]
    assert preview["candidates"] == 4 and preview["excluded_count"] == 1 and preview["to_draw"] == 3
    assert recent.name in html and "天内已检查" in html  # who is left out, and why
    r = c.post(f"/console/plans/{plan.pk}/draw", {"seed": "s1"})
    assert r.status_code == 302
    page = c.get(f"/console/plans/{plan.pk}/")
    html = page.content.decode()
    assert page.context["total"] == 3
    progress = {p["status"]: p["n"] for p in page.context["progress"]}
    assert progress == {"assigned": 3, "in_progress": 0, "awaiting_photos": 0, "complete": 0}
    assert "督查员" in html and 'data-testid="reassign-' in html
    # A second draw needs a reason: refused without one, nothing redrawn.
    again = c.post(f"/console/plans/{plan.pk}/draw", {"seed": "s2"})
    assert again.status_code == 422 and "重新抽取须说明原因" in again.content.decode()
    assert PlanDraw.objects.filter(plan=plan).count() == 1


def test_a_draw_over_an_empty_scope_says_why(bureau_staff, team, premises):
    plan = make_plan(bureau_staff, team, categories=["science"])  # no science institution in town A
    c = client_for(bureau_staff)
    page = c.get(f"/console/plans/{plan.pk}/")
    assert 'data-testid="preview-empty"' in page.content.decode()
    r = c.post(f"/console/plans/{plan.pk}/draw", {})
    assert r.status_code == 422
    assert "范围内没有可抽取的机构" in r.content.decode()
    assert not PlanDraw.objects.filter(plan=plan).exists()
    plan.refresh_from_db()
    assert plan.status == "draft"


def test_reassign_a_visit_with_a_reason(bureau_staff, team, visit):
    c = client_for(bureau_staff)
    url = f"/console/plans/visits/{visit.pk}/reassign"
    assert c.get(url).status_code == 200
    before = sorted(visit.assignments.values_list("inspector_id", flat=True))
    new_team = sorted({team[1].pk, team[2].pk})
    no_reason = c.post(url, {"inspector_ids": new_team, "reason": ""})
    assert no_reason.status_code == 422 and "请说明改派原因" in no_reason.content.decode()
    assert sorted(visit.assignments.values_list("inspector_id", flat=True)) == before
    r = c.post(url, {"inspector_ids": new_team, "reason": "督查员甲病假"})
    assert r.status_code == 302
    assert sorted(visit.assignments.values_list("inspector_id", flat=True)) == new_team
    event = AuditEvent.objects.get(verb="inspection.reassign")
    assert event.data["reason"] == "督查员甲病假" and event.data["from"] == before
    too_small = c.post(url, {"inspector_ids": [team[0].pk], "reason": "x"})
    assert too_small.status_code == 422


def test_finish_and_publish_at_once_with_a_reason(bureau_staff, team, visit):
    sync.sync_batch(actor=team[0], records=[record(visit, "checkin", {"latitude": 29.7031, "longitude": 107.3896}),
                                            record(visit, "checkout")])  # fmt: skip
    c = client_for(bureau_staff)
    plan = visit.plan
    assert c.post(f"/console/plans/{plan.pk}/finish").status_code == 302
    plan.refresh_from_db()
    assert plan.status == "finished" and plan.publish_on > timezone.localdate()
    early = c.post(f"/console/plans/{plan.pk}/publish", {"reason": ""})
    assert early.status_code == 422 and "提前公示须说明原因" in early.content.decode()
    assert c.get("/inspections/results/").context["results"] == []
    assert c.post(f"/console/plans/{plan.pk}/publish", {"reason": "区政府要求本周公开"}).status_code == 302
    plan.refresh_from_db()
    assert plan.published_at is not None
    results = c.get("/inspections/results/").context["results"]
    assert [r["institution_id"] for r in results] == [visit.institution_id]
    assert AuditEvent.objects.get(verb="inspection_plan.publish").data["reason"] == "区政府要求本周公开"
    again = c.post(f"/console/plans/{plan.pk}/publish", {"reason": "x"})
    assert again.status_code == 409


@pytest.mark.parametrize("who", ["parent", "inspector_a", "school_admin_x", "institution_staff"])
def test_others_get_404(request, who, bureau_staff, team, visit):
    c = client_for(request.getfixturevalue(who))
    plan = visit.plan
    for url in (
        "/console/plans/",
        "/console/plans/new",
        f"/console/plans/{plan.pk}/",
        f"/console/plans/visits/{visit.pk}/reassign",
        "/console/inspections/conflicts/",
        "/console/inspections/orders/",
        "/console/inspections/penalties/",
        "/console/inspectors.json",
    ):
        assert c.get(url).status_code == 404, url
    assert c.post(f"/console/plans/{plan.pk}/draw", {"reason": "x"}).status_code == 404


def test_staff_of_another_town_get_404_for_the_plan(team, visit):
    staff_b = make_user("李渡科员", Role.BUREAU_STAFF, region=region(TOWN_B))
    c = client_for(staff_b)
    assert c.get(f"/console/plans/{visit.plan_id}/").status_code == 404
    assert c.get(f"/console/plans/visits/{visit.pk}/reassign").status_code == 404
    assert c.get("/console/plans/").context["page"].paginator.count == 0


def test_inspectors_json_lists_the_towns_inspectors_by_name(bureau_staff, team, inspector_b):
    body = client_for(bureau_staff).get("/console/inspectors.json", {"q": "督查员"}).json()
    names = {i["name"] for i in body["items"]}
    assert {"督查员甲", "督查员乙", "督查员2"} <= names
    staff_a = make_user("敦仁科员", Role.BUREAU_STAFF, region=region(TOWN_A))
    names_a = {i["name"] for i in client_for(staff_a).get("/console/inspectors.json").json()["items"]}
    assert "督查员乙" not in names_a and "督查员甲" in names_a


def test_conflicts_are_reviewed_on_a_page(bureau_staff, team, visit):
    sync.sync_batch(actor=team[0], records=[record(visit, "answer", {"item_code": "PUB-1", "value": "yes"})])
    sync.sync_batch(actor=team[1], records=[record(visit, "answer", {"item_code": "PUB-1", "value": "no"},
                                                   base_version=1)])  # fmt: skip
    late = record(visit, "answer", {"item_code": "PUB-1", "value": "na"}, base_version=1)
    sync.sync_batch(actor=team[0], records=[late])
    c = client_for(bureau_staff)
    page = c.get("/console/inspections/conflicts/")
    assert page.context["page"].paginator.count == 1
    assert f'data-testid="conflict-{late["uuid"]}"' in page.content.decode()
    row = page.context["rows"][0]
    r = c.post(f"/console/inspections/conflicts/{late['uuid']}/resolve",
               {"choice": "client", "note": "现场复核", "server_version": row["server_version"] or ""})  # fmt: skip
    assert r.status_code == 302
    assert c.get("/console/inspections/conflicts/").context["page"].paginator.count == 0
    bad = c.post(f"/console/inspections/conflicts/{uuid.uuid4()}/resolve", {"choice": "client"})
    assert bad.status_code == 404


def test_orders_board(bureau_staff, team, visit):
    from supervision.inspections import rectification

    sync.sync_batch(actor=team[0], records=[record(visit, "finding", {"item_code": "PUB-1", "description": "未公示"})])
    finding = visit.findings.get()
    today = timezone.localdate()
    rectification.order_issue(
        actor=team[0], finding_id=finding.pk, evidence_required="公示", due_on=today + timedelta(days=3)
    )
    page = client_for(bureau_staff).get("/console/inspections/orders/")
    counts = {col["key"]: col["count"] for col in page.context["board"]}
    assert counts == {"due_soon": 1, "overdue": 0, "to_verify": 0}


def test_penalty_amount_is_checked_as_typed_and_on_saving(bureau_staff, premises):
    c = client_for(bureau_staff)
    check = c.get("/console/inspections/penalties/check",
                  {"kind": "fine", "violation": "disguised_subject", "amount": "60000"})  # fmt: skip
    assert check.status_code == 200 and "罚款金额须在" in check.content.decode()
    ok = c.get("/console/inspections/penalties/check",
               {"kind": "fine", "violation": "disguised_subject", "amount": "30000"})  # fmt: skip
    assert "范围内" in ok.content.decode()
    data = {"institution_id": premises.pk, "kind": "fine", "violation": "disguised_subject", "amount": "60000",
            "legal_basis": "教育部令第53号", "reason": "隐形变异学科类培训"}  # fmt: skip
    r = c.post("/console/inspections/penalties/", data)
    assert r.status_code == 422 and "罚款金额须在" in r.content.decode()
    assert not PenaltyDecision.objects.exists()
    r = c.post("/console/inspections/penalties/", {**data, "amount": "30000"})
    assert r.status_code == 302
    assert PenaltyDecision.objects.get().amount == 30000
    found = c.get("/console/inspections/institutions", {"institution_q": premises.name[:2]})
    assert premises.name in found.content.decode()


def test_plan_page_queries_do_not_grow_with_its_visits(bureau_staff, team, premises, django_assert_max_num_queries):
    institutions(4, TOWN_A, status=Status.LICENSED)
    small = make_plan(bureau_staff, team, sampling_mode="overall", shares={"overall": 1})
    plans.plan_draw(actor=bureau_staff, plan_id=small.pk, seed="a")
    c = client_for(bureau_staff)
    with django_assert_max_num_queries(40) as q1:
        c.get(f"/console/plans/{small.pk}/")
    institutions(20, TOWN_B, status=Status.LICENSED)
    district = region(TOWN_A).parent_id
    big = make_plan(bureau_staff, team, sampling_mode="overall", shares={"overall": 1}, region_id=district)
    plans.plan_draw(actor=bureau_staff, plan_id=big.pk, seed="b")
    with django_assert_max_num_queries(40) as q2:
        c.get(f"/console/plans/{big.pk}/")
    assert len(q2) <= len(q1) + 1


def test_the_demo_has_published_results(django_capture_on_commit_callbacks):
    from django.core.management import call_command

    with django_capture_on_commit_callbacks(execute=True):
        call_command("seed_demo")
    published = InspectionPlan.objects.get(name="2026 年第三季度双随机抽查（已公示）")
    assert published.status == "finished" and published.published_at is not None
    results = Client().get("/inspections/results/").context["results"]
    assert results and {r["result"] for r in results} >= {"compliant", "rectification"}
    count = Inspection.objects.count()
    call_command("seed_demo")
    assert Inspection.objects.count() == count


def test_the_api_lists_inspectors_in_scope_and_publishes_a_plan(api_as, bureau_staff, team, visit, parent):
    body = api_as(bureau_staff).get("inspectors", {"q": "督查员"}).json()
    assert {"督查员甲", "督查员2"} <= {i["name"] for i in body["items"]} and body["count"] >= 3
    assert api_as(parent).get("inspectors").json()["items"] == []
    sync.sync_batch(actor=team[0], records=[record(visit, "checkin", {"latitude": 29.7031, "longitude": 107.3896}),
                                            record(visit, "checkout")])  # fmt: skip
    plans.plan_finish(actor=bureau_staff, plan_id=visit.plan_id)
    early = api_as(bureau_staff).post(f"inspection-plans/{visit.plan_id}/publish", {})
    assert early.status_code == 422 and early.json()["error"]["code"] == "plan.publish_reason_required"
    done = api_as(bureau_staff).post(f"inspection-plans/{visit.plan_id}/publish", {"reason": "提前公开"})
    assert done.status_code == 200
    assert InspectionPlan.objects.get(pk=visit.plan_id).published_at is not None
