# ruff: noqa: F811 - fixtures imported from inspection_fixtures are used as arguments
"""After the visit: findings open rectification orders (deadline by severity, evidence, verification, sweep, risk),
penalties within R-PEN-1 (suspension through the registry), publication of a finished plan (public page and API,
internal items hidden, the QR page shows the latest result), and who sees which order."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from accounts.models import Role
from core.models import AuditEvent, Notification
from core.workdays import add_working_days
from institutions.models import Institution
from institutions.risk import recompute_risk
from supervision.inspections import plans, publication, rectification, sync
from supervision.models import Inspection, PenaltyDecision
from tests.conftest import TOWN_B, assert_error, make_user, region
from tests.factories import ComplaintFactory, FindingFactory
from tests.supervision.inspection_fixtures import NEARBY, premises, record, team, visit  # noqa: F401

pytestmark = pytest.mark.django_db


def do_visit(visit, inspector, *, public_finding=True, internal_finding=True):
    records = [
        record(visit, "checkin", {"latitude": NEARBY[0], "longitude": NEARBY[1]}),
        record(visit, "answer", {"item_code": "PUB-1", "value": "no"}),
    ]
    if public_finding:
        records.append(record(visit, "finding", {"item_code": "PUB-1", "description": "未公示收费标准"}))
    if internal_finding:
        records.append(record(visit, "finding", {"item_code": "STF-1", "description": "内部：专职比例待核"}))
    records.append(record(visit, "checkout", {}))
    results = sync.sync_batch(actor=inspector, records=records)
    assert {r["status"] for r in results} == {"applied"}, results
    visit.refresh_from_db()
    return list(visit.findings.order_by("id"))


@pytest.fixture
def finding(visit, team):
    return do_visit(visit, team[0])[0]


def test_a_finding_opens_an_order_with_a_default_deadline_by_severity(api_as, finding, team, institution_staff):
    staff = make_user("机构员工", Role.INSTITUTION_STAFF, institution=finding.institution)
    r = api_as(team[0]).post(f"findings/{finding.pk}/rectification-order", {"evidence_required": "公示收费标准并拍照"})
    assert r.status_code == 201, r.content
    order = r.json()
    today = timezone.localdate()
    assert order["due_on"] == str(add_working_days(today, 20))  # medium: 20 working days (R-INSP-2 default)
    assert Notification.objects.filter(recipient=staff, kind="rectification.issued").exists()
    assert_error(api_as(team[0]).post(f"findings/{finding.pk}/rectification-order", {"evidence_required": "x"}), 409)
    # Chosen per case, but never in the past.
    other = FindingFactory(inspection=finding.inspection, severity="high")
    bad = api_as(team[0]).post(
        f"findings/{other.pk}/rectification-order", {"evidence_required": "x", "due_on": str(today)}
    )
    assert_error(bad, 422, "order.bad_deadline")


def test_an_order_closes_only_after_evidence_and_verification(api_as, finding, team, bureau_staff):
    staff = make_user("机构员工", Role.INSTITUTION_STAFF, institution=finding.institution)
    order = rectification.order_issue(actor=team[0], finding_id=finding.pk, evidence_required="公示收费标准")
    inspector, institution = api_as(team[0]), api_as(staff)
    assert_error(inspector.post(f"rectification-orders/{order.pk}/verify", {"accepted": True, "note": "好"}), 409)
    assert_error(inspector.post(f"rectification-orders/{order.pk}/respond", {"response": "已整改"}), 403)
    r = institution.post(f"rectification-orders/{order.pk}/respond", {"response": "已在前台公示收费标准"})
    assert r.status_code == 200 and r.json()["status"] == "answered"
    r = inspector.post(f"rectification-orders/{order.pk}/verify", {"accepted": False, "note": "照片不清楚，请补充"})
    assert r.json()["status"] == "open"
    institution.post(f"rectification-orders/{order.pk}/respond", {"response": "补充了照片"})
    r = inspector.post(f"rectification-orders/{order.pk}/verify", {"accepted": True, "note": "复查已整改"})
    assert r.json()["status"] == "closed" and r.json()["closed_at"]
    events = AuditEvent.objects.filter(object_id=str(order.pk), verb__startswith="rectification.").order_by("id")
    verbs = list(events.values_list("verb", "from_state", "to_state"))
    assert verbs == [
        ("rectification.issue", "", "open"),
        ("rectification.respond", "open", "answered"),
        ("rectification.send_back", "answered", "open"),
        ("rectification.respond", "open", "answered"),
        ("rectification.close", "answered", "closed"),
    ]


def test_the_sweep_warns_then_escalates_once_and_overdue_orders_worsen_the_risk(finding, team, bureau_staff):
    staff = make_user("机构员工", Role.INSTITUTION_STAFF, institution=finding.institution)
    order = rectification.order_issue(actor=team[0], finding_id=finding.pk, evidence_required="x")
    inst = finding.institution
    recompute_risk(inst.pk)
    before = Institution.objects.get(pk=inst.pk).risk_grade
    with time_machine.travel(order.due_on - timedelta(days=1)):
        assert rectification.rectification_sweep()["warned"] == 1
        assert rectification.rectification_sweep()["warned"] == 0
    assert Notification.objects.filter(recipient=staff, kind="rectification.due_soon").count() == 1
    with time_machine.travel(order.due_on + timedelta(days=2)):
        assert rectification.rectification_sweep()["escalated"] == 1
        assert rectification.rectification_sweep()["escalated"] == 0
        assert Notification.objects.filter(recipient=bureau_staff, kind="rectification.overdue").count() == 1
        assert rectification.inspection_risk_signals(inst.pk)["rectifications_overdue"] == 1
        recompute_risk(inst.pk)
        after = Institution.objects.get(pk=inst.pk).risk_grade
    assert after > before  # A < B < C < D


def test_penalties_within_r_pen_1_and_suspension_through_the_registry(api_as, visit, bureau_staff):
    client = api_as(bureau_staff)
    base = {
        "institution_id": visit.institution_id,
        "legal_basis": "教育部令第53号第十八条",
        "reason": "隐形变异学科培训",
    }
    too_much = client.post("penalties", {**base, "kind": "fine", "violation": "disguised_subject", "amount": "60000"})
    err = assert_error(too_much, 422, "penalty.amount_out_of_range")
    assert "50000.00" in err["message"]
    very = {**base, "kind": "fine", "violation": "disguised_subject", "very_serious": True}
    assert_error(client.post("penalties", {**very, "amount": "120000"}), 422, "penalty.amount_out_of_range")
    ok = client.post("penalties", {**very, "amount": "80000.00", "in_service_teacher": True})
    assert ok.status_code == 201, ok.content
    assert ok.json()["amount"] == "80000.00" and ok.json()["heavier_conditions"] == ["in_service_teacher"]
    unlicensed = {**base, "kind": "fine", "violation": "unlicensed", "illegal_income": "10000"}
    assert_error(client.post("penalties", {**unlicensed, "amount": "60000"}), 422, "penalty.amount_out_of_range")
    assert_error(client.post("penalties", {**base, "kind": "fine", "violation": "unlicensed", "amount": "1"}), 422)
    stop = client.post("penalties", {**base, "kind": "stop_operating", "violation": "other", "obstruction": True})
    assert stop.status_code == 201
    assert stop.json()["institution_status"] == "suspended"
    assert set(stop.json()["heavier_conditions"]) == {"obstruction", "repeat_within_2_years"}
    assert Institution.objects.get(pk=visit.institution_id).status == "suspended"
    assert AuditEvent.objects.filter(verb="institution.status", to_state="suspended").exists()
    # The public QR page shows it at once.
    token = visit.institution.tokens.first().token
    page = api_as(bureau_staff).get(f"verify/{token}")
    assert page.json()["institution"]["status"]["code"] == "suspended"
    assert PenaltyDecision.objects.count() == 2


def test_penalties_of_another_town_and_by_others_answer_404(api_as, visit, team, institution_staff):
    staff_b = make_user("李渡科员", Role.BUREAU_STAFF, region=region(TOWN_B))
    body = {"institution_id": visit.institution_id, "kind": "warning", "violation": "other", "legal_basis": "x",
            "reason": "y"}  # fmt: skip
    for user in (staff_b, team[0], institution_staff):
        assert_error(api_as(user).post("penalties", body), 404, "not_found")


def test_who_sees_which_order(api_as, finding, team, inspector_b, institution_staff, bureau_staff):
    own_staff = make_user("本机构员工", Role.INSTITUTION_STAFF, institution=finding.institution)
    staff_b = make_user("李渡科员", Role.BUREAU_STAFF, region=region(TOWN_B))
    order = rectification.order_issue(actor=team[0], finding_id=finding.pk, evidence_required="x")
    for user in (own_staff, team[0], team[1], bureau_staff):
        assert api_as(user).get(f"rectification-orders/{order.pk}").status_code == 200
        assert [o["id"] for o in api_as(user).get("rectification-orders").json()["items"]] == [order.pk]
    for user in (institution_staff, inspector_b, team[2], staff_b):  # institution_staff is of another institution
        assert_error(api_as(user).get(f"rectification-orders/{order.pk}"), 404, "not_found")
        assert api_as(user).get("rectification-orders").json()["items"] == []
        assert_error(api_as(user).post(f"rectification-orders/{order.pk}/respond", {"response": "x"}), 404)


def test_results_are_published_after_the_working_days_without_internal_items(api_as, anon, visit, team, bureau_staff):
    do_visit(visit, team[0])
    plan = plans.plan_finish(actor=bureau_staff, plan_id=visit.plan_id)
    assert plan.publish_on == add_working_days(timezone.localdate(), 20)
    assert publication.publish_due() == 0
    assert anon.get("inspection-results").json() == {"items": [], "count": 0}
    with time_machine.travel(plan.publish_on + timedelta(hours=12)):
        assert publication.publish_due() == 1
        assert publication.publish_due() == 0
    body = anon.get("inspection-results").json()
    assert body["count"] == 1
    [row] = body["items"]
    assert row["result"] == "rectification" and row["institution_name"] == "敦仁美术培训学校"
    assert [f["description"] for f in row["findings"]] == ["未公示收费标准"]  # the internal one never appears
    page = anon.client.get("/inspections/results/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "敦仁美术培训学校" in html and "责令整改" in html and "内部" not in html
    token = visit.institution.tokens.first().token
    qr = anon.get(f"verify/{token}").json()["institution"]["latest_inspection"]
    assert qr["result"] == "rectification" and qr["inspection_id"] == visit.pk
    qr_page = anon.client.get(f"/v/{token}").content.decode()
    assert "最近检查结果" in qr_page and "责令整改" in qr_page


def test_a_substantiated_complaint_opens_an_inspection_with_the_link_kept(api_as, bureau_staff, team, premises):
    from supervision.models import Complaint

    parent = make_user("家长", Role.PARENT, phone="13800000009", username=None)
    complaint = ComplaintFactory(parent=parent, institution=premises)
    client = api_as(bureau_staff)
    body = {"complaint_id": complaint.pk, "inspector_ids": [team[0].pk, team[1].pk]}
    assert_error(client.post("inspections", body), 409, "inspection.complaint_not_substantiated")
    Complaint.objects.filter(pk=complaint.pk).update(outcome="substantiated")
    r = client.post("inspections", body)
    assert r.status_code == 201 and r.json()["origin"] == "complaint"
    complaint.refresh_from_db()
    assert complaint.inspection_id == r.json()["id"]
    assert_error(client.post("inspections", body), 409, "inspection.already_opened")


def test_an_unlicensed_record_opens_an_inspection(api_as, bureau_staff, team):
    from institutions.services import unlicensed_record

    found = unlicensed_record(
        actor=bureau_staff, name="某某托管班", address="涪陵区某小区", town_id=region("500102006").pk, found_via="举报"
    )
    r = api_as(bureau_staff).post(
        "inspections", {"institution_id": found.pk, "inspector_ids": [team[0].pk, team[1].pk]}
    )
    assert r.status_code == 201 and r.json()["origin"] == "unlicensed"
    assert Inspection.objects.get(pk=r.json()["id"]).institution_id == found.pk


def test_the_institution_answers_with_evidence_photos(api_as, finding, team):
    import uuid

    from django.core.files.uploadedfile import SimpleUploadedFile

    from tests.supervision.inspection_fixtures import photo_bytes, sha

    staff = make_user("机构员工", Role.INSTITUTION_STAFF, institution=finding.institution)
    order = rectification.order_issue(actor=team[0], finding_id=finding.pk, evidence_required="公示收费标准并拍照")
    client = api_as(staff)

    def upload(pid, content, digest=None):
        return client.client.post(
            f"/api/v1/rectification-orders/{order.pk}/photos/{pid}",
            {"sha256": digest or sha(content), "file": SimpleUploadedFile("e.jpg", content, content_type="image/jpeg")},
            HTTP_AUTHORIZATION=f"Bearer {client.token}",
        )

    pid, content = str(uuid.uuid4()), photo_bytes()
    missing = client.post(f"rectification-orders/{order.pk}/respond", {"response": "已整改", "photo_uuids": [pid]})
    assert_error(missing, 422, "order.evidence_missing")
    assert_error(upload(pid, content[:100], digest=sha(content)), 422, "photo.hash_mismatch")
    assert upload(pid, content).status_code == 201
    assert upload(pid, content).status_code == 200  # a retry: no copy
    assert_error(upload(pid, photo_bytes((9, 9, 9))), 409, "photo.uuid_taken")
    r = client.post(f"rectification-orders/{order.pk}/respond", {"response": "已整改", "photo_uuids": [pid]})
    assert r.status_code == 200 and r.json()["status"] == "answered"
    assert_error(upload(str(uuid.uuid4()), content), 409, "order.not_open")  # answered: wait for the verification
    # The inspector sees the order but does not answer it: refused before the body is read (no 422 about its parts).
    refused = api_as(team[0]).post(f"rectification-orders/{order.pk}/photos/{uuid.uuid4()}", {})
    assert_error(refused, 403, "permission_denied")
    assert order.evidence.count() == 1


def test_a_follow_up_visit_verifies_the_order_on_site(api_as, finding, team, bureau_staff, inspector_b):
    """The inspector opens the follow-up visit (the same team by default); it reaches the phones with the order among
    the institution's open orders; an inspector of the follow-up (not of the first visit) verifies and closes it."""
    staff = make_user("机构员工", Role.INSTITUTION_STAFF, institution=finding.institution)
    order = rectification.order_issue(actor=team[0], finding_id=finding.pk, evidence_required="公示收费标准")
    first_team = sorted(finding.inspection.assignments.values_list("inspector_id", flat=True))
    assert_error(api_as(staff).post(f"rectification-orders/{order.pk}/followup", {}), 403)
    for outsider in (inspector_b, team[2], make_user("李渡科员", Role.BUREAU_STAFF, region=region(TOWN_B))):
        assert_error(api_as(outsider).post(f"rectification-orders/{order.pk}/followup", {}), 404, "not_found")
    r = api_as(team[0]).post(f"rectification-orders/{order.pk}/followup", {})
    assert r.status_code == 201, r.content
    followup = Inspection.objects.get(pk=r.json()["id"])
    assert followup.origin == "followup" and followup.institution_id == finding.institution_id
    assert sorted(followup.assignments.values_list("inspector_id", flat=True)) == first_team
    assert followup.due_by == order.due_on
    [v] = api_as(team[1]).get("inspections/assigned").json()["visits"]
    assert v["id"] == followup.pk and [o["id"] for o in v["open_orders"]] == [order.pk]
    assert api_as(team[0]).get(f"rectification-orders/{order.pk}").json()["followup_inspection_id"] == followup.pk
    assert_error(api_as(team[0]).post(f"rectification-orders/{order.pk}/followup", {}), 409, "order.followup_open")
    assert AuditEvent.objects.filter(verb="rectification.followup", object_id=str(order.pk)).exists()

    # The bureau sends someone else: the first follow-up is cancelled by hand here, a new one opened with team[2].
    Inspection.objects.filter(pk=followup.pk).update(status="cancelled")
    body = {"inspector_ids": [team[1].pk, team[2].pk]}
    r = api_as(bureau_staff).post(f"rectification-orders/{order.pk}/followup", body)
    assert r.status_code == 201, r.content
    again = r.json()["id"]
    reviewer = api_as(team[2])  # not on the first visit: sees the order through the follow-up
    assert reviewer.get(f"rectification-orders/{order.pk}").status_code == 200
    api_as(staff).post(f"rectification-orders/{order.pk}/respond", {"response": "已在前台公示收费标准"})
    r = reviewer.post(f"rectification-orders/{order.pk}/verify", {"accepted": True, "note": "复查：已公示"})
    assert r.status_code == 200 and r.json()["status"] == "closed" and r.json()["followup_inspection_id"] == again
    assert_error(api_as(team[0]).post(f"rectification-orders/{order.pk}/followup", {}), 409, "order.closed")


def test_a_follow_up_needs_a_team_without_conflicts(api_as, finding, team, bureau_staff):
    order = rectification.order_issue(actor=team[0], finding_id=finding.pk, evidence_required="x")
    client = api_as(bureau_staff)
    url = f"rectification-orders/{order.pk}/followup"
    assert_error(client.post(url, {"inspector_ids": [team[2].pk]}), 422, "plan.team_too_small")
    plans.conflict_declare(actor=team[2], institution_id=finding.institution_id, reason="亲属任职")
    assert_error(client.post(url, {"inspector_ids": [team[1].pk, team[2].pk]}), 422, "inspection.conflict_of_interest")
    assert_error(client.post(url, {"due_by": "2020-01-01"}), 422, "order.bad_deadline")
    assert not Inspection.objects.filter(origin="followup").exists()


def test_revoking_the_licence_shows_on_the_qr_page_at_once_and_amounts_fit_their_kind(
    api_as, anon, visit, bureau_staff
):
    client = api_as(bureau_staff)
    base = {"institution_id": visit.institution_id, "legal_basis": "教育部令第53号", "reason": "拒不整改"}
    warn = client.post("penalties", {**base, "kind": "warning", "violation": "other", "amount": "100"})
    assert_error(warn, 422, "penalty.amount_out_of_range")  # a warning has no amount
    assert_error(client.post("penalties", {**base, "kind": "confiscation", "violation": "other"}), 422)
    assert_error(client.post("penalties", {**base, "kind": "fine", "violation": "other", "amount": "-1"}), 422)
    r = client.post("penalties", {**base, "kind": "revoke", "violation": "other"})
    assert r.status_code == 201 and r.json()["institution_status"] == "revoked", r.content
    token = visit.institution.tokens.first().token
    assert anon.get(f"verify/{token}").json()["institution"]["status"]["code"] == "revoked"
    assert PenaltyDecision.objects.count() == 1
