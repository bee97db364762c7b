"""Inspection plans and random draws (双随机一公开, R-INSP-1), conflicts of interest and ad-hoc visits.

Writes follow complaints/services.py: keyword-only arguments with an explicit actor, one DomainError per refusal, an
audit event in the same transaction, notifications after commit. The draw itself is the pure function of draw.py:
this module only reads its inputs in a fixed number of queries (candidates, recent visits, pool, conflicts) and
stores its result. Who sees what is said in selectors.py, and answered for one row by permissions.py.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from accounts import scope
from accounts.models import Membership, Role
from core.audit import audit_log
from core.errors import DomainError, NotFound, PermissionDenied
from core.notifications import notify as tell
from core.policy import policy_decimal, policy_int
from core.transitions import transition, transition_many
from core.workdays import add_working_days
from institutions.models import Category, Institution, Status

from ..complaints.cache import complaints_changed
from ..complaints.models import SUBSTANTIATED_OUTCOMES, Complaint
from . import draw as random_draw
from .checklists import DEFAULT_CHECKLIST, current_checklist
from .models import (
    ConflictDeclaration,
    Inspection,
    InspectionAssignment,
    InspectionOrigin,
    InspectionPlan,
    InspectionStatus,
    PlanDraw,
    PlanStatus,
    SamplingMode,
)
from .permissions import access_plan, require_bureau

GRADES = ("A", "B", "C", "D")


def _invalid(code: str, field: str, message, status: int = 422) -> DomainError:
    return DomainError(code, message, status=status, fields={field: message})


# --- Plans ---------------------------------------------------------------------------------------------------------


def default_shares(on=None) -> dict[str, Decimal]:
    """R-INSP-1: 10 % overall, or A/B/C/D at 5/10/20/40 %, as dated policy values."""
    shares = {"overall": policy_decimal("sample_share_overall", on)}
    for grade in GRADES:
        shares[grade] = policy_decimal(f"sample_share_grade_{grade}", on)
    return shares


def plan_create(
    *,
    actor,
    name: str,
    period_start,
    period_end,
    region_id: int,
    inspector_ids: list[int],
    town_ids: list[int] | None = None,
    categories: list[str] | None = None,
    statuses: list[str] | None = None,
    sampling_mode: str = SamplingMode.BY_GRADE,
    shares: dict[str, Decimal] | None = None,
    team_size: int | None = None,
    recent_days_excluded: int | None = None,
    checklist_code: str = DEFAULT_CHECKLIST,
) -> InspectionPlan:
    require_bureau(actor)
    covered = scope.town_ids(actor)
    if region_id not in covered:
        raise NotFound(_("区域不存在"))
    town_ids = sorted(set(town_ids or []))
    if not set(town_ids) <= covered:
        raise _invalid("plan.scope_outside", "town_ids", _("范围中有不属于您辖区的镇街"))
    if period_end < period_start:
        raise _invalid("plan.bad_period", "period_end", _("结束日期早于开始日期"))
    minimum = policy_int("inspectors_per_visit_min", period_start)
    team_size = team_size or minimum
    if team_size < minimum:
        raise _invalid(
            "plan.team_too_small", "team_size", format_lazy(_("每次检查至少 {minimum} 名检查人员"), minimum=minimum)
        )
    if categories and not set(categories) <= set(Category.values):
        raise _invalid("plan.bad_category", "categories", _("类别无效"))
    if statuses and not set(statuses) <= set(Status.values):
        raise _invalid("plan.bad_status", "statuses", _("机构状态无效"))
    merged = {**default_shares(period_start), **(shares or {})}
    for key, value in merged.items():
        if not Decimal(0) <= Decimal(value) <= Decimal(1):
            raise _invalid("plan.bad_share", f"shares.{key}", _("抽取比例须在 0 到 1 之间"))
    pool = _inspector_pool(inspector_ids, covered)
    if len(pool) < team_size:
        raise _invalid(
            "plan.pool_too_small", "inspector_ids", _("检查人员库人数少于每组人数")
        )
    with transaction.atomic():
        plan = InspectionPlan.objects.create(
            name=name.strip()[:200],
            period_start=period_start,
            period_end=period_end,
            region_id=region_id,
            scope_town_ids=town_ids,
            scope_categories=sorted(set(categories or [])),
            scope_statuses=sorted(set(statuses or [])),
            sampling_mode=sampling_mode,
            share_overall=merged["overall"],
            share_grade_a=merged["A"],
            share_grade_b=merged["B"],
            share_grade_c=merged["C"],
            share_grade_d=merged["D"],
            team_size=team_size,
            recent_days_excluded=(
                recent_days_excluded
                if recent_days_excluded is not None
                else policy_int("inspection_recent_days_excluded", period_start)
            ),
            checklist_version=current_checklist(checklist_code),
            created_by=actor,
        )
        plan.inspectors.set(pool)
        audit_log(actor=actor, verb="inspection_plan.create", obj=plan, to_state=PlanStatus.DRAFT)
    return plan


def _inspector_pool(inspector_ids: list[int], covered: set[int]) -> list[int]:
    """Only users who are inspectors of a region of the plan's area may be in its pool."""
    found = set(
        Membership.objects.active()
        .filter(user_id__in=inspector_ids, role=Role.INSPECTOR, region_id__in=covered)
        .values_list("user_id", flat=True)
    )
    missing = set(inspector_ids) - found
    if missing:
        raise _invalid(
            "plan.not_inspectors",
            "inspector_ids",
            _("人员库中有非本辖区检查人员"),
        )
    return sorted(found)


def _rule_of(plan: InspectionPlan) -> random_draw.SamplingRule:
    if plan.sampling_mode == SamplingMode.OVERALL:
        return random_draw.SamplingRule(overall=plan.share_overall)
    return random_draw.SamplingRule(
        by_grade={
            "A": plan.share_grade_a,
            "B": plan.share_grade_b,
            "C": plan.share_grade_c,
            "D": plan.share_grade_d,
        }
    )


def draw_inputs(plan: InspectionPlan, *, today=None) -> dict:
    """What a draw depends on, read in four queries whatever the size of the registry: the candidates (id and risk
    grade only), the institutions inspected recently, the pool, and the pool's declared conflicts."""
    today = today or timezone.localdate()
    towns = plan.scope_town_ids or sorted(scope.regions_under([plan.region_id]))
    candidates_qs = Institution.objects.filter(town_id__in=towns, status__in=plan.scope_statuses or [Status.LICENSED])
    if plan.scope_categories:
        candidates_qs = candidates_qs.filter(category__in=plan.scope_categories)
    candidates = [random_draw.Candidate(pk, grade) for pk, grade in candidates_qs.values_list("pk", "risk_grade")]
    since = timezone.now() - timedelta(days=plan.recent_days_excluded)
    recent = set(
        Inspection.objects.filter(town_id__in=towns, completed_at__gte=since)
        .exclude(status=InspectionStatus.CANCELLED)
        .values_list("institution_id", flat=True)
        .distinct()
    )
    pool = list(plan.inspectors.values_list("pk", flat=True))
    conflicts: dict[int, set[int]] = {}
    for user_id, institution_id in ConflictDeclaration.objects.filter(inspector_id__in=pool).values_list(
        "inspector_id", "institution_id"
    ):
        conflicts.setdefault(user_id, set()).add(institution_id)
    inspectors = [random_draw.Inspector(uid, frozenset(conflicts.get(uid, ()))) for uid in pool]
    return {"candidates": candidates, "recent": recent, "inspectors": inspectors}


def draw_preview(plan: InspectionPlan, *, today=None) -> dict:
    """Before a draw: per risk grade (or overall) the candidates, those left out as inspected recently and how many
    the rule will draw; the institutions left out (and why); the pool's declared conflicts of interest, and the
    institutions no team could visit without one. The same inputs the draw reads (draw_inputs), plus two queries for
    names."""
    inputs = draw_inputs(plan, today=today)
    rule = _rule_of(plan)
    shares = rule.strata_shares()
    recent = inputs["recent"]
    strata = []
    for stratum, share in shares.items():
        members = [c for c in inputs["candidates"] if stratum == random_draw.ALL or c.risk_grade == stratum]
        left = [c for c in members if c.institution_id not in recent]
        strata.append(
            {
                "stratum": stratum,
                "share": share,
                "candidates": len(members),
                "excluded_recent": len(members) - len(left),
                "eligible": len(left),
                "to_draw": random_draw.sample_size(len(left), share),
            }
        )
    excluded_ids = sorted({c.institution_id for c in inputs["candidates"]} & recent)
    pool = inputs["inspectors"]
    conflict_pairs = [(i.user_id, inst) for i in pool for inst in sorted(i.conflicts)]
    unstaffable = sorted(
        c.institution_id
        for c in inputs["candidates"]
        if sum(1 for i in pool if c.institution_id not in i.conflicts) < plan.team_size
    )
    wanted = set(excluded_ids[:200]) | {inst for _, inst in conflict_pairs} | set(unstaffable)
    names = dict(Institution.objects.filter(pk__in=wanted).values_list("pk", "name")) if wanted else {}
    from accounts.models import User

    people = dict(User.objects.filter(pk__in=[i.user_id for i in pool]).values_list("pk", "name")) if pool else {}
    return {
        "strata": strata,
        "candidates": len(inputs["candidates"]),
        "eligible": sum(s["eligible"] for s in strata) if shares.keys() != {random_draw.ALL} else strata[0]["eligible"],
        "to_draw": sum(s["to_draw"] for s in strata),
        "excluded": [
            {"institution_id": pk, "name": names.get(pk, ""), "reason": "recent", "days": plan.recent_days_excluded}
            for pk in excluded_ids[:200]
        ],
        "excluded_count": len(excluded_ids),
        "conflicts": [
            {"inspector_id": uid, "inspector": people.get(uid, ""), "institution_id": inst, "name": names.get(inst, "")}
            for uid, inst in conflict_pairs
        ],
        "unstaffable": [{"institution_id": pk, "name": names.get(pk, "")} for pk in unstaffable],
        "pool": [{"id": i.user_id, "name": people.get(i.user_id, "")} for i in pool],
        "team_size": plan.team_size,
        "empty": not any(s["eligible"] for s in strata),
    }


DRAWABLE = (PlanStatus.DRAFT, PlanStatus.DRAWN)  # a drawn plan may be drawn again (with a reason)


def _finished(plan: InspectionPlan) -> DomainError:
    return DomainError("plan.finished", _("计划已结束，不能再抽取"), status=409)


def plan_draw(*, actor, plan_id: int, seed: str | None = None, reason: str = "") -> PlanDraw:
    """Draw institutions and teams (R-INSP-1). A second draw needs a reason; the first stays in the audit trail and
    in PlanDraw, its visits not yet started are cancelled. Inspectors are told of their visits after commit."""
    seed = (seed or "").strip() or secrets.token_hex(8)
    if len(seed) > 100:
        raise _invalid("plan.bad_seed", "seed", _("随机种子过长（最多 100 字符）"))
    reason = (reason or "").strip()
    with transaction.atomic():
        plan = access_plan(actor, plan_id, for_update=True)
        previous = plan.draws.filter(is_current=True).first()
        if plan.status not in DRAWABLE:  # before any work; the transition below holds the same rule
            raise _finished(plan)
        if previous is not None:
            if not reason:
                raise _invalid("plan.redraw_reason_required", "reason", _("重新抽取须说明原因"))
            started = previous.visits.exclude(status__in=[InspectionStatus.ASSIGNED, InspectionStatus.CANCELLED])
            if started.exists():
                raise DomainError(
                    "plan.visits_started", _("已有检查开始，不能重新抽取"), status=409
                )
            transition_many(
                previous.visits.all(), actor=actor, verb="inspection.cancel", allowed_from=InspectionStatus.ASSIGNED,
                to=InspectionStatus.CANCELLED, data={"plan": plan.pk, "redraw": previous.number + 1},
            )  # fmt: skip
            PlanDraw.objects.filter(pk=previous.pk).update(is_current=False)
        inputs = draw_inputs(plan)
        drawable = {c.institution_id for c in inputs["candidates"]} - inputs["recent"]
        if not drawable:
            raise DomainError(
                "plan.empty_scope",
                _("范围内没有可抽取的机构（没有符合范围的机构，或都在近期检查过）：请扩大镇街、类别或状态范围"),
                status=422,
            )
        result = random_draw.draw(
            candidates=inputs["candidates"],
            rule=_rule_of(plan),
            inspectors=inputs["inspectors"],
            team_size=plan.team_size,
            seed=seed,
            exclude=inputs["recent"],
        )
        record = PlanDraw.objects.create(
            plan=plan,
            number=(previous.number + 1) if previous else 1,
            seed=seed,
            reason=reason[:500],
            inputs={
                "candidates": len(inputs["candidates"]),
                "excluded_recent": len(inputs["recent"]),
                "pool": [i.user_id for i in inputs["inspectors"]],
                "team_size": plan.team_size,
            },
            result=result.as_dict(),
            drawn_by=actor,
        )
        towns = dict(
            Institution.objects.filter(pk__in=[a.institution_id for a in result.assignments]).values_list(
                "pk", "town_id"
            )
        )
        visits = Inspection.objects.bulk_create(
            Inspection(
                plan=plan,
                draw=record,
                origin=InspectionOrigin.PLAN,
                institution_id=a.institution_id,
                town_id=towns[a.institution_id],
                checklist_version_id=plan.checklist_version_id,
                due_by=plan.period_end,
                created_by=actor,
            )
            for a in result.assignments
        )
        InspectionAssignment.objects.bulk_create(
            InspectionAssignment(inspection=visit, inspector_id=uid)
            for visit, a in zip(visits, result.assignments, strict=True)
            for uid in a.inspector_ids
        )
        transition(
            plan,
            actor=actor,
            verb="inspection_plan.draw" if previous is None else "inspection_plan.redraw",
            allowed_from=DRAWABLE,
            to=PlanStatus.DRAWN,
            fields={"seed": seed},
            error=_finished,
            data={
                "draw": record.number,
                "seed": seed,
                "reason": reason,
                "previous_draw": previous.number if previous else None,
                "previous_seed": previous.seed if previous else None,
                "drawn": len(result.assignments),
                "unstaffed": result.unstaffed,
            },
        )
        load: dict[int, int] = {}
        for a in result.assignments:
            for uid in a.inspector_ids:
                load[uid] = load.get(uid, 0) + 1
        for uid, count in load.items():
            tell(
                recipients=[uid],
                kind="inspection.assigned",
                title=f"新的检查任务：{plan.name}（{count} 家）",
                body=f"{plan.period_start} 至 {plan.period_end}",
                obj=plan,
                payload={"plan_id": plan.pk, "draw": record.number, "visits": count},
            )
    return record


def plan_finish(*, actor, plan_id: int) -> InspectionPlan:
    """Closes the plan; its results are published `results_publication_working_days` later (publication.py)."""
    with transaction.atomic():
        plan = access_plan(actor, plan_id, for_update=True)

        def not_drawn(plan) -> DomainError:
            return DomainError(
                "plan.not_drawn", _("计划尚未抽取或已结束"), status=409
            )

        today = timezone.localdate()
        publish_on = add_working_days(today, policy_int("results_publication_working_days", today))
        return transition(
            plan, actor=actor, verb="inspection_plan.finish", allowed_from=PlanStatus.DRAWN, to=PlanStatus.FINISHED,
            fields={"finished_on": today, "publish_on": publish_on}, data={"publish_on": str(publish_on)},
            error=not_drawn,
        )  # fmt: skip


def visit_reassign(*, actor, inspection_id: int, inspector_ids: list[int], reason: str) -> Inspection:
    """Give a visit not yet started another team (an inspector ill, a conflict found late): bureau staff of its town,
    with a reason; the team as a draw makes it (inspectors of the bureau's area, at least the minimum, none with a
    declared conflict). Audited; the new members are told after commit."""
    require_bureau(actor)
    reason = (reason or "").strip()
    if not reason:
        raise _invalid("inspection.reassign_reason_required", "reason", _("请说明改派原因"))
    covered = scope.town_ids(actor)
    with transaction.atomic():
        visit = (
            Inspection.objects.select_for_update(of=("self",))
            .select_related("institution", "plan")
            .filter(pk=inspection_id, town_id__in=covered)
            .first()
        )
        if visit is None:
            raise NotFound(_("检查不存在"))
        if visit.status != InspectionStatus.ASSIGNED:
            raise DomainError("inspection.started", _("检查已开始或已结束，不能改派"), status=409)
        team = _inspector_pool(sorted(set(inspector_ids)), covered)
        minimum = visit.plan.team_size if visit.plan else policy_int("inspectors_per_visit_min")
        if len(team) < minimum:
            raise _invalid(
                "plan.team_too_small", "inspector_ids",
                format_lazy(_("每次检查至少 {minimum} 名检查人员"), minimum=minimum),
            )  # fmt: skip
        if ConflictDeclaration.objects.filter(inspector_id__in=team, institution_id=visit.institution_id).exists():
            raise _invalid("inspection.conflict_of_interest", "inspector_ids", _("有检查人员申报了利益冲突"))
        before = sorted(visit.assignments.values_list("inspector_id", flat=True))
        if before == team:
            raise _invalid("inspection.same_team", "inspector_ids", _("新的检查组与原检查组相同"))
        visit.assignments.exclude(inspector_id__in=team).delete()
        InspectionAssignment.objects.bulk_create(
            InspectionAssignment(inspection=visit, inspector_id=uid) for uid in team if uid not in before
        )
        audit_log(
            actor=actor, verb="inspection.reassign", obj=visit,
            data={"from": before, "to": team, "reason": reason[:500]},
        )  # fmt: skip
        added = [uid for uid in team if uid not in before]
        if added:
            tell(recipients=added, kind="inspection.assigned", title=f"改派的检查任务：{visit.institution.name}",
                 body=reason[:200], obj=visit)  # fmt: skip
    return visit


# --- Conflicts of interest and ad-hoc visits -------------------------------------------------------------------------


def conflict_declare(*, actor, institution_id: int, reason: str) -> ConflictDeclaration:
    if not scope.has_role(actor, Role.INSPECTOR):
        raise PermissionDenied(_("仅检查人员可以申报"))
    if not (reason or "").strip():
        raise _invalid("conflict.reason_required", "reason", _("请说明原因"))
    if not Institution.objects.filter(pk=institution_id).exists():
        raise NotFound(_("机构不存在"))
    row, created = ConflictDeclaration.objects.get_or_create(
        inspector=actor, institution_id=institution_id, defaults={"reason": reason.strip()[:300]}
    )
    if created:
        audit_log(actor=actor, verb="inspection.conflict_declared", obj=row, data={"institution": institution_id})
    return row


def inspection_open_adhoc(
    *, actor, inspector_ids: list[int], complaint_id: int | None = None, institution_id: int | None = None
) -> Inspection:
    """An inspection outside any draw: from a substantiated complaint (linked both ways) or an unlicensed record."""
    require_bureau(actor)
    if (complaint_id is None) == (institution_id is None):
        raise _invalid(
            "inspection.source_required", "complaint_id", _("须指定投诉或无证机构之一")
        )
    covered = scope.town_ids(actor)
    with transaction.atomic():
        complaint = None
        if complaint_id is not None:
            complaint = Complaint.objects.select_for_update().filter(pk=complaint_id, town_id__in=covered).first()
            if complaint is None:
                raise NotFound(_("投诉不存在"))
            if complaint.outcome not in SUBSTANTIATED_OUTCOMES:
                raise DomainError(
                    "inspection.complaint_not_substantiated",
                    _("仅属实的投诉可以发起检查"),
                    status=409,
                )
            if complaint.inspection_id:
                raise DomainError("inspection.already_opened", _("该投诉已发起检查"), status=409)
            institution = complaint.institution
            origin = InspectionOrigin.COMPLAINT
        else:
            institution = Institution.objects.filter(pk=institution_id, town_id__in=covered).first()
            if institution is None:
                raise NotFound(_("机构不存在"))
            if institution.status != Status.UNLICENSED:
                raise DomainError(
                    "inspection.not_unlicensed", _("该机构不是无证线索"), status=409
                )
            origin = InspectionOrigin.UNLICENSED
        visit = staff_visit(
            actor=actor, institution=institution, origin=origin, inspector_ids=inspector_ids, covered=covered
        )
        if complaint is not None:
            Complaint.objects.filter(pk=complaint.pk).update(inspection=visit)
            complaints_changed()  # the desk's kept page of the complaint links the inspection
        audit_log(
            actor=actor,
            verb="inspection.open_adhoc",
            obj=visit,
            to_state=InspectionStatus.ASSIGNED,
            data={"origin": origin, "complaint": complaint_id, "institution": institution.pk},
        )
    return visit


def staff_visit(*, actor, institution, origin: str, inspector_ids, covered: set[int], due_by=None) -> Inspection:
    """A visit outside any draw, on the current checklist, by a team of inspectors of `covered` regions (at least the
    minimum, none with a declared conflict of interest), who are told after commit. Call inside a transaction."""
    team = _inspector_pool(sorted(set(inspector_ids)), covered)
    minimum = policy_int("inspectors_per_visit_min")
    if len(team) < minimum:
        raise _invalid(
            "plan.team_too_small", "inspector_ids", format_lazy(_("每次检查至少 {minimum} 名检查人员"), minimum=minimum)
        )
    conflicted = set(
        ConflictDeclaration.objects.filter(inspector_id__in=team, institution=institution).values_list(
            "inspector_id", flat=True
        )
    )
    if conflicted:
        raise _invalid(
            "inspection.conflict_of_interest", "inspector_ids", _("有检查人员申报了利益冲突")
        )
    visit = Inspection.objects.create(
        origin=origin,
        institution=institution,
        town_id=institution.town_id,
        checklist_version=current_checklist(),
        due_by=due_by,
        created_by=actor,
    )
    InspectionAssignment.objects.bulk_create(InspectionAssignment(inspection=visit, inspector_id=u) for u in team)
    label = "整改复查" if origin == InspectionOrigin.FOLLOWUP else "专项检查"
    tell(recipients=team, kind="inspection.assigned", title=f"新的{label}：{institution.name}", obj=visit)
    return visit
