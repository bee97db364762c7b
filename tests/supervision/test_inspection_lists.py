# ruff: noqa: F811 - fixtures imported from inspection_fixtures are used as arguments
"""Lists of plans, visits, penalties and rectification orders: each role sees its scope (inspectors their own visits,
town bureau staff their towns, the district supervisor all, institution staff only their own orders), filters work,
and a page of 100 rows costs the same queries as a page of 10."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import Role
from supervision.inspections import penalties, rectification
from supervision.models import PenaltyDecision
from tests.conftest import DISTRICT, TOWN_A, TOWN_B, assert_error, make_user, region
from tests.factories import FindingFactory, InspectionFactory, InspectionPlanFactory
from tests.supervision.inspection_fixtures import make_plan, premises, team, visit  # noqa: F401

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(db, team, inspector_b, institution_staff):
    return {
        "inspector": team[0],
        "other_inspector": team[2],  # town A, not on the visit's team
        "inspector_b": inspector_b,
        "staff_a": make_user("敦仁科员", Role.BUREAU_STAFF, region=region(TOWN_A)),
        "staff_b": make_user("李渡科员", Role.BUREAU_STAFF, region=region(TOWN_B)),
        "supervisor": make_user("区督导", Role.BUREAU_ADMIN, region=region(DISTRICT)),
        "institution_staff": institution_staff,  # of another institution
    }


def ids(client, path, params=None):
    r = client.get(path, params)
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["count"] == len(body["items"]) or body["count"] > len(body["items"])
    return [row["id"] for row in body["items"]]


def count_queries(client, path, params):
    client.get(path, params)  # warm: the token lookup may be cached after the first request (production lane)
    with CaptureQueriesContext(connection) as ctx:
        r = client.get(path, params)
    assert r.status_code == 200, r.content
    return len(ctx), r.json()


# --- Visits --------------------------------------------------------------------------------------------------------


def test_visits_each_role_sees_its_scope(api_as, anon, visit, people):
    sees = {"inspector", "staff_a", "supervisor"}
    for name, user in people.items():
        client = api_as(user)
        assert ids(client, "inspections") == ([visit.pk] if name in sees else []), name
        detail = client.get(f"inspections/{visit.pk}")
        if name in sees:
            assert detail.status_code == 200 and detail.json()["id"] == visit.pk, name
        else:
            assert_error(detail, 404, "not_found")
    assert_error(anon.get("inspections"), 401)


def test_visits_filters_by_plan_status_institution_and_period(api_as, visit, people, team, bureau_staff):
    client = api_as(people["supervisor"])
    other = make_plan(bureau_staff, team[:2], name="另一计划")
    assert ids(client, "inspections", {"plan_id": visit.plan_id}) == [visit.pk]
    assert ids(client, "inspections", {"plan_id": other.pk}) == []
    assert ids(client, "inspections", {"status": "assigned"}) == [visit.pk]
    assert ids(client, "inspections", {"status": "complete"}) == []
    assert ids(client, "inspections", {"institution_id": visit.institution_id}) == [visit.pk]
    assert ids(client, "inspections", {"institution_id": visit.institution_id + 1000}) == []
    due = visit.due_by  # the plan's last day
    assert ids(client, "inspections", {"date_from": str(due), "date_to": str(due)}) == [visit.pk]
    assert ids(client, "inspections", {"date_from": str(due + timedelta(days=1))}) == []
    assert ids(client, "inspections", {"date_to": str(due - timedelta(days=1))}) == []
    row = client.get("inspections").json()["items"][0]
    assert row["institution_name"] == "敦仁美术培训学校" and row["open_conflicts"] == 0
    assert row["inspector_ids"] == sorted(u.pk for u in team[:2])
    assert_error(client.get("inspections", {"status": "nope"}), 422)


def make_visits(n, inspector):
    InspectionFactory.create_batch(n, inspectors=[inspector])


def test_visits_cost_the_same_for_10_and_100_rows(api_as, people):
    mine, everyone = api_as(people["inspector"]), api_as(people["supervisor"])
    make_visits(10, people["inspector"])
    small_i, body = count_queries(mine, "inspections", {"page_size": 100})
    small_s, _ = count_queries(everyone, "inspections", {"page_size": 100})
    assert body["count"] == 10
    make_visits(90, people["inspector"])
    large_i, body = count_queries(mine, "inspections", {"page_size": 100})
    large_s, _ = count_queries(everyone, "inspections", {"page_size": 100})
    assert len(body["items"]) == 100 and (large_i, large_s) == (small_i, small_s)


# --- Plans ---------------------------------------------------------------------------------------------------------


def test_plans_town_staff_see_their_towns_the_district_all(api_as, visit, people, team, bureau_staff):
    town_plan = visit.plan  # run by 敦仁街道 (town A)
    district_plan = make_plan(bureau_staff, team[:2], name="全区计划", region_id=region(DISTRICT).pk)
    assert ids(api_as(people["staff_a"]), "inspection-plans") == [town_plan.pk]
    assert ids(api_as(people["supervisor"]), "inspection-plans") == [district_plan.pk, town_plan.pk]
    for name in ("staff_b", "inspector", "inspector_b", "institution_staff"):
        assert ids(api_as(people[name]), "inspection-plans") == [], name
        assert_error(api_as(people[name]).get(f"inspection-plans/{town_plan.pk}"), 404, "not_found")
    assert_error(api_as(people["staff_a"]).get(f"inspection-plans/{district_plan.pk}"), 404, "not_found")
    row = api_as(people["staff_a"]).get("inspection-plans").json()["items"][0]
    assert row["status"] == "drawn" and row["visits_total"] == 1 and row["visits_complete"] == 0
    client = api_as(people["supervisor"])
    assert ids(client, "inspection-plans", {"status": "draft"}) == [district_plan.pk]
    assert ids(client, "inspection-plans", {"date_from": "2027-01-01"}) == []
    assert ids(client, "inspection-plans", {"date_to": "2026-11-01"}) == [district_plan.pk, town_plan.pk]


def test_plans_cost_the_same_for_10_and_100_rows(api_as, people, bureau_staff):
    def plans(n):
        InspectionPlanFactory.create_batch(n, created_by=bureau_staff)

    client = api_as(people["staff_a"])
    plans(10)
    small, _ = count_queries(client, "inspection-plans", {"page_size": 100})
    plans(90)
    large, body = count_queries(client, "inspection-plans", {"page_size": 100})
    assert len(body["items"]) == 100 and large == small


# --- Penalties -----------------------------------------------------------------------------------------------------


def test_penalties_each_role_sees_its_scope(api_as, visit, people, bureau_staff):
    decision, _ = penalties.penalty_decide(
        actor=bureau_staff, institution_id=visit.institution_id, inspection_id=visit.pk, kind="warning",
        violation="other", legal_basis="教育部令第53号", reason="未公示收费标准",
    )  # fmt: skip
    sees = {"inspector", "staff_a", "supervisor"}
    for name, user in people.items():
        client = api_as(user)
        assert ids(client, "penalties") == ([decision.pk] if name in sees else []), name
        got = client.get(f"penalties/{decision.pk}")
        if name in sees:
            assert got.status_code == 200 and got.json()["kind"] == "warning"
        else:
            assert_error(got, 404, "not_found")
    # The institution's own staff see their orders and published results, not the bureau's case files.
    own = make_user("本机构员工", Role.INSTITUTION_STAFF, institution=visit.institution)
    assert ids(api_as(own), "penalties") == []
    client = api_as(people["supervisor"])
    assert ids(client, "penalties", {"kind": "fine"}) == []
    assert ids(client, "penalties", {"institution_id": visit.institution_id, "kind": "warning"}) == [decision.pk]
    today = timezone.localdate()
    assert ids(client, "penalties", {"date_from": str(today), "date_to": str(today)}) == [decision.pk]
    assert ids(client, "penalties", {"date_from": str(today + timedelta(days=1))}) == []


def test_penalties_cost_the_same_for_10_and_100_rows(api_as, people, premises, bureau_staff):
    def decide(n):
        PenaltyDecision.objects.bulk_create(
            PenaltyDecision(
                institution=premises,
                town=premises.town,
                kind="fine",
                violation="disguised_subject",
                legal_basis="教育部令第53号",
                amount="1000.00",
                reason="r",
                decided_by=bureau_staff,
            )  # fmt: skip
            for _ in range(n)
        )

    client = api_as(people["staff_a"])
    decide(10)
    small, _ = count_queries(client, "penalties", {"page_size": 100})
    decide(90)
    large, body = count_queries(client, "penalties", {"page_size": 100})
    assert len(body["items"]) == 100 and large == small and body["items"][0]["amount"] == "1000.00"


# --- Rectification orders ------------------------------------------------------------------------------------------


def orders_for(visit, inspector, n):
    made = []
    for i in range(n):
        f = FindingFactory(inspection=visit, description=f"问题{i}")
        made.append(rectification.order_issue(actor=inspector, finding_id=f.pk, evidence_required="整改"))
    return made


def test_orders_institution_staff_see_only_their_own_and_filters(api_as, visit, people, team):
    own = make_user("本机构员工", Role.INSTITUTION_STAFF, institution=visit.institution)
    [first, second] = orders_for(visit, team[0], 2)
    sees = {"inspector", "staff_a", "supervisor"}
    for name, user in {**people, "own": own}.items():
        expected = [first.pk, second.pk] if name in sees | {"own"} else []
        assert ids(api_as(user), "rectification-orders") == expected, name
    client = api_as(own)
    client.post(f"rectification-orders/{first.pk}/respond", {"response": "已整改"})
    assert ids(client, "rectification-orders", {"status": "answered"}) == [first.pk]
    assert ids(client, "rectification-orders", {"status": "open"}) == [second.pk]
    assert ids(client, "rectification-orders", {"overdue": "true"}) == []
    assert ids(client, "rectification-orders", {"overdue": "false"}) == [first.pk, second.pk]
    assert ids(client, "rectification-orders", {"inspection_id": visit.pk}) == [first.pk, second.pk]
    row = client.get("rectification-orders").json()["items"][0]
    assert row["institution_name"] == "敦仁美术培训学校" and row["inspection_id"] == visit.pk
    # Another institution's staff: nothing, even when asking for this institution by id.
    other = api_as(people["institution_staff"])
    assert ids(other, "rectification-orders", {"institution_id": visit.institution_id}) == []


def test_orders_cost_the_same_for_10_and_100_rows(api_as, visit, team, people):
    own = make_user("本机构员工", Role.INSTITUTION_STAFF, institution=visit.institution)
    orders_for(visit, team[0], 10)
    clients = [api_as(own), api_as(people["staff_a"]), api_as(team[0])]
    small = [count_queries(c, "rectification-orders", {"page_size": 100})[0] for c in clients]
    orders_for(visit, team[0], 90)
    large = [count_queries(c, "rectification-orders", {"page_size": 100}) for c in clients]
    assert [n for n, _ in large] == small
    assert all(len(body["items"]) == 100 for _, body in large)


def test_evidence_and_answers_of_another_institutions_order_answer_404(api_as, visit, team, people):
    import uuid

    from django.core.files.uploadedfile import SimpleUploadedFile

    from tests.supervision.inspection_fixtures import photo_bytes, sha

    [order] = orders_for(visit, team[0], 1)
    content = photo_bytes()
    for name in ("institution_staff", "inspector_b", "staff_b", "other_inspector"):
        client = api_as(people[name])
        r = client.client.post(
            f"/api/v1/rectification-orders/{order.pk}/photos/{uuid.uuid4()}",
            {"sha256": sha(content), "file": SimpleUploadedFile("e.jpg", content, content_type="image/jpeg")},
            HTTP_AUTHORIZATION=f"Bearer {client.token}",
        )
        assert_error(r, 404, "not_found")
        assert_error(client.post(f"rectification-orders/{order.pk}/verify", {"accepted": True, "note": "x"}), 404)
        assert_error(client.post(f"rectification-orders/{order.pk}/followup", {}), 404, "not_found")
    assert order.evidence.count() == 0
