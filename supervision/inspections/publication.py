"""Publication (一公开): the results of a finished plan, a configurable number of working days after it finished
(R-INSP-1 results_publication_working_days), on a public page and GET /api/v1/inspection-results. Per institution:
the date and the result (compliant / rectification ordered / penalised) and the public findings; internal checklist
items and findings marked internal never appear. The institution's QR page shows its latest published result
through the hook institutions.verification.register_inspection_result_provider."""

from __future__ import annotations

from django.db import transaction
from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone

from core.audit import audit_log

from .models import (
    Finding,
    Inspection,
    InspectionPlan,
    InspectionResult,
    InspectionStatus,
    PenaltyDecision,
    PlanStatus,
)

RESULT_LABELS = {
    InspectionResult.COMPLIANT: ("合格", "compliant"),
    InspectionResult.RECTIFICATION: ("责令整改", "rectification ordered"),
    InspectionResult.PENALISED: ("已处罚", "penalised"),
}


def result_of(has_penalty: bool, has_finding: bool) -> str:
    if has_penalty:
        return InspectionResult.PENALISED
    if has_finding:
        return InspectionResult.RECTIFICATION
    return InspectionResult.COMPLIANT


def _publish(plan: InspectionPlan, *, actor=None, data: dict | None = None) -> bool:
    """Set each complete visit's result and stamp the plan published, once (False when it already was)."""
    with transaction.atomic():
        visits = Inspection.objects.filter(plan=plan, status=InspectionStatus.COMPLETE).annotate(
            penalised=Exists(PenaltyDecision.objects.filter(inspection=OuterRef("pk"))),
            found=Exists(Finding.objects.filter(inspection=OuterRef("pk"))),
        )
        for v in visits:
            Inspection.objects.filter(pk=v.pk).update(result=result_of(v.penalised, v.found))
        if InspectionPlan.objects.filter(pk=plan.pk, published_at__isnull=True).update(published_at=timezone.now()):
            audit_log(actor=actor, verb="inspection_plan.publish", obj=plan, from_state="finished",
                      to_state="published", data=data or {})  # fmt: skip
            return True
    return False


def publish_due(today=None) -> int:
    """Publish every finished plan whose publication day has come; returns how many. Idempotent."""
    today = today or timezone.localdate()
    published = 0
    for plan in InspectionPlan.objects.filter(
        status=PlanStatus.FINISHED, published_at__isnull=True, publish_on__lte=today
    ):
        published += _publish(plan)
    return published


def plan_publish(*, actor, plan_id: int, reason: str = "") -> InspectionPlan:
    """The bureau publishes a finished plan's results: on or after its publication day, or sooner with a reason
    (audited with it). A plan not finished, or already published, is refused."""
    from django.utils.translation import gettext_lazy as _

    from core.errors import DomainError

    from .permissions import access_plan, require_bureau

    require_bureau(actor)
    reason = (reason or "").strip()
    today = timezone.localdate()
    with transaction.atomic():
        plan = access_plan(actor, plan_id, for_update=True)
        if plan.status != PlanStatus.FINISHED:
            raise DomainError("plan.not_finished", _("计划尚未结束，不能公示结果"), status=409)
        if plan.published_at is not None:
            raise DomainError("plan.already_published", _("结果已公示"), status=409)
        early = plan.publish_on is None or plan.publish_on > today
        if early and not reason:
            raise DomainError(
                "plan.publish_reason_required", _("未到公示日期，提前公示须说明原因"),
                status=422, fields={"reason": _("必填")},
            )  # fmt: skip
        _publish(plan, actor=actor, data={"early": early, "reason": reason[:500], "publish_on": str(plan.publish_on)})
        plan.refresh_from_db()
    return plan


def published_results() -> QuerySet[Inspection]:
    return (
        Inspection.objects.filter(plan__published_at__isnull=False, status=InspectionStatus.COMPLETE, result__gt="")
        .select_related("institution", "town", "plan")
        .order_by("-completed_at", "-id")
    )


def public_result(v: Inspection, findings: list[Finding]) -> dict:
    zh, en = RESULT_LABELS[InspectionResult(v.result)]
    return {
        "inspection_id": v.pk,
        "institution_id": v.institution_id,
        "institution_name": v.institution.name,
        "town": v.town.name,
        "plan": v.plan.name if v.plan else "",
        "date": timezone.localdate(v.completed_at),
        "result": v.result,
        "result_label_zh": zh,
        "result_label_en": en,
        "findings": [
            {"rule_id": f.rule_id, "severity": f.severity, "description": f.description}
            for f in findings
            if f.public and (f.item is None or f.item.public)
        ],
    }


def results_page(rows: list[Inspection]) -> list[dict]:
    """Public rows with their public findings, in two queries whatever the page size."""
    by_visit: dict[int, list[Finding]] = {}
    for f in Finding.objects.filter(inspection__in=[v.pk for v in rows]).select_related("item").order_by("id"):
        by_visit.setdefault(f.inspection_id, []).append(f)
    return [public_result(v, by_visit.get(v.pk, [])) for v in rows]


def latest_result_for(institution_id: int) -> dict | None:
    """The hook for the QR page: the institution's latest published result, or None."""
    v = published_results().filter(institution_id=institution_id).first()
    return results_page([v])[0] if v else None
