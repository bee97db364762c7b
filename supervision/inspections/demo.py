"""Demo data of inspections (idempotent), called by `manage.py seed_demo` after the users and the complaints exist:
a plan drawn with a recorded seed, visits in every state, rectification orders and a sync conflict for review."""

from __future__ import annotations

import uuid
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from institutions.models import Institution

from ..complaints.demo import INSTITUTION_STAFF_PHONE, SHOWCASE, SUPERVISOR_PHONE
from . import plans, publication, rectification, sync
from .models import InspectionPlan, PlanStatus

INSPECTOR_PHONES = ("13900000003", "13900000004")  # 李督查 (敦仁街道), 孙督查 (李渡街道)
DEMO_PLAN = "2026 年第四季度双随机抽查（演示）"
PUBLISHED_PLAN = "2026 年第三季度双随机抽查（已公示）"
FULING_CENTRE = (29.7031, 107.3896)


def seed_inspections() -> None:
    """The plan under way (below), then an earlier plan finished and its results published."""
    _seed_drawn_plan()
    seed_published_results()


@transaction.atomic
def _seed_drawn_plan() -> None:
    """A plan drawn with a recorded seed; the showcase visited (two findings: one order closed after evidence and
    verification, one open with its follow-up visit assigned), a second visit done and compliant, a third under way
    with a sync conflict for review. Nothing new on a second run."""
    supervisor = User.objects.filter(phone=SUPERVISOR_PHONE).first()
    staff = User.objects.filter(phone=INSTITUTION_STAFF_PHONE).first()
    inspectors = list(User.objects.filter(phone__in=INSPECTOR_PHONES).order_by("phone"))
    showcase = Institution.objects.filter(name=SHOWCASE).first()
    if not (supervisor and staff and showcase and len(inspectors) == 2):
        return
    if InspectionPlan.objects.filter(name=DEMO_PLAN).exists():
        return
    today = timezone.localdate()
    plan = plans.plan_create(
        actor=supervisor,
        name=DEMO_PLAN,
        period_start=today - timedelta(days=20),
        period_end=today + timedelta(days=30),
        region_id=showcase.town.parent_id or showcase.town_id,
        inspector_ids=[u.pk for u in inspectors],
        town_ids=[showcase.town_id],
        statuses=["licensed", "rectifying"],
        sampling_mode="overall",
        shares={"overall": 1},  # every institution of the showcase's town: the demo shows each state
    )
    plans.plan_draw(actor=supervisor, plan_id=plan.pk, seed="涪陵-2026Q4-演示")
    lead = inspectors[0]
    visits = list(plan.visits.exclude(status="cancelled").select_related("institution").order_by("id"))
    showcase_visit = next((v for v in visits if v.institution_id == showcase.pk), None)
    others = [v for v in visits if v.institution_id != showcase.pk]
    other_visit = others[0] if others else None
    busy_visit = others[1] if len(others) > 1 else None

    def record(visit, kind, minutes, data=None):
        return {
            "uuid": str(uuid.uuid5(uuid.NAMESPACE_URL, f"demo/{visit.pk}/{kind}/{minutes}")),
            "inspection_id": visit.pk,
            "kind": kind,
            "client_time": (timezone.localtime() - timedelta(hours=3) + timedelta(minutes=minutes)).isoformat(),
            "data": data or {},
        }

    def checkin(visit):
        inst = visit.institution
        lat, lng = (inst.latitude, inst.longitude) if inst.latitude is not None else FULING_CENTRE
        return record(visit, "checkin", 0, {"latitude": float(lat), "longitude": float(lng)})

    if showcase_visit is not None:
        v = showcase_visit
        sync.sync_batch(
            actor=lead,
            records=[
                checkin(v),
                record(v, "answer", 5, {"item_code": "LIC-1", "value": "yes"}),
                record(v, "answer", 8, {"item_code": "PUB-1", "value": "no", "comment": "前台未见收费公示"}),
                record(v, "finding", 9, {"item_code": "PUB-1", "description": "未在显著位置公示收费项目和标准"}),
                record(v, "answer", 12, {"item_code": "SAF-1", "value": 2.6}),
                record(v, "finding", 13, {"item_code": "SAF-1", "description": "生均面积约 2.6 平方米，低于 3 平方米"}),
                record(v, "note", 20, {"text": "负责人赵经理在场，配合检查。"}),
                record(v, "acknowledge", 25, {"name": "赵经理"}),
                record(v, "checkout", 30),
            ],
        )
        fee, space = list(v.findings.order_by("id"))
        closed = rectification.order_issue(
            actor=lead, finding_id=fee.pk, evidence_required="在前台公示收费项目和标准并拍照"
        )
        rectification.order_respond(actor=staff, order_id=closed.pk, response="已在前台和官网公示全部收费项目与标准。")
        rectification.order_verify(actor=lead, order_id=closed.pk, accepted=True, note="复查：已在前台公示，予以销号。")
        still_open = rectification.order_issue(
            actor=lead, finding_id=space.pk, evidence_required="调整班额，提交各教室面积与学生数"
        )
        rectification.order_followup_open(actor=lead, order_id=still_open.pk)  # the on-site check, assigned
    if other_visit is not None:
        v = other_visit
        sync.sync_batch(
            actor=lead,
            records=[
                checkin(v),
                record(v, "answer", 5, {"item_code": "LIC-1", "value": "yes"}),
                record(v, "answer", 8, {"item_code": "PUB-1", "value": "yes"}),
                record(v, "checkout", 30),
            ],
        )
    if busy_visit is not None and len(inspectors) > 1:
        # A visit under way where two phones answered the same item offline: a sync conflict waiting for review.
        v = busy_visit
        sync.sync_batch(
            actor=lead,
            records=[checkin(v), record(v, "answer", 5, {"item_code": "PUB-1", "value": "yes"})],
        )
        sync.sync_batch(
            actor=inspectors[1],
            records=[record(v, "answer", 6, {"item_code": "PUB-1", "value": "no", "comment": "价目表未更新"})],
        )


@transaction.atomic
def seed_published_results() -> None:
    """An earlier plan over the showcase's town, every visit done (one with a public finding), finished and its
    results published at once by the supervisor with a reason: /inspections/results/ is not empty in the demo and the
    showcase's QR page shows its latest result. Nothing new on a second run."""
    supervisor = User.objects.filter(phone=SUPERVISOR_PHONE).first()
    inspectors = list(User.objects.filter(phone__in=INSPECTOR_PHONES).order_by("phone"))
    showcase = Institution.objects.filter(name=SHOWCASE).first()
    if not (supervisor and showcase and len(inspectors) == 2):
        return
    if InspectionPlan.objects.filter(name=PUBLISHED_PLAN).exists():
        return
    today = timezone.localdate()
    plan = plans.plan_create(
        actor=supervisor,
        name=PUBLISHED_PLAN,
        period_start=today - timedelta(days=100),
        period_end=today - timedelta(days=10),
        region_id=showcase.town.parent_id or showcase.town_id,
        inspector_ids=[u.pk for u in inspectors],
        town_ids=[showcase.town_id],
        statuses=["licensed", "rectifying"],
        sampling_mode="overall",
        shares={"overall": 1},
        recent_days_excluded=0,  # the plan under way visited them too: the demo shows both
    )
    plans.plan_draw(actor=supervisor, plan_id=plan.pk, seed="涪陵-2026Q3-公示")
    lead = inspectors[0]
    visits = list(plan.visits.exclude(status="cancelled").select_related("institution").order_by("id"))
    for n, v in enumerate(visits):
        inst = v.institution
        lat, lng = (inst.latitude, inst.longitude) if inst.latitude is not None else FULING_CENTRE

        def rec(kind, minutes, data=None, v=v):
            return {
                "uuid": str(uuid.uuid5(uuid.NAMESPACE_URL, f"demo-published/{v.pk}/{kind}/{minutes}")),
                "inspection_id": v.pk,
                "kind": kind,
                "client_time": (timezone.localtime() - timedelta(days=40, hours=3) + timedelta(minutes=minutes))
                .isoformat(),
                "data": data or {},
            }

        records = [rec("checkin", 0, {"latitude": float(lat), "longitude": float(lng)}),
                   rec("answer", 5, {"item_code": "LIC-1", "value": "yes"})]  # fmt: skip
        if n == 0:
            records += [
                rec("answer", 8, {"item_code": "PUB-1", "value": "no", "comment": "收费公示未更新"}),
                rec("finding", 9, {"item_code": "PUB-1", "description": "收费公示与备案标准不一致"}),
            ]
        else:
            records.append(rec("answer", 8, {"item_code": "PUB-1", "value": "yes"}))
        records.append(rec("checkout", 30))
        sync.sync_batch(actor=lead, records=records)
    plan.refresh_from_db()
    if plan.status == PlanStatus.DRAWN:
        plans.plan_finish(actor=supervisor, plan_id=plan.pk)
        publication.plan_publish(actor=supervisor, plan_id=plan.pk, reason="演示：第三季度结果提前公示")
