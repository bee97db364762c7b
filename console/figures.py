"""The district dashboard's figures (教育驾驶舱): counts for the district or one town, each with the slice of rows
behind it, so a number and the list it links to cannot disagree.

Every figure is a named slice (`SLICES`): a base queryset of the towns in view and, for a grouped figure, the field
its key filters. `dashboard_figures` reads them all in a fixed number of grouped queries whatever the size of the
data (about twenty), and keeps the result in the cache for at most `MAX_AGE_SECONDS` (the page says how old it is);
`slice_rows` gives the rows behind one number.

Reads only: the rules (what "overdue" means, which complaints are open) come from the apps that own them.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.core.cache import cache
from django.db.models import Count, Q, QuerySet, Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts import scope
from afterschool.admission.models import Admission
from afterschool.fees.models import AllocationRun
from afterschool.schedule import policy as schedule_policy
from afterschool.schedule.models import School
from core import workdays
from institutions.models import Category, Institution, RiskGrade, Status
from supervision.complaints.models import OPEN_STATUSES, Complaint, ComplaintCategory, ComplaintStatus
from supervision.inspections.models import (
    Finding,
    Inspection,
    InspectionStatus,
    OrderStatus,
    PenaltyDecision,
    PenaltyKind,
    RectificationOrder,
)

MAX_AGE_SECONDS = 300  # the issue allows ten minutes; five keeps the figures fresh enough and cheap
EXPIRING_DAYS = 30
DUE_SOON_DAYS = 7
TOP_FINDINGS = 10


@dataclass(frozen=True)
class View:
    """What the dashboard looks at: the towns in view (the user's, or one town of theirs) on a day."""

    towns: frozenset[int]
    today: date

    @property
    def month_start(self) -> date:
        return self.today.replace(day=1)

    @property
    def year_start(self) -> date:
        return self.today.replace(month=1, day=1)

    def since(self, day: date) -> datetime:
        return timezone.make_aware(datetime.combine(day, datetime.min.time()))


def view_for(user, town_id: int | None, today: date | None = None) -> View | None:
    """The user's towns (bureau only), narrowed to one covered town; None when the town is not theirs (404)."""
    if not scope.is_bureau(user):
        return None
    covered = scope.town_ids(user)
    if town_id is not None:
        if town_id not in covered:
            return None
        covered = scope.regions_under([town_id]) & covered
    return View(frozenset(covered), today or timezone.localdate())


# --- The slices behind the numbers ---------------------------------------------------------------------------------


def _institutions(v: View) -> QuerySet:
    return Institution.objects.filter(town_id__in=v.towns)


def _complaints(v: View) -> QuerySet:
    return Complaint.objects.filter(town_id__in=v.towns)


def _running(v: View) -> Q:
    return Q(status__in=OPEN_STATUSES, paused_since__isnull=True, sla_due_on__isnull=False)


def _visits(v: View) -> QuerySet:
    """This year's visits (due this year, or made this year), cancelled ones left out."""
    return Inspection.objects.filter(town_id__in=v.towns).exclude(status=InspectionStatus.CANCELLED).filter(
        Q(due_by__gte=v.year_start) | Q(due_by__isnull=True, created_at__gte=v.since(v.year_start))
    )


def _orders(v: View) -> QuerySet:
    return RectificationOrder.objects.filter(town_id__in=v.towns)


def _admissions(v: View) -> QuerySet:
    return Admission.objects.filter(school__town_id__in=v.towns)


@dataclass(frozen=True)
class Slice:
    kind: str  # which row template: institution, complaint, visit, finding, order, penalty, admission
    title: object
    rows: object  # (View) -> QuerySet
    key_field: str = ""  # a grouped figure: ?key= filters this field


ADMITTED = Admission.Status.ADMITTED

SLICES: dict[str, Slice] = {
    "institutions": Slice("institution", _("机构"), _institutions),
    "inst_status": Slice("institution", _("机构（按状态）"), _institutions, "status"),
    "inst_category": Slice("institution", _("机构（按类别）"), _institutions, "category"),
    "inst_grade": Slice("institution", _("机构（按风险等级）"), _institutions, "risk_grade"),
    "inst_expiring": Slice(
        "institution",
        _("许可证 30 天内到期"),
        lambda v: _institutions(v).filter(
            status=Status.LICENSED,
            licence_expires_on__gte=v.today,
            licence_expires_on__lte=v.today + timedelta(days=EXPIRING_DAYS),
        ),
    ),
    "inst_unlicensed": Slice(
        "institution", _("无证机构"), lambda v: _institutions(v).filter(status=Status.UNLICENSED)
    ),
    "inst_unlicensed_month": Slice(
        "institution",
        _("本月发现的无证机构"),
        lambda v: _institutions(v).filter(status=Status.UNLICENSED, created_at__gte=v.since(v.month_start)),
    ),
    "cmp_received": Slice(
        "complaint", _("本月收到的投诉"), lambda v: _complaints(v).filter(created_at__gte=v.since(v.month_start)),
        "category__code",
    ),  # fmt: skip
    "cmp_open": Slice(
        "complaint", _("办理中投诉"), lambda v: _complaints(v).filter(status__in=OPEN_STATUSES), "category__code"
    ),
    "cmp_overdue": Slice(
        "complaint", _("已逾期投诉"), lambda v: _complaints(v).filter(_running(v), sla_due_on__lt=v.today),
        "category__code",
    ),  # fmt: skip
    "cmp_answered": Slice(
        "complaint", _("本月已答复的投诉"), lambda v: _complaints(v).filter(answered_at__gte=v.since(v.month_start))
    ),
    "cmp_late": Slice(
        "complaint",
        _("本月超时答复的投诉"),
        lambda v: _complaints(v).filter(answered_at__gte=v.since(v.month_start), sla_escalated=True),
    ),
    "insp_planned": Slice("visit", _("本年检查（计划与专项）"), _visits, "town_id"),
    "insp_done": Slice(
        "visit", _("本年已完成检查"), lambda v: _visits(v).filter(status=InspectionStatus.COMPLETE), "town_id"
    ),
    "insp_status": Slice("visit", _("本年检查（按进度）"), _visits, "status"),
    "findings": Slice(
        "finding",
        _("本年发现的问题"),
        lambda v: Finding.objects.filter(inspection__town_id__in=v.towns, created_at__gte=v.since(v.year_start)),
        "rule_id",
    ),
    "ord_open": Slice(
        "order", _("未销号整改通知"),
        lambda v: _orders(v).filter(status__in=[OrderStatus.OPEN, OrderStatus.ANSWERED]),
    ),  # fmt: skip
    "ord_overdue": Slice(
        "order", _("逾期未整改"), lambda v: _orders(v).filter(status=OrderStatus.OPEN, due_on__lt=v.today)
    ),
    "ord_due_soon": Slice(
        "order",
        _("7 天内到期的整改"),
        lambda v: _orders(v).filter(
            status=OrderStatus.OPEN, due_on__gte=v.today, due_on__lte=v.today + timedelta(days=DUE_SOON_DAYS)
        ),
    ),
    "ord_to_verify": Slice(
        "order", _("待核验整改"), lambda v: _orders(v).filter(status=OrderStatus.ANSWERED)
    ),
    "penalties": Slice(
        "penalty",
        _("本年处罚决定"),
        lambda v: PenaltyDecision.objects.filter(town_id__in=v.towns, decided_at__gte=v.since(v.year_start)),
        "kind",
    ),
    "adm_admitted": Slice(
        "admission",
        _("在有效期内的校外人员"),
        lambda v: _admissions(v).filter(status=ADMITTED, valid_from__lte=v.today, valid_until__gte=v.today),
    ),
    "adm_expiring": Slice(
        "admission",
        _("30 天内到期的校外人员"),
        lambda v: _admissions(v).filter(
            status=ADMITTED, valid_until__gte=v.today, valid_until__lte=v.today + timedelta(days=EXPIRING_DAYS)
        ),
    ),
}


def slice_rows(name: str, v: View, key: str | None) -> QuerySet | None:
    """The rows behind one number (None: no such slice or key)."""
    spec = SLICES.get(name)
    if spec is None:
        return None
    qs = spec.rows(v)
    if key:
        if not spec.key_field:
            return None
        qs = qs.filter(**{spec.key_field: key})
    return qs


def slice_title(name: str, key: str | None) -> str:
    spec = SLICES[name]
    label = key_label(spec.key_field, key) if key else ""
    return f"{spec.title} · {label}" if label else str(spec.title)


def key_label(field: str, key: str | None) -> str:
    labels = {
        "status": dict(Status.choices) | dict(InspectionStatus.choices),
        "category": dict(Category.choices),
        "risk_grade": dict(RiskGrade.choices),
        "kind": dict(PenaltyKind.choices),
    }.get(field)
    if labels is not None:
        return str(labels.get(key, key))
    if field == "category__code":
        return dict(ComplaintCategory.objects.values_list("code", "name_zh")).get(key, key)
    if field == "town_id" and key and key.isdigit():
        return scope.region_name(int(key))
    return key or ""


# --- The figures ---------------------------------------------------------------------------------------------------


def _grouped(qs: QuerySet, field: str, choices) -> list[dict]:
    found = dict(qs.order_by().values_list(field).annotate(n=Count("pk")))
    return [{"key": k, "label": str(label), "n": found.get(k, 0)} for k, label in choices]


def _pct(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


def compute(v: View) -> dict:
    """Every figure of the dashboard for one view: a fixed number of queries, whatever the size of the data."""
    today = v.today
    inst = _institutions(v)
    figures: dict = {}
    figures["inst_status"] = _grouped(inst, "status", Status.choices)
    figures["inst_category"] = _grouped(inst, "category", Category.choices)
    figures["inst_grade"] = _grouped(inst.exclude(status__in=[Status.UNLICENSED, Status.CLOSED, Status.REVOKED]),
                                     "risk_grade", RiskGrade.choices)  # fmt: skip
    figures["inst"] = inst.aggregate(
        total=Count("pk"),
        expiring=Count("pk", filter=Q(pk__in=SLICES["inst_expiring"].rows(v).values("pk"))),
        unlicensed=Count("pk", filter=Q(status=Status.UNLICENSED)),
        unlicensed_month=Count("pk", filter=Q(status=Status.UNLICENSED, created_at__gte=v.since(v.month_start))),
    )

    month = v.since(v.month_start)
    running = _running(v)
    categories = list(ComplaintCategory.objects.order_by("code").values_list("code", "name_zh"))
    per_cat = {
        row["category__code"]: row
        for row in _complaints(v)
        .order_by()
        .values("category__code")
        .annotate(
            received=Count("pk", filter=Q(created_at__gte=month)),
            open=Count("pk", filter=Q(status__in=OPEN_STATUSES)),
            overdue=Count("pk", filter=running & Q(sla_due_on__lt=today)),
        )
    }
    figures["cmp_by_category"] = [
        {
            "key": code,
            "label": name,
            **{k: per_cat.get(code, {}).get(k, 0) for k in ("received", "open", "overdue")},
        }
        for code, name in categories
        if code in per_cat
    ]
    cmp = _complaints(v).aggregate(
        received=Count("pk", filter=Q(created_at__gte=month)),
        open=Count("pk", filter=Q(status__in=OPEN_STATUSES)),
        overdue=Count("pk", filter=running & Q(sla_due_on__lt=today)),
        answered=Count("pk", filter=Q(answered_at__gte=month)),
        late=Count("pk", filter=Q(answered_at__gte=month, sla_escalated=True)),
        closed=Count("pk", filter=Q(status=ComplaintStatus.CLOSED, closed_at__gte=month)),
    )
    cmp["on_time"] = cmp["answered"] - cmp["late"]
    cmp["on_time_pct"] = _pct(cmp["on_time"], cmp["answered"])
    figures["cmp"] = cmp

    visits = _visits(v)
    figures["insp_status"] = _grouped(
        visits, "status", [(s, label) for s, label in InspectionStatus.choices if s != InspectionStatus.CANCELLED]
    )
    insp = visits.aggregate(planned=Count("pk"), done=Count("pk", filter=Q(status=InspectionStatus.COMPLETE)))
    insp["done_pct"] = _pct(insp["done"], insp["planned"])
    figures["insp"] = insp
    top = (
        SLICES["findings"].rows(v).order_by().exclude(rule_id="").values("rule_id")
        .annotate(n=Count("pk")).order_by("-n", "rule_id")[:TOP_FINDINGS]
    )  # fmt: skip
    figures["findings"] = [{"key": r["rule_id"], "label": r["rule_id"], "n": r["n"]} for r in top]
    soon = today + timedelta(days=DUE_SOON_DAYS)
    figures["ord"] = _orders(v).aggregate(
        open=Count("pk", filter=Q(status__in=[OrderStatus.OPEN, OrderStatus.ANSWERED])),
        overdue=Count("pk", filter=Q(status=OrderStatus.OPEN, due_on__lt=today)),
        due_soon=Count("pk", filter=Q(status=OrderStatus.OPEN, due_on__gte=today, due_on__lte=soon)),
        to_verify=Count("pk", filter=Q(status=OrderStatus.ANSWERED)),
    )
    pen = SLICES["penalties"].rows(v)
    by_kind = {r["kind"]: r for r in pen.order_by().values("kind").annotate(n=Count("pk"), amount=Sum("amount"))}
    figures["penalties"] = [
        {"key": k, "label": str(label), "n": by_kind[k]["n"], "amount": str(by_kind[k]["amount"] or "")}
        for k, label in PenaltyKind.choices
        if k in by_kind
    ]
    figures["pen"] = {
        "n": sum(r["n"] for r in by_kind.values()),
        "amount": str(sum((r["amount"] or Decimal(0) for r in by_kind.values()), Decimal(0))),
    }

    figures["afterschool"] = _afterschool(v)
    figures["adm"] = _admissions(v).aggregate(
        admitted=Count("pk", filter=Q(status=ADMITTED, valid_from__lte=today, valid_until__gte=today)),
        expiring=Count(
            "pk",
            filter=Q(status=ADMITTED, valid_until__gte=today, valid_until__lte=today + timedelta(days=EXPIRING_DAYS)),
        ),
    )
    figures["towns"] = _towns(v)
    figures["provisional"] = workdays.is_provisional(today)
    return figures


def _afterschool(v: View) -> dict:
    """5+2 coverage and participation per school (afterschool's own report, a fixed number of queries), and the
    status of each school's latest fee allocation."""
    schools = list(School.objects.filter(town_id__in=v.towns).select_related("town").order_by("town__code", "name"))
    reports = schedule_policy.coverage(schools, v.today)
    runs: dict[int, AllocationRun] = {}
    for run in AllocationRun.objects.filter(school_id__in=[s.pk for s in schools]).order_by("school_id", "-id").only(
        "id", "school_id", "status", "pool", "term_id"
    ):
        runs.setdefault(run.school_id, run)
    rows = []
    for r in reports:
        s = r["school"]
        run = runs.get(s.pk)
        rows.append(
            {
                "school_id": s.pk,
                "school": s.name,
                "town": s.town.name,
                "ok": bool(r.get("ok")),
                "enrolled": r["enrolled"],
                "students": r["students"],
                "rate": _pct(r["enrolled"], r["students"]),
                "findings": [str(f["message"]) for f in r.get("findings", [])][:3],
                "fee_status": run.status if run else "",
                "fee_status_label": str(AllocationRun.Status(run.status).label) if run else str(_("未分配")),
                "fee_run_id": run.pk if run else None,
                "pool": str(run.pool) if run else "",
            }
        )
    enrolled = sum(r["enrolled"] for r in rows)
    students = sum(r["students"] for r in rows)
    fee_counts = Counter(r["fee_status"] or "none" for r in rows)
    return {
        "schools": rows,
        "n": len(rows),
        "meeting": sum(1 for r in rows if r["ok"]),
        "enrolled": enrolled,
        "students": students,
        "rate": _pct(enrolled, students),
        "fee_counts": [
            {"key": k, "label": str(label), "n": fee_counts.get(k, 0)}
            for k, label in [*AllocationRun.Status.choices, ("none", _("未分配"))]
        ],
    }


def _towns(v: View) -> list[dict]:
    """Per town (for drilling down): institutions, unlicensed, open and overdue complaints, visits planned and done,
    overdue orders. Four queries."""
    today = v.today
    rows: dict[int, dict] = {}

    def put(values):
        for r in values:
            rows.setdefault(r.pop("town_id"), {}).update(r)

    put(_institutions(v).order_by().values("town_id").annotate(
        institutions=Count("pk"), unlicensed=Count("pk", filter=Q(status=Status.UNLICENSED))
    ))  # fmt: skip
    put(_complaints(v).order_by().values("town_id").annotate(
        cmp_open=Count("pk", filter=Q(status__in=OPEN_STATUSES)),
        cmp_overdue=Count("pk", filter=_running(v) & Q(sla_due_on__lt=today)),
    ))  # fmt: skip
    put(_visits(v).order_by().values("town_id").annotate(
        planned=Count("pk"), done=Count("pk", filter=Q(status=InspectionStatus.COMPLETE))
    ))  # fmt: skip
    put(_orders(v).order_by().values("town_id").annotate(
        ord_overdue=Count("pk", filter=Q(status=OrderStatus.OPEN, due_on__lt=today))
    ))  # fmt: skip
    for tid in v.towns:  # every town in view, those without any record too
        if scope.regions_under([tid]) == {tid}:
            rows.setdefault(tid, {})
    keys = ("institutions", "unlicensed", "cmp_open", "cmp_overdue", "planned", "done", "ord_overdue")
    out = [
        {"town_id": tid, "name": scope.region_name(tid), **{k: data.get(k, 0) for k in keys}}
        for tid, data in rows.items()
    ]
    return sorted(out, key=lambda r: (-r["institutions"], r["name"]))


def dashboard_figures(v: View, *, fresh: bool = False) -> dict:
    """The figures and when they were computed: from the cache when younger than MAX_AGE_SECONDS."""
    digest = hashlib.sha1(",".join(map(str, sorted(v.towns))).encode()).hexdigest()[:16]
    key = f"console:dashboard:v1:{digest}:{v.today.isoformat()}"
    if not fresh:
        hit = cache.get(key)
        # The age is checked here too, not only by the cache's expiry: never older than the limit, whatever the cache.
        if hit is not None and (timezone.now() - hit["computed_at"]).total_seconds() < MAX_AGE_SECONDS:
            return hit
    data = {"figures": compute(v), "computed_at": timezone.now()}
    cache.set(key, data, MAX_AGE_SECONDS)
    return data
