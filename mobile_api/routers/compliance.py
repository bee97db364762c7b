"""Compliance of one institution: the findings of the registry's rules now, and its stored risk grade."""

from datetime import date, datetime
from typing import Literal

from django.utils import timezone
from ninja import Router, Schema

from core.http import request_language
from institutions.policy import evaluate
from institutions.selectors import access_institution_record

from ..schemas import ErrorOut

router = Router(tags=["compliance 合规"])


class FindingOut(Schema):
    rule_id: str
    severity: Literal["high", "medium", "low"]
    message: str
    field: str
    object_type: str
    object_id: int | None


class ComplianceOut(Schema):
    institution_id: int
    risk_grade: Literal["A", "B", "C", "D"]
    risk_updated_at: datetime | None
    evaluated_on: date
    findings: list[FindingOut]


@router.get(
    "/institutions/{institution_id}/compliance",
    response={200: ComplianceOut, 401: ErrorOut, 404: ErrorOut, 422: ErrorOut},
    summary="合规检查 Compliance findings",
    description=(
        "按今日有效的政策参数检查机构的课程、收费、排课、人员与场地（R-FEE/TIME/AGE/STAFF/SITE），并给出已存的风险等级。"
        "该镇街的教育局人员与督查员、机构本身的工作人员可见；其他人 404。\n\n"
        "The institution's courses, fees, schedule, staff and premises checked against the policy values in force "
        "today, with its stored risk grade. Bureau roles of its town and its own staff only; others get 404."
    ),
)
def institution_compliance(request, institution_id: int):
    institution = access_institution_record(request.auth, institution_id)
    today = timezone.localdate()
    lang = request_language(request)
    return {
        "institution_id": institution.pk,
        "risk_grade": institution.risk_grade,
        "risk_updated_at": institution.risk_updated_at,
        "evaluated_on": today,
        "findings": [
            {
                "rule_id": f.rule_id,
                "severity": f.severity,
                "message": f.message(lang),
                "field": f.field,
                "object_type": f.object_type,
                "object_id": f.object_id,
            }
            for f in evaluate(institution, on=today)
        ],
    }
