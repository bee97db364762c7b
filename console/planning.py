"""The bureau console's planning pages (双随机一公开, see console/apps.py): plans, their preview before drawing, the
draw, the teams and the progress of their visits, reassigning a visit with a reason, finishing and publishing the
results; the review of sync conflicts, the board of rectification orders and penalty decisions with their ranges
checked as they are typed (R-PEN-1).

Views only: every write is a service of supervision.inspections (plans, publication, sync, penalties) and every read
one of its selectors; a page answers the same 404 as the API to someone who may not see the plan.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation

from django.contrib.auth.views import redirect_to_login
from django.core.paginator import Paginator
from django.db.models import Count, Prefetch, Q
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from accounts import scope
from core.errors import DomainError, NotFound
from core.workdays import is_provisional
from institutions.models import Category, Institution, RiskGrade, Status
from supervision.inspections import penalties, plans, publication, sync
from supervision.inspections import selectors as reads
from supervision.inspections.models import (
    InspectionAssignment,
    InspectionStatus,
    OrderStatus,
    PenaltyKind,
    PlanStatus,
    SamplingMode,
    ViolationKind,
    VisitRecord,
)
from supervision.inspections.permissions import access_plan

VISITS_PAGE = 50
LIST_PAGE = 20
BOARD_ROWS = 50
DUE_SOON_DAYS = 7

PROGRESS = (  # the plan page's progress: not started, under way, missing photos, complete
    (InspectionStatus.ASSIGNED, _("未开始")),
    (InspectionStatus.IN_PROGRESS, _("进行中")),
    (InspectionStatus.AWAITING_PHOTOS, _("缺照片")),
    (InspectionStatus.COMPLETE, _("已完成")),
)


class _Login(Exception):
    pass


def _bureau(request) -> None:
    """Signed in (else to sign in) and bureau staff (else the same 404 as a missing page)."""
    if not request.user.is_authenticated:
        raise _Login
    if not scope.is_bureau(request.user):
        raise Http404


def _page(fn):
    def wrapper(request, *args, **kwargs):
        try:
            _bureau(request)
            return fn(request, *args, **kwargs)
        except _Login:
            return redirect_to_login(request.get_full_path())
        except NotFound:
            raise Http404 from None

    wrapper.__name__ = fn.__name__
    wrapper.__doc__ = fn.__doc__
    return wrapper


def _errors(e: DomainError) -> dict:
    return {k: str(v) for k, v in (e.fields or {}).items()}


# --- Plans ---------------------------------------------------------------------------------------------------------


@require_safe
@_page
def plan_list(request):
    """/console/plans/: the plans of the bureau's area with their visits done, newest first."""
    status = request.GET.get("status") or None
    if status and status not in PlanStatus.values:
        status = None
    page = Paginator(reads.plans_list(request.user, status=status), LIST_PAGE).get_page(request.GET.get("page"))
    return render(request, "console/planning/plans.html", {"page": page, "status": status,
                                                           "statuses": PlanStatus.choices})  # fmt: skip


def _regions(user) -> list[tuple[int, str, bool]]:
    """(id, name, is_town) of the regions the user's bureau covers: the district first, then its towns by name."""
    covered = scope.town_ids(user)
    rows = [(rid, scope.region_name(rid), scope.regions_under([rid]) == {rid}) for rid in covered]
    return sorted(rows, key=lambda r: (r[2], r[1]))


def _pct(raw, default: Decimal) -> Decimal:
    raw = (raw or "").strip()
    if raw == "":
        return default
    try:
        value = Decimal(raw) / 100
    except InvalidOperation:
        return Decimal(-1)  # the service refuses it with its own message
    return value


def _int(raw, default=None):
    raw = (raw or "").strip()
    return int(raw) if raw.isdigit() and len(raw) < 10 else default


def _date(raw):
    try:
        return date.fromisoformat((raw or "").strip())
    except ValueError:
        return None


@require_http_methods(["GET", "HEAD", "POST"])
@_page
def plan_new(request):
    """/console/plans/new: a plan's scope (region, towns, categories, statuses), sampling per risk grade (or
    overall), its inspectors picked by name from their towns, the team size; refused with the field at fault."""
    user = request.user
    today = timezone.localdate()
    defaults = plans.default_shares(today)
    regions = _regions(user)
    towns = [(rid, name) for rid, name, is_town in regions if is_town]
    inspectors = reads.inspectors_visible_to(user)
    by_town: dict[int, list[dict]] = {}
    for i in inspectors:
        for tid in i["town_ids"]:
            by_town.setdefault(tid, []).append(i)
    pool_towns = sorted(
        ((tid, scope.region_name(tid), people) for tid, people in by_town.items()), key=lambda t: t[1]
    )
    values = {
        "name": "", "period_start": today.isoformat(), "period_end": (today + timedelta(days=60)).isoformat(),
        "region_id": regions[0][0] if regions else None, "town_ids": [], "categories": [],
        "statuses": [Status.LICENSED], "sampling_mode": SamplingMode.BY_GRADE, "team_size": "2",
        "recent_days": "", "inspector_ids": [],
        "share_overall": str(defaults["overall"] * 100), **{f"share_{g}": str(defaults[g] * 100) for g in "ABCD"},
    }  # fmt: skip
    errors: dict = {}
    message = ""
    status = 200
    if request.method == "POST":
        p = request.POST
        values.update(
            name=p.get("name", "").strip()[:200],
            period_start=p.get("period_start", ""),
            period_end=p.get("period_end", ""),
            region_id=_int(p.get("region_id")),
            town_ids=[int(t) for t in p.getlist("town_ids") if t.isdigit() and len(t) < 10],
            categories=p.getlist("categories"),
            statuses=p.getlist("statuses"),
            sampling_mode=p.get("sampling_mode") or SamplingMode.BY_GRADE,
            team_size=p.get("team_size", ""),
            recent_days=p.get("recent_days", ""),
            inspector_ids=[int(i) for i in p.getlist("inspector_ids") if i.isdigit() and len(i) < 10],
            share_overall=p.get("share_overall", ""),
            **{f"share_{g}": p.get(f"share_{g}", "") for g in "ABCD"},
        )
        start, end = _date(values["period_start"]), _date(values["period_end"])
        if not values["name"]:
            errors["name"] = _("请填写计划名称")
        if start is None:
            errors["period_start"] = _("请填写开始日期")
        if end is None:
            errors["period_end"] = _("请填写结束日期")
        if values["region_id"] is None:
            errors["region_id"] = _("请选择负责区域")
        if values["sampling_mode"] not in SamplingMode.values:
            errors["sampling_mode"] = _("抽取方式无效")
        team_size = _int(values["team_size"])
        if team_size is None:
            errors["team_size"] = _("每组人数须为整数")
        if not values["inspector_ids"]:
            errors["inspector_ids"] = _("请从检查人员库中选择检查人员")
        if not errors:
            shares = {"overall": _pct(values["share_overall"], defaults["overall"]),
                      **{g: _pct(values[f"share_{g}"], defaults[g]) for g in "ABCD"}}  # fmt: skip
            try:
                plan = plans.plan_create(
                    actor=user,
                    name=values["name"],
                    period_start=start,
                    period_end=end,
                    region_id=values["region_id"],
                    inspector_ids=values["inspector_ids"],
                    town_ids=values["town_ids"],
                    categories=values["categories"],
                    statuses=values["statuses"],
                    sampling_mode=values["sampling_mode"],
                    shares=shares,
                    team_size=team_size,
                    recent_days_excluded=_int(values["recent_days"]),
                )
            except NotFound:
                errors["region_id"] = _("区域不存在")
            except DomainError as e:
                errors = _errors(e)
                message = e.message()
                if "shares" in " ".join(errors):
                    errors = {"shares": message}
            else:
                return redirect("console-plan", plan.pk)
        status = 422
    context = {
        "v": values,
        "errors": errors,
        "message": message,
        "regions": regions,
        "towns": towns,
        "pool_towns": pool_towns,
        "categories": Category.choices,
        "statuses": Status.choices,
        "modes": SamplingMode.choices,
        "grades": RiskGrade.choices,
    }
    return render(request, "console/planning/plan_new.html", context, status=status)


def _plan_context(request, plan, *, errors=None, message="", reason="", seed="") -> dict:
    user = request.user
    current = plan.draws.filter(is_current=True).first()
    visits = plan.visits.exclude(status=InspectionStatus.CANCELLED)
    counts = visits.aggregate(total=Count("pk"), **{s: Count("pk", filter=Q(status=s)) for s, _label in PROGRESS})
    progress = [
        {"status": s, "label": label, "n": counts[s], "url": f"?status={s}#visits"} for s, label in PROGRESS
    ]
    show = request.GET.get("status") or ""
    if show and show not in InspectionStatus.values:
        show = ""
    listed = visits.filter(status=show) if show else visits
    listed = listed.select_related("institution", "town").prefetch_related(
        Prefetch("assignments", queryset=InspectionAssignment.objects.select_related("inspector").order_by("id"))
    ).order_by("town__name", "institution__name", "pk")  # fmt: skip
    page = Paginator(listed, VISITS_PAGE).get_page(request.GET.get("page"))
    drawable = plan.status in plans.DRAWABLE
    today = timezone.localdate()
    return {
        "plan": plan,
        "region_name": scope.region_name(plan.region_id),
        "scope_towns": [scope.region_name(t) for t in plan.scope_town_ids],
        "scope_categories": [Category(c).label for c in plan.scope_categories],
        "scope_statuses": [Status(s).label for s in plan.scope_statuses] or [Status.LICENSED.label],
        "pool": list(plan.inspectors.order_by("name").values("pk", "name")),
        "current": current,
        "draws": list(plan.draws.order_by("number")),
        "progress": progress,
        "total": counts["total"],
        "page": page,
        "show": show,
        "preview": plans.draw_preview(plan) if drawable else None,
        "drawable": drawable,
        "errors": errors or {},
        "message": message,
        "reason": reason,
        "seed": seed,
        "can_finish": plan.status == PlanStatus.DRAWN,
        "can_publish": plan.status == PlanStatus.FINISHED and plan.published_at is None,
        "publish_due": plan.publish_on is not None and plan.publish_on <= today,
        "provisional": plan.publish_on is not None and is_provisional(plan.publish_on),
        "conflicts": reads.conflicts_visible_to(user).filter(inspection__plan=plan).count(),
    }


@require_safe
@_page
def plan_page(request, plan_id: int):
    """/console/plans/<id>/: the plan, its preview before a draw (candidates per grade, who is left out and why), the
    draw, its teams and the progress of its visits; finishing and publishing."""
    plan = access_plan(request.user, plan_id)
    return render(request, "console/planning/plan.html", _plan_context(request, plan))


@require_POST
@_page
def plan_draw(request, plan_id: int):
    plan = access_plan(request.user, plan_id)
    seed = request.POST.get("seed", "").strip()[:100]
    reason = request.POST.get("reason", "").strip()[:500]
    try:
        plans.plan_draw(actor=request.user, plan_id=plan.pk, seed=seed or None, reason=reason)
    except DomainError as e:
        context = _plan_context(request, plan, errors=_errors(e), message=e.message(), reason=reason, seed=seed)
        return render(request, "console/planning/plan.html", context, status=e.status)
    return redirect(reverse("console-plan", args=[plan.pk]) + "#visits")


@require_POST
@_page
def plan_finish(request, plan_id: int):
    plan = access_plan(request.user, plan_id)
    try:
        plans.plan_finish(actor=request.user, plan_id=plan.pk)
    except DomainError as e:
        context = _plan_context(request, plan, message=e.message())
        return render(request, "console/planning/plan.html", context, status=e.status)
    return redirect("console-plan", plan.pk)


@require_POST
@_page
def plan_publish(request, plan_id: int):
    """Publish a finished plan's results: on or after its day, or sooner with a reason (publication.plan_publish)."""
    plan = access_plan(request.user, plan_id)
    reason = request.POST.get("reason", "").strip()[:500]
    try:
        publication.plan_publish(actor=request.user, plan_id=plan.pk, reason=reason)
    except DomainError as e:
        context = _plan_context(request, plan, errors=_errors(e), message=e.message(), reason=reason)
        return render(request, "console/planning/plan.html", context, status=e.status)
    return redirect("console-plan", plan.pk)


@require_http_methods(["GET", "HEAD", "POST"])
@_page
def visit_reassign(request, inspection_id: int):
    """/console/plans/visits/<id>/reassign: another team for a visit not yet started, with a reason."""
    visit = (
        reads.inspections_visible_to(request.user)
        .filter(town_id__in=scope.town_ids(request.user))
        .select_related("institution", "plan", "town")
        .filter(pk=inspection_id)
        .first()
    )
    if visit is None:
        raise Http404
    team = list(visit.assignments.select_related("inspector").order_by("id"))
    chosen = [a.inspector_id for a in team]
    reason = ""
    errors: dict = {}
    message = ""
    status = 200
    if request.method == "POST":
        chosen = [int(i) for i in request.POST.getlist("inspector_ids") if i.isdigit() and len(i) < 10]
        reason = request.POST.get("reason", "").strip()[:500]
        try:
            plans.visit_reassign(actor=request.user, inspection_id=visit.pk, inspector_ids=chosen, reason=reason)
        except DomainError as e:
            errors, message, status = _errors(e), e.message(), e.status
        else:
            target = reverse("console-plan", args=[visit.plan_id]) if visit.plan_id else reverse("console-plans")
            return redirect(target + "#visits")
    pool_ids = set(visit.plan.inspectors.values_list("pk", flat=True)) if visit.plan_id else set()
    inspectors = reads.inspectors_visible_to(request.user)
    inspectors.sort(key=lambda i: (i["id"] not in pool_ids, i["towns"], i["name"]))
    context = {
        "visit": visit,
        "team": team,
        "inspectors": inspectors,
        "pool_ids": pool_ids,
        "chosen": chosen,
        "reason": reason,
        "errors": errors,
        "message": message,
        "started": visit.status != InspectionStatus.ASSIGNED,
    }
    return render(request, "console/planning/reassign.html", context, status=status)


@require_safe
@_page
def inspectors_json(request):
    """/console/inspectors.json?q=&town=: the inspectors the bureau may pick (name, towns), for the pickers."""
    town = _int(request.GET.get("town"))
    rows = reads.inspectors_visible_to(request.user, q=request.GET.get("q", ""), town_id=town)
    return JsonResponse({"items": rows, "count": len(rows)})


# --- Sync conflicts ------------------------------------------------------------------------------------------------


def _conflicts(request, *, message: str = "", failed: str = "", status: int = 200):
    qs = reads.conflicts_visible_to(request.user)
    page = Paginator(qs, LIST_PAGE).get_page(request.GET.get("page"))
    rows = sync.conflict_rows(list(page.object_list))
    for r in rows:
        r["client_json"] = json.dumps(r["client"], ensure_ascii=False, default=str)
        r["server_then_json"] = json.dumps(r["server_then"], ensure_ascii=False, default=str)
        r["server_now_json"] = json.dumps(r["server_now"], ensure_ascii=False, default=str)
        now = r["server_now"] or {}
        r["server_version"] = now.get("version") if isinstance(now, dict) else None
    context = {"page": page, "rows": rows, "choices": VisitRecord.Resolution.choices, "message": message,
               "failed": failed}  # fmt: skip
    return render(request, "console/planning/conflicts.html", context, status=status)


@require_safe
@_page
def conflict_list(request):
    """/console/inspections/conflicts/: records two phones sent for the same thing, both versions side by side."""
    return _conflicts(request)


@require_POST
@_page
def conflict_resolve(request, record_uuid):
    """Settle one conflict: keep the server copy, take the phone's, or give a merged value (sync.conflict_resolve)."""
    choice = request.POST.get("choice", "")
    raw = request.POST.get("value", "").strip()
    value = sync.NO_VALUE
    if choice == VisitRecord.Resolution.MERGED and raw:
        try:
            value = json.loads(raw)
        except ValueError:
            value = raw
    version = _int(request.POST.get("server_version"))
    try:
        sync.conflict_resolve(
            actor=request.user, record_uuid=str(record_uuid), choice=choice, value=value,
            note=request.POST.get("note", ""), server_version=version,
        )  # fmt: skip
    except NotFound:
        raise
    except DomainError as e:
        return _conflicts(request, message=e.message(), failed=str(record_uuid), status=e.status)
    return redirect("console-conflicts")


# --- Rectification orders and penalties ------------------------------------------------------------------------------


@require_safe
@_page
def order_board(request):
    """/console/inspections/orders/: the board of rectification orders: due within a week, overdue, awaiting
    verification (each the soonest first, with its count)."""
    today = timezone.localdate()
    base = reads.orders_visible_to(request.user).select_related("institution", "town", "finding")
    columns = [
        ("due_soon", _("7 天内到期"),
         base.filter(status=OrderStatus.OPEN, due_on__gte=today, due_on__lte=today + timedelta(days=DUE_SOON_DAYS))),
        ("overdue", _("已逾期"), base.filter(status=OrderStatus.OPEN, due_on__lt=today)),
        ("to_verify", _("待核验"), base.filter(status=OrderStatus.ANSWERED)),
    ]  # fmt: skip
    counts = reads.orders_visible_to(request.user).aggregate(
        **{key: Count("pk", filter=Q(pk__in=qs.values("pk"))) for key, _label, qs in columns}
    )
    board = [
        {"key": key, "label": label, "count": counts[key], "rows": list(qs.order_by("due_on", "pk")[:BOARD_ROWS])}
        for key, label, qs in columns
    ]
    return render(request, "console/planning/orders.html", {"board": board, "today": today})


def _penalty_values(p) -> dict:
    return {
        "institution_id": (p.get("institution_id") or "").strip()[:10],
        "inspection_id": (p.get("inspection_id") or "").strip()[:10],
        "kind": p.get("kind") or "",
        "violation": p.get("violation") or "",
        "very_serious": p.get("very_serious") == "on",
        "amount": (p.get("amount") or "").strip()[:15],
        "illegal_income": (p.get("illegal_income") or "").strip()[:15],
        "legal_basis": (p.get("legal_basis") or "").strip()[:300],
        "reason": (p.get("reason") or "").strip()[:1000],
        "in_service_teacher": p.get("in_service_teacher") == "on",
        "obstruction": p.get("obstruction") == "on",
    }


def _money(raw: str):
    if raw == "":
        return None
    try:
        value = Decimal(raw)
    except InvalidOperation:
        message = _("金额须为数字")
        raise DomainError("penalty.bad_amount", message, status=422, fields={"amount": message}) from None
    if not value.is_finite() or value.as_tuple().exponent < -2:
        message = _("金额最多两位小数")
        raise DomainError("penalty.bad_amount", message, status=422, fields={"amount": message})
    return value


def _amount_check(v: dict) -> tuple[bool, str]:
    """(in range, message) of an amount as typed, by the same check the decision makes (R-PEN-1)."""
    if v["kind"] not in PenaltyKind.values or v["violation"] not in ViolationKind.values:
        return False, _("请先选择处罚种类和违法行为")
    try:
        penalties.check_amount(
            kind=v["kind"], violation=v["violation"], very_serious=v["very_serious"],
            amount=_money(v["amount"]), illegal_income=_money(v["illegal_income"]), on=timezone.localdate(),
        )  # fmt: skip
    except DomainError as e:
        return False, e.message()
    if v["kind"] in penalties.MONEY_KINDS:
        return True, _("金额在 R-PEN-1 规定的范围内")
    return True, _("该处罚种类不涉及金额")


@require_http_methods(["GET", "HEAD", "POST"])
@_page
def penalty_list(request):
    """/console/inspections/penalties/: decisions of the bureau's area, and a new decision with its amount checked
    against R-PEN-1 as it is typed (htmx: penalty_check) and again when saved."""
    values = _penalty_values(request.GET if request.method != "POST" else request.POST)
    errors: dict = {}
    message = ""
    status = 200
    if request.method == "POST":
        institution_id = _int(values["institution_id"])
        if institution_id is None:
            errors["institution_id"] = _("请填写机构编号")
        if values["kind"] not in PenaltyKind.values:
            errors["kind"] = _("请选择处罚种类")
        if values["violation"] not in ViolationKind.values:
            errors["violation"] = _("请选择违法行为")
        if not values["legal_basis"]:
            errors["legal_basis"] = _("请填写法律依据")
        if not values["reason"]:
            errors["reason"] = _("请填写处罚理由")
        if not errors:
            try:
                decision, _status = penalties.penalty_decide(
                    actor=request.user, institution_id=institution_id, kind=values["kind"],
                    violation=values["violation"], legal_basis=values["legal_basis"], reason=values["reason"],
                    inspection_id=_int(values["inspection_id"]), very_serious=values["very_serious"],
                    amount=_money(values["amount"]), illegal_income=_money(values["illegal_income"]),
                    in_service_teacher=values["in_service_teacher"], obstruction=values["obstruction"],
                )  # fmt: skip
            except NotFound as e:
                errors, message = {"institution_id": e.message()}, e.message()
            except DomainError as e:
                errors, message = _errors(e), e.message()
            else:
                return redirect(reverse("console-penalties") + f"?saved={decision.pk}")
        status = 422
    institution = None
    if _int(values["institution_id"]):
        institution = (
            Institution.objects.filter(pk=_int(values["institution_id"]), town_id__in=scope.town_ids(request.user))
            .only("pk", "name")
            .first()
        )
    qs = reads.penalties_visible_to(request.user).select_related("institution", "town").order_by("-decided_at", "-pk")
    page = Paginator(qs, LIST_PAGE).get_page(request.GET.get("page"))
    ok, check = _amount_check(values) if values["kind"] else (None, "")
    context = {
        "page": page,
        "v": values,
        "institution": institution,
        "errors": errors,
        "message": message,
        "kinds": PenaltyKind.choices,
        "violations": ViolationKind.choices,
        "check_ok": ok,
        "check": check,
        "saved": _int(request.GET.get("saved")),
    }
    return render(request, "console/planning/penalties.html", context, status=status)


@require_safe
@_page
def penalty_check(request):
    """The amount as typed, checked against R-PEN-1 (an htmx fragment for the penalty form)."""
    ok, message = _amount_check(_penalty_values(request.GET))
    return render(request, "console/planning/_amount_check.html", {"check_ok": ok, "check": message})


@require_safe
@_page
def institution_search(request):
    """An htmx fragment: institutions of the bureau's area matching a name, to fill the penalty form's number."""
    q = request.GET.get("institution_q", "").strip()[:50]
    rows = []
    if q:
        rows = list(
            Institution.objects.filter(town_id__in=scope.town_ids(request.user))
            .filter(Q(name__icontains=q) | Q(name_initials__icontains=q.upper()))
            .select_related("town")
            .order_by("name")[:10]
        )
    return render(request, "console/planning/_institution_matches.html", {"rows": rows})


urlpatterns = [
    path("console/plans/", plan_list, name="console-plans"),
    path("console/plans/new", plan_new, name="console-plan-new"),
    path("console/plans/<int:plan_id>/", plan_page, name="console-plan"),
    path("console/plans/<int:plan_id>/draw", plan_draw, name="console-plan-draw"),
    path("console/plans/<int:plan_id>/finish", plan_finish, name="console-plan-finish"),
    path("console/plans/<int:plan_id>/publish", plan_publish, name="console-plan-publish"),
    path("console/plans/visits/<int:inspection_id>/reassign", visit_reassign, name="console-visit-reassign"),
    path("console/inspectors.json", inspectors_json, name="console-inspectors"),
    path("console/inspections/conflicts/", conflict_list, name="console-conflicts"),
    path(
        "console/inspections/conflicts/<uuid:record_uuid>/resolve", conflict_resolve, name="console-conflict-resolve"
    ),
    path("console/inspections/orders/", order_board, name="console-orders"),
    path("console/inspections/penalties/", penalty_list, name="console-penalties"),
    path("console/inspections/penalties/check", penalty_check, name="console-penalty-check"),
    path("console/inspections/institutions", institution_search, name="console-institution-search"),
]
