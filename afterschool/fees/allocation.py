"""Sharing a term's pool out (R-ASS-3, R-PAY-1), exact to the fen.

pool = fees charged − refunds + subsidy + other income. The plan splits it by percentages summing to 100 (teacher
pay, outside personnel's labour fees, operations, reserve) with apportion.split_by_shares; then:

- Teachers share the teacher part in proportion to the lessons they delivered: a lesson is one session on one day
  with attendance taken (a session held); each lesson weighs its programme kind's weight in the plan (default 1).
  Planned lessons that were not held (SessionNotHeld) count nothing; a planned lesson, between the first child's
  arrival on the programme's roster and the last one's leaving, that is neither recorded nor settled as not held
  blocks the allocation (409 `allocation.attendance_missing`, the list is in `attendance_gaps`).
  Split with apportion.split_by_weights: largest remainder, equal remainders go to the smaller staff id
  (deterministic whatever the order of the rows).
- Outside personnel and third parties' people are paid lessons × their admitted fee per lesson (a volunteer
  admission, not paid, gets 0). What their part does not need goes to the reserve; when it cannot cover them, the
  run carries the `shortfall` and cannot be reviewed until the plan changes: nobody is paid less silently.
- With no teacher lesson at all, the teacher part is not shared out: it goes to the reserve as `teacher_unallocated`.

Invariant: Σ teacher lines + Σ outside lines + operations + reserve + outside_surplus + teacher_unallocated
− shortfall = pool, to the fen.

Lessons are counted in the database (GROUP BY over attendance joined to sessions); Python only loops over the
per-person totals and the sessions. Workflow: draft (recomputed at will) → reviewed (school) → approved (bureau) →
locked; every step locks the run row (select_for_update) and is audited. A locked run never changes: a correction is
an adjustment run that references it and holds the differences.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from django.db import connection, transaction
from django.utils import timezone
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from accounts import scope
from accounts.models import Role
from afterschool.admission.models import Admission
from afterschool.schedule.models import Attendance, Kind, Session, Staff, Term
from afterschool.schedule.selectors import roster_spans
from core.audit import audit_log
from core.errors import DomainError, NotFound
from core.money import ZERO, fmt
from core.transitions import transition

from . import permissions
from . import services as fees
from .apportion import ApportionError, split_by_shares, split_by_weights
from .models import AllocationLine, AllocationPlan, AllocationRun, PayType, SessionNotHeld

SHARE_KEYS = ("teacher", "outside", "operations", "reserve")
Status = AllocationRun.Status
WAS_ADMITTED = ("admitted", "expired", "suspended", "revoked")


# --- Plan ------------------------------------------------------------------------------------------------------------


def _pct(value, key: str) -> Decimal:
    try:
        pct = Decimal(str(value))
    except ArithmeticError:
        raise fees.invalid("allocation.bad_share", key, _("比例格式不正确")) from None
    if not pct.is_finite() or pct != pct.quantize(Decimal("0.01")) or pct < 0 or pct > 100:
        raise fees.invalid(
            "allocation.bad_share", key, _("比例须在 0–100 之间，最多两位小数")
        )
    return pct


@transaction.atomic
def plan_set(*, actor, term_id: int, shares: dict, kind_weights: dict | None = None) -> AllocationPlan:
    term = permissions.access_term_for_admin(actor, term_id)
    values = {k: _pct(shares.get(k, 0), k) for k in SHARE_KEYS}
    unknown = set(shares) - set(SHARE_KEYS)
    if unknown:
        raise fees.invalid("allocation.bad_share", sorted(unknown)[0], _("未知的分配项"))
    total = sum(values.values(), ZERO)
    if total != 100:
        raise DomainError(
            "allocation.shares_not_100",
            format_lazy(_("各项比例之和须为 100%（现为 {total}%）"), total=total),
            status=422,
            fields={"shares": format_lazy(_("合计 {total}%"), total=total)},
        )
    weights = {}
    for kind, w in (kind_weights or {}).items():
        if kind not in Kind.values:
            raise fees.invalid(
                "allocation.bad_weight", "kind_weights", _("未知的项目类型")
            )
        value = _pct(w, "kind_weights")
        if value == 0 or value > 10:
            raise fees.invalid(
                "allocation.bad_weight", "kind_weights", _("权重须在 0–10 之间")
            )
        weights[kind] = str(value)
    plan, _unused = AllocationPlan.objects.update_or_create(
        term=term,
        defaults={
            "school": term.school,
            "teacher_pct": values["teacher"],
            "outside_pct": values["outside"],
            "operations_pct": values["operations"],
            "reserve_pct": values["reserve"],
            "kind_weights": weights,
            "updated_by": actor,
        },
    )
    audit_log(
        actor=actor,
        verb="afterschool.allocation_plan_set",
        obj=plan,
        data={"shares": {k: str(v) for k, v in values.items()}, "kind_weights": weights},
    )
    return plan


def plan_shares(plan: AllocationPlan) -> dict[str, Decimal]:
    return {
        "teacher": plan.teacher_pct,
        "outside": plan.outside_pct,
        "operations": plan.operations_pct,
        "reserve": plan.reserve_pct,
    }


# --- Counting in the database ----------------------------------------------------------------------------------------


def _in(ids) -> tuple[str, list]:
    ids = list(ids)
    return ",".join(["%s"] * len(ids)), ids


def lesson_counts(term_ids: list[int], until: date) -> tuple[dict[int, int], list[tuple[int, int | None, str, int]]]:
    """One scan of the attendance, two groupings, all in the database:
    ({session id: days held}, [(term id, staff id, programme kind, lessons delivered)]).

    A lesson is one session on one day with attendance taken: the rows are grouped by (session, day) first (a hash
    aggregate, linear in the rows; COUNT(DISTINCT …) would sort them all), then counted per session and summed per
    person and kind."""
    if not term_ids:
        return {}, []
    marks, params = _in(term_ids)
    sql = f"""
        WITH held AS (
            SELECT a.session_id
            FROM afterschool_attendance a
            JOIN afterschool_session s0 ON s0.id = a.session_id
            JOIN afterschool_programme p0 ON p0.id = s0.programme_id
            WHERE p0.term_id IN ({marks}) AND a.date <= %s
            GROUP BY a.session_id, a.date
        ), per_session AS (
            SELECT session_id, COUNT(*) AS n FROM held GROUP BY session_id
        )
        SELECT 'p', p.term_id, s.staff_id, p.kind, SUM(ps.n)
        FROM per_session ps
        JOIN afterschool_session s ON s.id = ps.session_id
        JOIN afterschool_programme p ON p.id = s.programme_id
        GROUP BY p.term_id, s.staff_id, p.kind
        UNION ALL
        SELECT 's', ps.session_id, NULL, NULL, ps.n FROM per_session ps
    """
    per_session: dict[int, int] = {}
    per_person: list[tuple[int, int | None, str, int]] = []
    with connection.cursor() as cur:
        cur.execute(sql, [*params, until])
        for what, key, staff, kind, n in cur.fetchall():
            if what == "s":
                per_session[key] = int(n)
            else:
                per_person.append((key, staff, kind, int(n)))
    return per_session, per_person


def lessons_by_person(term_ids: list[int], until: date) -> list[tuple[int, int | None, str, int]]:
    """[(term id, staff id, programme kind, lessons delivered)], counted by the database (see lesson_counts)."""
    return lesson_counts(term_ids, until)[1]


@dataclass
class Gap:
    session_id: int
    programme: str
    staff: str
    date: date


def attendance_gaps(
    terms: list[Term], until: date, limit: int | None = None, held: dict[int, int] | None = None
) -> dict[int, list[Gap]]:
    """{term id: planned lessons up to `until` with neither attendance nor a not-held record}. Counts per session
    come from the database; dates are listed only for the sessions whose counts do not match."""
    term_ids = [t.pk for t in terms]
    if not term_ids:
        return {}
    days = fees.school_days_by_term(terms, until)
    cals = {tid: fees.Calendar.of(d) for tid, d in days.items()}
    if held is None:
        held = lesson_counts(term_ids, until)[0]
    not_held: dict[int, int] = defaultdict(int)
    for sid, n in _not_held_counts(term_ids, until):
        not_held[sid] = n
    sessions = list(
        Session.objects.filter(programme__term_id__in=term_ids).values_list(
            "id", "programme__term_id", "programme_id", "weekday", "first_date", "last_date"
        )
    )
    rosters = roster_spans(term_ids=term_ids)
    expected: dict[int, list[date]] = {}
    suspect = []
    for sid, tid, pid, weekday, first, last in sessions:
        if pid not in rosters:
            continue  # nobody ever enrolled: no attendance could be taken, no lesson was given
        start, end = rosters[pid]
        dates = cals[tid].lessons(weekday, max(first, start), min(last, until, end))
        if len(dates) > held.get(sid, 0) + not_held.get(sid, 0):
            expected[sid] = dates
            suspect.append(sid)
    out: dict[int, list[Gap]] = defaultdict(list)
    if not suspect:
        return out
    settled: dict[int, set[date]] = defaultdict(set)
    for sid, day in (
        Attendance.objects.filter(session_id__in=suspect, date__lte=until).values_list("session_id", "date").distinct()
    ):
        settled[sid].add(day)
    for sid, day in SessionNotHeld.objects.filter(session_id__in=suspect).values_list("session_id", "date"):
        settled[sid].add(day)
    info = {s.pk: s for s in Session.objects.filter(pk__in=suspect).select_related("programme", "staff")}
    for sid in suspect:
        s = info[sid]
        for day in expected[sid]:
            if day not in settled[sid]:
                out[s.programme.term_id].append(Gap(sid, s.programme.name, s.staff.name if s.staff else "", day))
    for gaps in out.values():
        gaps.sort(key=lambda g: (g.date, g.session_id))
        if limit:
            del gaps[limit:]
    return out


def _not_held_counts(term_ids, until):
    from django.db.models import Count

    return (
        SessionNotHeld.objects.filter(session__programme__term_id__in=term_ids, date__lte=until)
        .values("session_id")
        .annotate(n=Count("id"))
        .values_list("session_id", "n")
    )


# --- The computation (pure, over the totals) -------------------------------------------------------------------------


@dataclass
class Person:
    staff_id: int
    name: str
    outside: bool
    lessons: int = 0
    weighted: Decimal = ZERO
    rate: Decimal | None = None
    amount: Decimal = ZERO


@dataclass
class Result:
    fees: Decimal
    refunds: Decimal
    subsidy: Decimal
    other: Decimal
    pool: Decimal
    teacher_share: Decimal
    outside_share: Decimal
    operations: Decimal
    reserve: Decimal
    outside_owed: Decimal
    outside_surplus: Decimal
    teacher_unallocated: Decimal
    shortfall: Decimal
    people: list[Person] = field(default_factory=list)

    def check(self) -> None:
        paid = sum((p.amount for p in self.people), ZERO)
        total = paid + self.operations + self.reserve + self.outside_surplus + self.teacher_unallocated - self.shortfall
        assert total == self.pool, (total, self.pool)


def compute(
    money_in: dict[str, Decimal],
    shares: dict[str, Decimal],
    kind_weights: dict,
    people: list[Person],
    lessons: list[tuple[int, str, int]],
) -> Result:
    """Pure: `lessons` = [(staff id, kind, n)], `people` = the persons with their outside rate."""
    pool = fees.pool_total(money_in)
    if pool < 0:
        raise DomainError(
            "allocation.negative_pool",
            _("退费超过收入，没有可分配的金额"),
            status=409,
        )
    try:
        parts = split_by_shares(pool, shares)
    except ApportionError:
        raise DomainError("allocation.shares_not_100", _("各项比例之和须为 100%"), status=422) from None
    by_id = {p.staff_id: p for p in people}
    for staff_id, kind, n in lessons:
        p = by_id[staff_id]
        p.lessons += n
        p.weighted += Decimal(str(kind_weights.get(kind, "1"))) * n
    teachers = {p.staff_id: p.weighted for p in people if not p.outside}
    outside = [p for p in people if p.outside]
    for p in outside:
        p.amount = (p.rate or ZERO) * p.lessons
    owed = sum((p.amount for p in outside), ZERO)
    shortfall = max(ZERO, owed - parts["outside"])
    surplus = max(ZERO, parts["outside"] - owed)
    unallocated = ZERO
    if sum(teachers.values(), ZERO) == 0:
        unallocated = parts["teacher"]
    else:
        for staff_id, amount in split_by_weights(parts["teacher"], teachers).items():
            by_id[staff_id].amount = amount
    result = Result(
        fees=money_in["fees"],
        refunds=money_in["refunds"],
        subsidy=money_in["subsidy"],
        other=money_in["other"],
        pool=pool,
        teacher_share=parts["teacher"],
        outside_share=parts["outside"],
        operations=parts["operations"],
        reserve=parts["reserve"],
        outside_owed=owed,
        outside_surplus=surplus,
        teacher_unallocated=unallocated,
        shortfall=shortfall,
        people=sorted((p for p in people if p.lessons or p.amount), key=lambda p: (p.outside, p.staff_id)),
    )
    result.check()
    return result


# --- From the database to the computation ----------------------------------------------------------------------------


def _people(staff_ids: set[int]) -> tuple[list[Person], list[int]]:
    """Persons with the rate of their admission at that school (latest admitted one); problems: a paid admission
    without a rate."""
    staff = list(Staff.objects.filter(pk__in=staff_ids).select_related("outside_person"))
    rates: dict[tuple[int, int], Admission] = {}
    outside = [s for s in staff if s.kind == Staff.StaffKind.OUTSIDE]
    if outside:
        for a in Admission.objects.filter(
            person_id__in={s.outside_person_id for s in outside},
            school_id__in={s.school_id for s in outside},
            status__in=WAS_ADMITTED,
        ).order_by("valid_from", "id"):
            rates[(a.person_id, a.school_id)] = a  # the latest wins
    people, problems = [], []
    for s in staff:
        if s.kind != Staff.StaffKind.OUTSIDE:
            people.append(Person(s.pk, s.name, False))
            continue
        a = rates.get((s.outside_person_id, s.school_id))
        if a is None or (a.paid and a.fee_per_lesson is None):
            problems.append(s.pk)
            people.append(Person(s.pk, s.name, True, rate=ZERO))
        else:
            people.append(Person(s.pk, s.name, True, rate=a.fee_per_lesson if a.paid else ZERO))
    return people, problems


def compute_terms(terms: list[Term], until: date, plans: dict[int, AllocationPlan]) -> dict[int, Result | DomainError]:
    """The allocation of many terms at once (a district term): a fixed number of queries, then the pure split per
    term over the per-person totals."""
    term_ids = [t.pk for t in terms]
    held, counted = lesson_counts(term_ids, until)
    gaps = attendance_gaps(terms, until, limit=50, held=held)
    money_in = fees.pool_of(term_ids)
    per_term: dict[int, list[tuple[int | None, str, int]]] = defaultdict(list)
    for tid, staff_id, kind, n in counted:
        per_term[tid].append((staff_id, kind, n))
    all_people, problems = _people({s for _, s, _, _ in counted if s is not None})
    people_by_id = {p.staff_id: p for p in all_people}
    out: dict[int, Result | DomainError] = {}
    for term in terms:
        if gaps.get(term.pk):
            out[term.pk] = gaps_error(gaps[term.pk])
            continue
        rows = per_term.get(term.pk, [])
        if any(s is None for s, _, _ in rows):
            out[term.pk] = DomainError(
                "allocation.lessons_without_staff",
                _("有已上课次没有授课人员，请先补登授课人员"),
                status=409,
            )
            continue
        mine = {s for s, _, _ in rows}
        bad = [p.name for p in all_people if p.staff_id in mine and p.staff_id in problems]
        if bad:
            out[term.pk] = DomainError(
                "allocation.rate_missing",
                format_lazy(_("校外人员缺少准入课酬标准：{names}"), names="、".join(bad)),
                status=409,
            )
            continue
        plan = plans.get(term.pk)
        if plan is None:
            out[term.pk] = DomainError("allocation.plan_missing", _("请先设置分配方案"), status=409)
            continue
        people = [Person(p.staff_id, p.name, p.outside, rate=p.rate) for p in (people_by_id[s] for s in mine)]
        try:
            out[term.pk] = compute(money_in[term.pk], plan_shares(plan), plan.kind_weights, people, rows)
        except DomainError as exc:
            out[term.pk] = exc
    return out


def gaps_error(gaps: list[Gap]) -> DomainError:
    shown = "；".join(f"{g.date} {g.programme}（{g.staff}）" for g in gaps[:5])
    return DomainError(
        "allocation.attendance_missing",
        format_lazy(
            _("有 {n}{more} 个课次未记考勤，请补录考勤或登记未开课后再分配：{shown}"),
            n=len(gaps),
            more="+" if len(gaps) >= 50 else "",
            shown=shown,
        ),
        status=409,
        fields={"sessions": (shown, ", ".join(f"{g.session_id}@{g.date}" for g in gaps[:20]))},
    )


def default_until(term: Term) -> date:
    return min(term.ends_on, timezone.localdate() - timedelta(days=1))


def gaps_until(term: Term, until: date | None = None) -> date:
    """The "up to" date of a term's attendance gaps: the one asked for, else the date its allocation counts to
    (the regular run's, which a school may have computed up to today), else the allocation's default: so the gaps
    listed are the ones that block the allocation."""
    if until is None:
        until = (
            AllocationRun.objects.filter(term=term, kind="regular").values_list("until", flat=True).first()
            or default_until(term)
        )
    return min(until, term.ends_on)


# --- Workflow --------------------------------------------------------------------------------------------------------


def _lock_run(run_id: int) -> AllocationRun:
    run = (
        AllocationRun.objects.select_for_update(of=("self",)).select_related("term", "school").filter(pk=run_id).first()
    )
    if run is None:
        raise NotFound(_("分配不存在"))
    return run


def _locked_error() -> DomainError:
    return DomainError(
        "allocation.locked",
        _("该分配已锁定，不能修改；如需更正请发起调整"),
        status=409,
    )


def _state_error(run: AllocationRun, wanted: str) -> DomainError:
    if run.status == Status.LOCKED:
        return _locked_error()
    return DomainError(
        "allocation.wrong_state",
        format_lazy(_("该分配当前为“{status}”，不能执行此操作"), status=Status(run.status).label),
        status=409,
    )


def _effective_totals(term: Term) -> tuple[dict[str, Decimal], dict[int, tuple[int, Decimal, Decimal]]]:
    """What locked runs of the term (the term run and its locked adjustments) add up to."""
    figures = dict.fromkeys(FIGURES, ZERO)
    lines: dict[int, tuple[int, Decimal, Decimal]] = {}
    for run in AllocationRun.objects.filter(term=term, status=Status.LOCKED).prefetch_related("lines"):
        for f in FIGURES:
            figures[f] += getattr(run, f)
        for ln in run.lines.all():
            n, w, a = lines.get(ln.staff_id, (0, ZERO, ZERO))
            lines[ln.staff_id] = (n + ln.lessons, w + ln.weighted_lessons, a + ln.amount)
    return figures, lines


FIGURES = (
    "fees",
    "refunds",
    "subsidy",
    "other",
    "pool",
    "teacher_share",
    "outside_share",
    "operations",
    "reserve",
    "outside_owed",
    "outside_surplus",
    "teacher_unallocated",
    "shortfall",
)


def _write(run: AllocationRun, result: Result, base: tuple | None = None) -> None:
    """Store a result on a run (an adjustment stores the differences against `base`, the locked totals)."""
    figures, lines = base or (dict.fromkeys(FIGURES, ZERO), {})
    for f in FIGURES:
        setattr(run, f, getattr(result, f) - figures[f])
    run.computed_at = timezone.now()
    run.save()
    run.lines.all().delete()
    rows = []
    seen = set()
    for p in result.people:
        n, w, a = lines.get(p.staff_id, (0, ZERO, ZERO))
        seen.add(p.staff_id)
        if base and (p.lessons - n, p.weighted - w, p.amount - a) == (0, 0, 0):
            continue
        rows.append(
            AllocationLine(
                run=run,
                staff_id=p.staff_id,
                name=p.name,
                pay_type=PayType.LABOUR if p.outside else PayType.PERFORMANCE,
                lessons=p.lessons - n,
                weighted_lessons=p.weighted - w,
                rate=p.rate,
                amount=p.amount - a,
            )
        )
    if base:
        staff = {s.pk: s for s in Staff.objects.filter(pk__in=set(lines) - seen)}
        for staff_id in set(lines) - seen:  # paid before, nothing now: the whole amount comes back
            n, w, a = lines[staff_id]
            s = staff[staff_id]
            rows.append(
                AllocationLine(
                    run=run,
                    staff_id=staff_id,
                    name=s.name,
                    pay_type=PayType.LABOUR if s.kind == Staff.StaffKind.OUTSIDE else PayType.PERFORMANCE,
                    lessons=-n,
                    weighted_lessons=-w,
                    amount=-a,
                )
            )
    AllocationLine.objects.bulk_create(rows)


def _compute_for(run: AllocationRun) -> Result:
    term = run.term
    plan = AllocationPlan.objects.filter(term=term).first()
    result = compute_terms([term], run.until, {term.pk: plan} if plan else {})[term.pk]
    if isinstance(result, DomainError):
        raise result
    run.shares = {k: str(v) for k, v in plan_shares(plan).items()}
    run.kind_weights = plan.kind_weights
    return result


@transaction.atomic
def run_compute(*, actor, term_id: int, until: date | None = None) -> AllocationRun:
    """Compute the term's allocation as a draft, or recompute the draft. Nothing is written when it fails."""
    term = permissions.access_term_for_admin(actor, term_id)
    Term.objects.select_for_update().filter(pk=term.pk).first()
    run = AllocationRun.objects.select_for_update(of=("self",)).filter(term=term, kind="regular").first()
    if run is not None and run.status != Status.DRAFT:
        raise _state_error(run, "draft")
    until = min(until or default_until(term), term.ends_on)
    if until < term.starts_on:
        raise fees.invalid("allocation.too_early", "until", _("学期尚未开始"))
    created = run is None
    if created:
        run = AllocationRun(school=term.school, term=term, until=until, created_by=actor)
    run.term = term
    run.until = until
    result = _compute_for(run)
    _write(run, result)
    audit_log(
        actor=actor,
        verb="afterschool.allocation_computed",
        obj=run,
        to_state=Status.DRAFT,
        data={
            "pool": fmt(run.pool),
            "until": str(until),
            "recomputed": not created,
            "shortfall": fmt(run.shortfall),
        },
    )
    return run


@transaction.atomic
def run_adjust(*, actor, run_id: int) -> AllocationRun:
    """A correction of a locked allocation (late attendance corrections, a refund after locking): a new run that
    references it and holds the differences against everything locked so far. Recomputed while it is a draft."""
    base = _lock_run(run_id)
    if base.school_id not in scope.school_ids(actor, Role.SCHOOL_ADMIN):
        raise NotFound(_("分配不存在"))
    term = base.term
    Term.objects.select_for_update().filter(pk=term.pk).first()
    if base.status != Status.LOCKED:
        raise _state_error(base, "locked")
    run = AllocationRun.objects.select_for_update(of=("self",)).filter(term=term).exclude(status=Status.LOCKED).first()
    if run is not None and (run.kind != "adjustment" or run.status != Status.DRAFT):
        raise _state_error(run, "draft")
    if run is None:
        run = AllocationRun(
            school=term.school, term=term, kind="adjustment", adjusts=base, until=base.until, created_by=actor
        )
    run.term = term
    result = _compute_for(run)
    _write(run, result, _effective_totals(term))
    audit_log(
        actor=actor,
        verb="afterschool.allocation_adjustment_computed",
        obj=run,
        to_state=Status.DRAFT,
        data={"adjusts": base.pk, "pool_change": fmt(run.pool)},
    )
    return run


@transaction.atomic
def run_review(*, actor, run_id: int) -> AllocationRun:
    run = _lock_run(run_id)
    if run.school_id not in scope.school_ids(actor, Role.SCHOOL_ADMIN):
        raise NotFound(_("分配不存在"))
    if run.status != Status.DRAFT:
        raise _state_error(run, "draft")
    if run.shortfall > 0:
        raise DomainError(
            "allocation.shortfall",
            format_lazy(
                _("校外人员劳务费比例不足，尚差 {shortfall:.2f} 元：请调整分配方案后重新计算"), shortfall=run.shortfall
            ),
            status=409,
        )
    return _step(run, actor, Status.REVIEWED, "reviewed")


def _bureau_may(actor, run: AllocationRun) -> None:
    if run.school.town_id not in scope.town_ids(actor, *permissions.APPROVER_ROLES):
        raise NotFound(_("分配不存在"))


@transaction.atomic
def run_approve(*, actor, run_id: int) -> AllocationRun:
    run = _lock_run(run_id)
    _bureau_may(actor, run)
    if run.status != Status.REVIEWED:
        raise _state_error(run, "reviewed")
    return _step(run, actor, Status.APPROVED, "approved")


@transaction.atomic
def run_lock(*, actor, run_id: int) -> AllocationRun:
    run = _lock_run(run_id)
    _bureau_may(actor, run)
    if run.status != Status.APPROVED:
        raise _state_error(run, "approved")
    return _step(run, actor, Status.LOCKED, "locked")


def _step(run: AllocationRun, actor, to: str, who: str) -> AllocationRun:
    """The caller has checked the state (with its own error); the write is conditional on it all the same."""
    wanted = run.status
    return transition(
        run, actor=actor, verb=f"afterschool.allocation_{who}", allowed_from=wanted, to=to,
        fields={f"{who}_by": actor, f"{who}_at": timezone.now()}, data={"pool": fmt(run.pool)},
        error=lambda run: _state_error(run, wanted),
    )  # fmt: skip
