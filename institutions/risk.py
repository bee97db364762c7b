"""The risk grade of an institution (A low … D high), which weights the random draw of inspections (R-INSP-1).

Scoring, in points:

- Findings now (institutions.policy.evaluate): each rule broken counts once, at its most severe finding:
  high 5, medium 2, low 1. Thirty slots that end late are one habit to correct, not thirty risks; two different
  rules broken are two.
- Signals from outside the registry, counts over the last 12 months, given by the apps that know them (supervision
  calls `risk_recompute(id, extra_signals={...})` or registers a provider, see below; this app never imports it):
  SIGNAL_POINTS, e.g. a substantiated complaint 2, a high inspection finding 5, an overdue rectification order 5.
  A rectification order not yet closed counts 2 (rectifications_open), and 5 more once it is overdue.
- Grade by total: A below 2, B from 2, C from 5, D from 10. So one low finding leaves A, one medium gives B, one high
  (or an overdue rectification) gives C, two highs give D.
- The status sets a floor: unlicensed, suspended and revoked are D whatever the points; an expired licence at least
  C; an institution under rectification at least B.

The grade is stored on Institution.risk_grade with risk_updated_at (the last computation), and an audit event
"institution.risk" (from the old grade to the new) is written only when the grade changes.

Signal providers: the nightly recompute (beat → `institutions.recompute_all_risk`) has no caller to pass the
complaint and inspection counts, so an app that holds such facts registers a function at start-up
(`register_risk_signal_provider(fn)` in its AppConfig.ready); `fn(institution_id) -> {signal: count}` is asked on
every recompute. Signals passed explicitly win over a provider's for the same name.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date

from celery import shared_task
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.audit import audit_log
from core.errors import NotFound

from .models import Institution, RiskGrade, Status
from .policy import HIGH, LOW, MEDIUM, SEVERITY_RANK, Finding, evaluate

logger = logging.getLogger(__name__)

FINDING_POINTS = {HIGH: 5, MEDIUM: 2, LOW: 1}

SIGNAL_POINTS: dict[str, int] = {
    "complaints_substantiated_12m": 2,  # complaints found true in the last 12 months
    "inspection_findings_high_12m": 5,  # high-severity inspection findings in the last 12 months
    "inspection_findings_medium_12m": 2,
    "inspection_findings_low_12m": 1,
    "rectifications_overdue": 5,  # rectification orders open past their deadline
    "rectifications_open": 2,  # rectification orders not yet closed (open or answered), overdue or not
}

# The lowest score of each grade above A.
GRADE_THRESHOLDS = ((RiskGrade.D, 10), (RiskGrade.C, 5), (RiskGrade.B, 2))

STATUS_FLOOR = {
    Status.UNLICENSED: RiskGrade.D,
    Status.SUSPENDED: RiskGrade.D,
    Status.REVOKED: RiskGrade.D,
    Status.EXPIRED: RiskGrade.C,
    Status.RECTIFYING: RiskGrade.B,
}

_ORDER = [RiskGrade.A, RiskGrade.B, RiskGrade.C, RiskGrade.D]

SignalProvider = Callable[[int], Mapping[str, int]]
_signal_providers: list[SignalProvider] = []


def register_risk_signal_provider(provider: SignalProvider) -> SignalProvider:
    """Register `provider(institution_id) -> {signal: count}` (usable as a decorator); registering twice is a no-op."""
    if provider not in _signal_providers:
        _signal_providers.append(provider)
    return provider


def unregister_risk_signal_provider(provider: SignalProvider) -> None:
    if provider in _signal_providers:
        _signal_providers.remove(provider)


@dataclass(frozen=True)
class RiskAssessment:
    grade: str
    score: int
    finding_points: int
    signal_points: int
    status_floor: str | None
    findings: tuple[Finding, ...] = ()
    signals: dict[str, int] = field(default_factory=dict)

    def summary(self) -> dict:
        """For the audit event: numbers and rule ids, no names."""
        counts = {HIGH: 0, MEDIUM: 0, LOW: 0}
        for f in self.findings:
            counts[f.severity] = counts.get(f.severity, 0) + 1
        return {
            "score": self.score,
            "finding_points": self.finding_points,
            "signal_points": self.signal_points,
            "status_floor": self.status_floor or "",
            "findings": counts,
            "rules": sorted({f.rule_id for f in self.findings}),
            "signals": dict(self.signals),
        }


def finding_points(findings) -> int:
    """Each rule counts once, at its most severe finding."""
    worst: dict[str, str] = {}
    for f in findings:
        if f.rule_id not in worst or SEVERITY_RANK[f.severity] < SEVERITY_RANK[worst[f.rule_id]]:
            worst[f.rule_id] = f.severity
    return sum(FINDING_POINTS[severity] for severity in worst.values())


def clean_signals(signals: Mapping[str, int] | None) -> dict[str, int]:
    """Known names with whole, non-negative counts; anything else is a caller's bug and refused loudly."""
    out: dict[str, int] = {}
    for name, count in (signals or {}).items():
        if name not in SIGNAL_POINTS:
            raise ValueError(f"Unknown risk signal {name!r}; known: {', '.join(sorted(SIGNAL_POINTS))}")
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise ValueError(f"Risk signal {name!r} must be a whole count ≥ 0, not {count!r}")
        out[name] = count
    return out


def signal_points(signals: Mapping[str, int]) -> int:
    return sum(SIGNAL_POINTS[name] * count for name, count in signals.items())


def grade_for(score: int, status: str | None = None) -> str:
    grade = RiskGrade.A
    for candidate, threshold in GRADE_THRESHOLDS:
        if score >= threshold:
            grade = candidate
            break
    floor = STATUS_FLOOR.get(status)
    if floor is not None and _ORDER.index(floor) > _ORDER.index(grade):
        grade = floor
    return str(grade)


def _gather_signals(institution_id: int, extra_signals: Mapping[str, int] | None) -> dict[str, int]:
    signals: dict[str, int] = {}
    for provider in _signal_providers:
        signals.update(clean_signals(provider(institution_id)))
    signals.update(clean_signals(extra_signals))
    return signals


def assess(
    institution: Institution, *, on: date | None = None, extra_signals: Mapping[str, int] | None = None
) -> RiskAssessment:
    """The grade the institution would get now, without storing it."""
    findings = evaluate(institution, on=on)
    signals = _gather_signals(institution.pk, extra_signals)
    points_f, points_s = finding_points(findings), signal_points(signals)
    score = points_f + points_s
    return RiskAssessment(
        grade=grade_for(score, institution.status),
        score=score,
        finding_points=points_f,
        signal_points=points_s,
        status_floor=str(STATUS_FLOOR[institution.status]) if institution.status in STATUS_FLOOR else None,
        findings=tuple(findings),
        signals=signals,
    )


def risk_recompute(
    institution_id: int,
    *,
    extra_signals: Mapping[str, int] | None = None,
    on: date | None = None,
    actor=None,
) -> RiskAssessment:
    """Compute and store the grade of one institution; audit only when the grade changes.

    `extra_signals`: counts known outside the registry, e.g. {"complaints_substantiated_12m": 2,
    "inspection_findings_high_12m": 1} (names in SIGNAL_POINTS; an unknown name raises ValueError). `actor`: None is
    the system (a task).
    """
    extra = clean_signals(extra_signals)  # refuse a bad call before taking any lock
    with transaction.atomic():
        institution = Institution.objects.select_for_update().filter(pk=institution_id).first()
        if institution is None:
            raise NotFound(_("机构不存在"))
        result = assess(institution, on=on, extra_signals=extra)
        old = institution.risk_grade
        institution.risk_grade = result.grade
        institution.risk_updated_at = timezone.now()
        institution.save(update_fields=["risk_grade", "risk_updated_at"])
        if old != result.grade:
            audit_log(
                actor=actor,
                verb="institution.risk",
                obj=institution,
                from_state=old,
                to_state=result.grade,
                data=result.summary(),
            )
    return result


def risk_recompute_all() -> int:
    """Queue a recompute for every institution that is not closed (the beat job); returns how many were queued."""
    ids = list(Institution.objects.exclude(status=Status.CLOSED).order_by("pk").values_list("pk", flat=True))
    for institution_id in ids:
        recompute_risk.delay(institution_id)
    return len(ids)


@shared_task(
    name="institutions.recompute_risk",
    autoretry_for=(Exception,),
    dont_autoretry_for=(ValueError,),
    retry_backoff=True,
    retry_backoff_max=600,
    max_retries=5,
)
def recompute_risk(institution_id: int, extra_signals: dict | None = None) -> str | None:
    """Recompute one institution's grade (idempotent); a deleted institution is nothing to do."""
    try:
        return risk_recompute(institution_id, extra_signals=extra_signals).grade
    except NotFound:
        logger.info("Risk recompute: institution %s no longer exists", institution_id)
        return None


@shared_task(
    name="institutions.recompute_all_risk",
    autoretry_for=(Exception,),
    retry_backoff=True,
    retry_backoff_max=600,
    max_retries=5,
)
def recompute_all_risk() -> int:
    return risk_recompute_all()
