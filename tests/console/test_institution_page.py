"""One page per institution (/console/institutions/<id>/): its whole history on one timeline (never a parent's
identity), its compliance findings and rule-breaking packages, scans per week; from it bureau staff edit through the
change services (the rules a change would break shown before saving, refused), change the status with a reason (and
the QR page follows), rotate the verification link, open an ad-hoc inspection. Others get 404; the page costs a
bounded number of queries."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import Role
from core.models import AuditEvent
from institutions import services
from institutions.models import FeePackage, ScanCount, StaffMember, VerificationToken
from supervision.inspections.models import Inspection, RectificationOrder
from tests.conftest import PASSWORD, TOWN_A, TOWN_B, make_user, region
from tests.factories import (
    ComplaintFactory,
    FindingFactory,
    InspectionFactory,
    PenaltyDecisionFactory,
)
from tests.institutions.helpers import make_course, make_institution, make_package
from tests.supervision.inspection_fixtures import ensure_checklist

pytestmark = pytest.mark.django_db


def signed_in(user) -> Client:
    client = Client()
    assert client.login(username=user.username or user.phone, password=PASSWORD)
    return client


def page_url(inst) -> str:
    return f"/console/institutions/{inst.pk}/"


@pytest.fixture(autouse=True)
def _no_posters(monkeypatch, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    from institutions.risk import recompute_risk
    from institutions.tasks import build_poster

    monkeypatch.setattr(build_poster, "delay", lambda *a: None)
    monkeypatch.setattr(recompute_risk, "delay", lambda *a: None)


@pytest.fixture
def inst(db):
    return make_institution("涪陵启明艺术培训学校", category="arts")


def test_the_timeline_joins_every_source_without_the_parents_identity(inst, bureau_staff, parent):
    services.institution_change_status(
        actor=bureau_staff, institution_id=inst.pk, to_status="rectifying", reason="消防通道堵塞"
    )
    complaint = ComplaintFactory(institution=inst, parent=parent, tracking_number="TS-2026-00042")
    visit = InspectionFactory(institution=inst)
    finding = FindingFactory(inspection=visit, rule_id="R-SITE-1", description="安全出口堆放杂物")
    RectificationOrder.objects.create(
        finding=finding, institution=inst, town=inst.town, due_on=timezone.localdate() - timedelta(days=2),
        evidence_required="清理安全出口", issued_by=bureau_staff,
    )  # fmt: skip
    PenaltyDecisionFactory(institution=inst, decided_by=bureau_staff, amount=Decimal("5000.00"))
    course = make_course(inst)
    services.record_change(
        actor=bureau_staff, institution_id=inst.pk, kind="staff", action="create",
        data={"name": "刘老师", "id_number": "11010519491231002X", "competence_proof": "美术八级"},
    )  # fmt: skip
    member = StaffMember.objects.get(name="刘老师")
    services.record_change(actor=bureau_staff, institution_id=inst.pk, kind="staff", action="delete",
                           target_id=member.pk)  # fmt: skip
    token = VerificationToken.objects.get(institution=inst, revoked_at__isnull=True)
    ScanCount.objects.create(token=token, day=timezone.localdate(), count=7)

    response = signed_in(bureau_staff).get(page_url(inst))
    assert response.status_code == 200
    body = response.content.decode()
    kinds = {e.kind for e in response.context["timeline"]}
    assert kinds >= {"licence", "complaint", "inspection", "order", "penalty", "staff"}
    for text in ("状态变更：已许可 → 整改中", "消防通道堵塞", "TS-2026-00042", "R-SITE-1", "安全出口堆放杂物",
                 "已逾期", "5000.00", "人员入职：刘老师", "人员离职：刘老师"):
        assert text in body, text
    assert parent.name not in body and parent.phone not in body  # the complainant stays unknown
    assert response.context["scans"][-1]["count"] == 7
    assert f"/v/{token.token}" in body and course.name in body
    only = signed_in(bureau_staff).get(page_url(inst), {"kind": "complaint"})
    assert {e.kind for e in only.context["timeline"]} == {"complaint"}
    assert complaint.tracking_number in only.content.decode()


def test_others_get_404_and_strangers_sign_in(inst, inspector_a, parent, institution_staff):
    staff_b = make_user("乙镇科员", Role.BUREAU_STAFF, region=region(TOWN_B))
    for user in (staff_b, inspector_a, parent, institution_staff):
        client = signed_in(user)
        assert client.get(page_url(inst)).status_code == 404, user
        assert client.post(page_url(inst) + "status", {"to_status": "suspended", "reason": "x"}).status_code == 404
    assert Client().get(page_url(inst)).status_code == 302
    assert signed_in(staff_b).get("/console/institutions/999999/").status_code == 404


def test_a_status_change_with_a_reason_changes_the_qr_page(inst, bureau_staff, anon):
    token = VerificationToken.objects.get(institution=inst, revoked_at__isnull=True).token
    client = signed_in(bureau_staff)
    response = client.post(page_url(inst) + "status", {"to_status": "suspended", "reason": "无证开设分校"})
    assert response.status_code == 302
    assert "停业整顿" in client.get(response["Location"]).content.decode()
    inst.refresh_from_db()
    assert (inst.status, inst.status_reason) == ("suspended", "无证开设分校")
    assert AuditEvent.objects.filter(verb="institution.status", object_id=str(inst.pk)).exists()
    assert "停业整顿" in Client().get(f"/v/{token}").content.decode()


def test_a_status_change_without_a_reason_is_a_clear_error_and_changes_nothing(inst, bureau_staff):
    response = signed_in(bureau_staff).post(page_url(inst) + "status", {"to_status": "suspended", "reason": "  "})
    assert response.status_code == 422
    body = response.content.decode()
    assert "请填写变更原因" in body and 'data-testid="status-error"' in body
    inst.refresh_from_db()
    assert inst.status == "licensed"


def test_a_forbidden_transition_is_refused_with_its_reason(inst, bureau_staff):
    response = signed_in(bureau_staff).post(page_url(inst) + "status", {"to_status": "applied", "reason": "x"})
    assert response.status_code == 409 and "不能从“已许可”变为“申请中”" in response.content.decode()


def test_an_edit_that_breaks_a_rule_is_shown_before_saving_and_refused(inst, bureau_staff):
    course = make_course(inst)
    url = page_url(inst) + "change/package/"
    client = signed_in(bureau_staff)
    data = {"course_id": course.pk, "name": "年卡", "hours": 96, "months": 12, "price": "9800.00"}
    checked = client.post(url, {**data, "check": "1"})
    assert checked.status_code == 422
    body = checked.content.decode()
    assert "R-FEE-1" in body and "12 个月，超过 3 个月" in body and "R-FEE-2" in body
    saved = client.post(url, {**data, "save": "1"})
    assert saved.status_code == 422 and "R-FEE-1" in saved.content.decode()
    assert not FeePackage.objects.filter(name="年卡").exists()
    ok = client.post(url, {**data, "months": 3, "hours": 40, "price": "3000.00", "check": "1"})
    assert ok.status_code == 200 and "检查通过" in ok.content.decode()
    assert client.post(url, {**data, "months": 3, "hours": 40, "price": "3000.00", "save": "1"}).status_code == 302
    assert FeePackage.objects.filter(name="年卡", months=3).exists()


def test_the_registry_record_is_edited_through_the_service(inst, bureau_staff):
    client = signed_in(bureau_staff)
    url = page_url(inst) + "edit"
    form = client.get(url).context["fields"]
    values = {f["name"]: f["value"] for f in form}
    bad = client.post(url, {**values, "latitude": "51.5", "longitude": "-0.1"})
    assert bad.status_code == 422 and "中国" in bad.content.decode()
    assert client.post(url, {**values, "address": "涪陵区新地址 9 号"}).status_code == 302
    inst.refresh_from_db()
    assert inst.address == "涪陵区新地址 9 号"


def test_a_rule_breaking_package_is_marked_on_the_page_and_the_qr_page(inst, bureau_staff):
    # Entered before the rule, or through the admin: stored, and marked wherever it is shown.
    FeePackage.objects.create(course=make_course(inst), name="年卡", hours=96, months=12, price=Decimal("9800.00"))
    body = signed_in(bureau_staff).get(page_url(inst)).content.decode()
    assert 'data-breaks="1"' in body and "违反收费规定" in body
    token = VerificationToken.objects.get(institution=inst, revoked_at__isnull=True).token
    public = Client().get(f"/v/{token}").content.decode()
    assert "违反收费规定，未获核准，请勿购买" in public and "R-FEE-1" in public
    assert "核准课程与收费" not in public


def test_the_verification_link_is_rotated_with_a_reason(inst, bureau_staff):
    old = VerificationToken.objects.get(institution=inst, revoked_at__isnull=True).token
    client = signed_in(bureau_staff)
    assert client.post(page_url(inst) + "token", {"reason": ""}).status_code == 422
    assert client.post(page_url(inst) + "token", {"reason": "海报被仿冒"}).status_code == 302
    new = VerificationToken.objects.get(institution=inst, revoked_at__isnull=True).token
    assert new != old and f"/v/{new}" in client.get(page_url(inst)).content.decode()
    assert "可能是伪造的" in Client().get(f"/v/{old}").content.decode()


def test_an_adhoc_inspection_is_opened_for_an_unlicensed_operator(bureau_staff, inspector_a):
    ensure_checklist()
    second = make_user("督查员丙", Role.INSPECTOR, region=region(TOWN_A))
    operator = make_institution("无证托管班", status="unlicensed", licence_number="")
    client = signed_in(bureau_staff)
    few = client.post(page_url(operator) + "inspection", {"source": "unlicensed", "inspector_ids": [inspector_a.pk]})
    assert few.status_code == 422 and "至少" in few.content.decode()
    response = client.post(
        page_url(operator) + "inspection", {"source": "unlicensed", "inspector_ids": [inspector_a.pk, second.pk]}
    )
    assert response.status_code == 302
    visit = Inspection.objects.get(institution=operator)
    assert visit.origin == "unlicensed"


def test_the_page_costs_a_bounded_number_of_queries(inst, bureau_staff, parent):
    client = signed_in(bureau_staff)

    def count():
        client.get(page_url(inst))
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(page_url(inst)).status_code == 200
        return len(ctx.captured_queries)

    course = make_course(inst)
    make_package(course)
    ComplaintFactory(institution=inst, parent=parent)
    small = count()
    for n in range(10):
        make_package(make_course(inst, name=f"课程{n}"))
        ComplaintFactory(institution=inst, parent=parent)
        FindingFactory(inspection=InspectionFactory(institution=inst))
        PenaltyDecisionFactory(institution=inst, decided_by=bureau_staff)
    assert count() == small


def test_a_licence_that_expired_yesterday_reads_expired_on_every_view(bureau_staff, anon):
    import time_machine

    inst = make_institution("到期机构", licence_expires_on=date(2027, 3, 1), licence_issued_on=date(2022, 3, 1))
    token = VerificationToken.objects.get(institution=inst).token
    for day, shown, public in ((date(2027, 3, 1), "已许可", "有效"), (date(2027, 3, 2), "许可证过期", "许可证已过期")):
        with time_machine.travel(timezone.make_aware(timezone.datetime(day.year, day.month, day.day, 9)), tick=False):
            client = signed_in(bureau_staff)
            page = client.get(page_url(inst)).content.decode()
            assert f'data-testid="institution-status">{shown}<' in page, day
            registry = client.get("/console/registry/").content.decode()
            assert shown in registry
            assert public in Client().get(f"/v/{token}").content.decode()
            api = anon.get("institutions", {"q": "到期机构"}).json()["items"]
            assert (api[0]["status"] if api else "expired") == ("licensed" if shown == "已许可" else "expired")
            public_list = Client().get("/registry/").status_code
            assert public_list in (200, 302)
    inst.refresh_from_db()
    assert inst.status == "licensed"  # nothing was written: the nightly task still records it
