"""Reads of inspections, already scoped to who asks, in a fixed number of queries.

Who sees what (404 for the rest):
- an inspector: the visits they are assigned to, and the institutions of those visits;
- bureau staff and admins: plans and visits of the towns they cover (a district membership covers every town);
- institution staff: only their own rectification orders and published results (publication.py).
"""

from __future__ import annotations

from datetime import date, timedelta

from django.db.models import Count, IntegerField, OuterRef, Prefetch, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from accounts.models import Role
from accounts.scope import has_role, institution_ids, is_bureau, town_ids

from .models import (
    ChecklistAnswer,
    ChecklistItem,
    Finding,
    Inspection,
    InspectionAssignment,
    InspectionPlan,
    InspectionStatus,
    OrderStatus,
    PenaltyDecision,
    RectificationOrder,
    VisitRecord,
)

EARLIER_FINDINGS = 20  # per institution, newest first


# --- Who sees what (access_* in permissions.py answer the same 404 for missing and not yours) -------------


def inspections_visible_to(user) -> QuerySet[Inspection]:
    """Bureau staff: the visits of their towns; inspectors: their own assignments; anyone else: nothing."""
    if not getattr(user, "pk", None):
        return Inspection.objects.none()
    scope = Q(pk__in=InspectionAssignment.objects.filter(inspector_id=user.pk).values("inspection_id"))
    if is_bureau(user):
        scope |= Q(town_id__in=town_ids(user))
    return Inspection.objects.filter(scope)


def plans_visible_to(user) -> QuerySet[InspectionPlan]:
    if not is_bureau(user):
        return InspectionPlan.objects.none()
    return InspectionPlan.objects.filter(region_id__in=town_ids(user))


def _assigned(user) -> QuerySet:
    return InspectionAssignment.objects.filter(inspector_id=user.pk).values("inspection_id")


def orders_visible_to(user) -> QuerySet[RectificationOrder]:
    """Bureau: their towns; inspectors: orders from visits they made or follow up; institution staff: their own;
    else none."""
    if not getattr(user, "pk", None):
        return RectificationOrder.objects.none()
    scope = Q(pk__in=[])
    if is_bureau(user):
        scope |= Q(town_id__in=town_ids(user))
    if has_role(user, Role.INSPECTOR):
        scope |= Q(finding__inspection_id__in=_assigned(user)) | Q(followup_id__in=_assigned(user))
    own = institution_ids(user)
    if own:
        scope |= Q(institution_id__in=own)
    return RectificationOrder.objects.filter(scope)


def penalties_visible_to(user) -> QuerySet[PenaltyDecision]:
    """Bureau staff: decisions of their towns (the district supervisor: all); inspectors: decisions on visits they
    made; anyone else (institution staff included): none."""
    if not getattr(user, "pk", None):
        return PenaltyDecision.objects.none()
    scope = Q(pk__in=[])
    if is_bureau(user):
        scope |= Q(town_id__in=town_ids(user))
    if has_role(user, Role.INSPECTOR):
        scope |= Q(inspection_id__in=InspectionAssignment.objects.filter(inspector_id=user.pk).values("inspection_id"))
    return PenaltyDecision.objects.filter(scope)


def conflicts_visible_to(user, *, inspection_id: int | None = None, resolved: bool = False):
    """Conflicting records a reviewer may see: those of visits the user is on, or of their towns (bureau; the district
    supervisor: all). Open ones by default, oldest first."""
    qs = VisitRecord.objects.filter(
        state=VisitRecord.State.CONFLICT, resolved=resolved, inspection__in=inspections_visible_to(user)
    )
    if inspection_id:
        qs = qs.filter(inspection_id=inspection_id)
    return qs.select_related("inspection", "inspection__institution", "author").order_by("received_at", "id")


def missing_photos(visit: Inspection) -> list[str]:
    return [str(u) for u in visit.photos.filter(received=False).order_by("created_at").values_list("uuid", flat=True)]


# --- Reads for phones and pages ------------------------------------------------------------------------------


def _item(i: ChecklistItem) -> dict:
    return {
        "code": i.code,
        "section": i.section,
        "question_zh": i.question_zh,
        "question_en": i.question_en,
        "answer_type": i.answer_type,
        "rule_id": i.rule_id,
        "severity": i.severity,
        "public": i.public,
    }


def assigned_for(user, *, date_from: date | None = None, date_to: date | None = None) -> dict:
    """An inspector's open visits with everything needed offline: the institution, the pinned checklist versions
    (each once), open rectification orders and earlier findings of those institutions. Six queries, whatever the
    number of visits."""
    visits_qs = (
        Inspection.objects.filter(
            pk__in=InspectionAssignment.objects.filter(inspector_id=getattr(user, "pk", None)).values("inspection_id")
        )
        .exclude(status__in=[InspectionStatus.CANCELLED, InspectionStatus.COMPLETE])
        .select_related("institution", "institution__town")
        .prefetch_related(Prefetch("assignments", queryset=InspectionAssignment.objects.select_related("inspector")))
        .order_by("due_by", "id")
    )
    if date_from:
        visits_qs = visits_qs.filter(Q(due_by__gte=date_from) | Q(due_by__isnull=True))
    if date_to:
        visits_qs = visits_qs.filter(Q(due_by__lte=date_to) | Q(due_by__isnull=True))
    visits = list(visits_qs[:500])
    institution_ids = {v.institution_id for v in visits}
    version_ids = {v.checklist_version_id for v in visits}
    checklists: dict[str, list[dict]] = {str(vid): [] for vid in version_ids}
    for item in ChecklistItem.objects.filter(version_id__in=version_ids).order_by("version_id", "position", "id"):
        checklists[str(item.version_id)].append(_item(item))
    orders: dict[int, list[dict]] = {}
    for o in RectificationOrder.objects.filter(
        institution_id__in=institution_ids, status__in=[OrderStatus.OPEN, OrderStatus.ANSWERED]
    ).select_related("finding"):
        orders.setdefault(o.institution_id, []).append(
            {"id": o.pk, "status": o.status, "due_on": o.due_on, "finding": o.finding.description}
        )
    findings: dict[int, list[dict]] = {}
    for f in Finding.objects.filter(institution_id__in=institution_ids).order_by("-created_at", "-id")[:2000]:
        bucket = findings.setdefault(f.institution_id, [])
        if len(bucket) < EARLIER_FINDINGS:
            bucket.append(
                {
                    "inspection_id": f.inspection_id,
                    "rule_id": f.rule_id,
                    "severity": f.severity,
                    "description": f.description,
                    "date": f.created_at.date(),
                }
            )
    return {
        "visits": [
            {
                "id": v.pk,
                "status": v.status,
                "version": v.version,
                "origin": v.origin,
                "due_by": v.due_by,
                "checklist_version_id": v.checklist_version_id,
                "inspector_ids": sorted(a.inspector_id for a in v.assignments.all()),
                "team": [a.inspector.name for a in sorted(v.assignments.all(), key=lambda a: a.inspector_id)],
                "institution": {
                    "id": v.institution.pk,
                    "name": v.institution.name,
                    "address": v.institution.address,
                    "town": v.institution.town.name,
                    "status": v.institution.status,
                    "licence_number": v.institution.licence_number,
                    "latitude": v.institution.latitude,
                    "longitude": v.institution.longitude,
                    "risk_grade": v.institution.risk_grade,
                },
                "open_orders": orders.get(v.institution_id, []),
                "earlier_findings": [f for f in findings.get(v.institution_id, []) if f["inspection_id"] != v.pk],
            }
            for v in visits
        ],
        "checklists": checklists,
    }


def inspection_detail(v: Inspection) -> dict:
    """A visit as its inspector or the bureau sees it (reached through permissions.access_inspection)."""
    answers = ChecklistAnswer.objects.filter(inspection=v).select_related("item").order_by("item__position")
    return {
        "id": v.pk,
        "status": v.status,
        "version": v.version,
        "origin": v.origin,
        "institution_id": v.institution_id,
        "institution_name": v.institution.name,
        "checklist_version_id": v.checklist_version_id,
        "checkin_at": v.checkin_at,
        "checkin_distance_m": v.checkin_distance_m,
        "checkin_flagged": v.checkin_flagged,
        "checkout_at": v.checkout_at,
        "acknowledged_by": v.acknowledged_by,
        "completed_at": v.completed_at,
        "notes": v.notes,
        "answers": [{"item_code": a.item.code, "value": a.value, "version": a.version} for a in answers],
        "findings": [
            {"id": f.pk, "rule_id": f.rule_id, "severity": f.severity, "description": f.description}
            for f in v.findings.order_by("id")
        ],
        "conflicts": [
            {"uuid": str(r.client_uuid), "kind": r.kind, "payload": r.payload, "server": r.server_copy}
            for r in v.records.filter(state="conflict", resolved=False).order_by("id")
        ],
        "missing_photos": missing_photos(v),
        "photos_received": v.photos.filter(received=True).count(),
    }


# --- Lists for the bureau, the supervisor and inspectors (each a fixed number of queries per page) -----------------


def plans_list(
    user, *, status: str | None = None, date_from: date | None = None, date_to: date | None = None
) -> QuerySet[InspectionPlan]:
    """Plans of the towns the user's bureau covers (a district membership: all), with counts of their visits; plans
    whose period meets [date_from, date_to]."""
    qs = plans_visible_to(user).annotate(
        visits_total=Count("visits", filter=~Q(visits__status=InspectionStatus.CANCELLED)),
        visits_complete=Count("visits", filter=Q(visits__status=InspectionStatus.COMPLETE)),
    )
    if status:
        qs = qs.filter(status=status)
    if date_from:
        qs = qs.filter(period_end__gte=date_from)
    if date_to:
        qs = qs.filter(period_start__lte=date_to)
    return qs.order_by("-period_start", "-id")


def visits_list(
    user,
    *,
    plan_id: int | None = None,
    status: str | None = None,
    institution_id: int | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
) -> QuerySet[Inspection]:
    """Visits in the user's scope (an inspector: their own; bureau staff: their towns; the district supervisor: all).
    The period filter reads the visit's deadline (due_by) or, for an ad-hoc visit without one, the day it opened."""
    open_conflicts = (
        VisitRecord.objects.filter(inspection=OuterRef("pk"), state=VisitRecord.State.CONFLICT, resolved=False)
        .order_by()
        .values("inspection")
        .annotate(n=Count("id"))
        .values("n")
    )
    qs = (
        inspections_visible_to(user)
        .select_related("institution", "town")
        .prefetch_related("assignments")
        .annotate(open_conflicts=Coalesce(Subquery(open_conflicts, output_field=IntegerField()), Value(0)))
    )
    if plan_id:
        qs = qs.filter(plan_id=plan_id)
    if status:
        qs = qs.filter(status=status)
    if institution_id:
        qs = qs.filter(institution_id=institution_id)
    if date_from:
        qs = qs.filter(Q(due_by__gte=date_from) | Q(due_by__isnull=True, created_at__date__gte=date_from))
    if date_to:
        qs = qs.filter(Q(due_by__lte=date_to) | Q(due_by__isnull=True, created_at__date__lte=date_to))
    return qs.order_by("-created_at", "-id")


def visit_row(v: Inspection) -> dict:
    return {
        "id": v.pk,
        "plan_id": v.plan_id,
        "origin": v.origin,
        "status": v.status,
        "version": v.version,
        "institution_id": v.institution_id,
        "institution_name": v.institution.name,
        "town": v.town.name,
        "due_by": v.due_by,
        "checkin_at": v.checkin_at,
        "checkin_distance_m": v.checkin_distance_m,
        "checkin_flagged": v.checkin_flagged,
        "checkout_at": v.checkout_at,
        "completed_at": v.completed_at,
        "result": v.result,
        "inspector_ids": sorted(a.inspector_id for a in v.assignments.all()),
        "open_conflicts": getattr(v, "open_conflicts", 0),
    }


def penalties_list(
    user,
    *,
    institution_id: int | None = None,
    kind: str | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
) -> QuerySet[PenaltyDecision]:
    qs = penalties_visible_to(user).select_related("institution", "town")
    if institution_id:
        qs = qs.filter(institution_id=institution_id)
    if kind:
        qs = qs.filter(kind=kind)
    if date_from:
        qs = qs.filter(decided_at__date__gte=date_from)
    if date_to:
        qs = qs.filter(decided_at__date__lte=date_to)
    return qs.order_by("-decided_at", "-id")


def orders_list(
    user,
    *,
    status: str | None = None,
    institution_id: int | None = None,
    inspection_id: int | None = None,
    overdue: bool | None = None,
) -> QuerySet[RectificationOrder]:
    """Orders in the user's scope: institution staff only their own institution's; bureau their towns; inspectors
    those from their visits."""
    qs = orders_visible_to(user).select_related("institution", "finding")
    if status:
        qs = qs.filter(status=status)
    if institution_id:
        qs = qs.filter(institution_id=institution_id)
    if inspection_id:
        qs = qs.filter(finding__inspection_id=inspection_id)
    if overdue is not None:
        late = Q(status__in=[OrderStatus.OPEN, OrderStatus.ANSWERED], due_on__lt=timezone.localdate())
        qs = qs.filter(late if overdue else ~late)
    return qs.order_by("due_on", "id")


# --- The work waiting (home cards) and the lists behind them --------------------------------------------------------

OPEN_VISIT = ~Q(status__in=[InspectionStatus.CANCELLED, InspectionStatus.COMPLETE])


def visit_filters(user, today: date) -> dict[str, Q]:
    """An inspector's own open visits by their deadline: `today`, `week` (due Monday to Sunday of this week, today's
    and any still open from earlier days of the week included), and `unsubmitted` (checked in on the phone, not yet
    complete on the server: in progress or waiting for photos). Empty for someone who is not an inspector."""
    if not has_role(user, Role.INSPECTOR):
        return {}
    mine = Q(pk__in=_assigned(user)) & OPEN_VISIT
    monday = today - timedelta(days=today.weekday())
    return {
        "today": mine & Q(due_by=today),
        "week": mine & Q(due_by__gte=monday, due_by__lte=monday + timedelta(days=6)),
        "unsubmitted": mine & Q(status__in=[InspectionStatus.IN_PROGRESS, InspectionStatus.AWAITING_PHOTOS]),
    }


def visit_slices(user, today: date) -> tuple[QuerySet[Inspection], dict[str, Q]]:
    """What a home counts of visits: the user's scope and the inspector's slices (core.counting)."""
    return inspections_visible_to(user), visit_filters(user, today)


def visit_counts(user, today: date) -> dict[str, int]:
    """{slice: how many} of `visit_filters`: one query."""
    filters = visit_filters(user, today)
    if not filters:
        return {}
    return inspections_visible_to(user).aggregate(**{n: Count("pk", filter=q) for n, q in filters.items()})


def visit_work_list(user, name: str, today: date) -> QuerySet[Inspection] | None:
    q = visit_filters(user, today).get(name)
    if q is None:
        return None
    return inspections_visible_to(user).filter(q).select_related("institution", "town").order_by("due_by", "id")


ORDER_FILTERS = {
    # Answered by the institution with its evidence: an inspector (or the bureau) verifies it.
    "to_verify": Q(status=OrderStatus.ANSWERED),
    # Still waiting for the institution's answer.
    "open": Q(status=OrderStatus.OPEN),
}


def order_slices(user) -> tuple[QuerySet[RectificationOrder], dict[str, Q]]:
    return orders_visible_to(user), (ORDER_FILTERS if getattr(user, "pk", None) else {})


def order_counts(user) -> dict[str, int]:
    """{slice: how many} of the rectification orders the user may see (`orders_visible_to`): one query."""
    if not getattr(user, "pk", None):
        return {}
    return orders_visible_to(user).aggregate(**{n: Count("pk", filter=q) for n, q in ORDER_FILTERS.items()})


def order_work_list(user, name: str) -> QuerySet[RectificationOrder] | None:
    q = ORDER_FILTERS.get(name)
    if q is None:
        return None
    return orders_visible_to(user).filter(q).select_related("institution", "finding").order_by("due_on", "id")


# --- The bureau's picker of inspectors -------------------------------------------------------------------------------


def inspectors_visible_to(user, *, q: str = "", town_id: int | None = None) -> list[dict]:
    """Inspectors the user's bureau may put in a plan's pool or a team: active inspector memberships in the towns it
    covers (a district membership: every town), by town then name, each once with the towns they serve. One query;
    anyone but bureau staff gets an empty list."""
    from accounts.models import Membership
    from accounts.scope import region_name

    if not is_bureau(user):
        return []
    covered = town_ids(user)
    if town_id is not None:
        covered = covered & {town_id}
    rows = (
        Membership.objects.active()
        .filter(role=Role.INSPECTOR, region_id__in=covered)
        .select_related("user")
        .order_by("region_id", "user__name", "user_id")
    )
    q = (q or "").strip()
    if q:
        rows = rows.filter(user__name__icontains=q[:50])
    found: dict[int, dict] = {}
    for m in rows[:500]:
        entry = found.setdefault(m.user_id, {"id": m.user_id, "name": m.user.name, "town_ids": [], "towns": []})
        if m.region_id not in entry["town_ids"]:
            entry["town_ids"].append(m.region_id)
            entry["towns"].append(region_name(m.region_id))
    return list(found.values())
