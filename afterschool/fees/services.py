"""After-school service money coming in (R-ASS-3): a term's fee rate, children's bills, exemptions and reductions,
refunds on withdrawal, payments into the school's own account, fiscal subsidy and other income.

- The rate is the school's service fee per student per lesson or per month (default: the dated policy value
  `service_fee_per_student_per_lesson` / `..._per_month` on the term's first day). A programme marked free carries
  no fee of its own, so its lessons are charged at the term's rate (which may be zero: a service paid by subsidy
  alone); a programme with a fee of its own (e.g. a third party's course) charges that fee per lesson.
- A bill covers one term only (nothing is charged across terms): per lesson, the planned lessons of each enrolment
  between its first day and the term's end (or the day before its withdrawal); per month, the calendar months with
  a school day in the child's enrolment. An approved exemption (whole bill) or reduction (an amount) is deducted;
  one still waiting for the school blocks the issue of the term's bills, so no bill is issued on an undecided
  application.
- A withdrawal after the bill was issued refunds pro rata: the lessons (per month: the school days) not attended
  from the day the withdrawal takes effect, at the rate billed.
- A payment names one of the school's own accounts, whose holder is the school itself: never a parent committee or
  a third party; and never more than what is still due (no prepaying a later term).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import DecimalField, ExpressionWrapper, F, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from accounts import scope
from accounts.models import Role
from afterschool.schedule.models import Application, Attendance, School, Session, Student, Term, TermDay
from afterschool.schedule.permissions import access_child
from afterschool.schedule.selectors import schools_visible_to
from core.audit import audit_log
from core.documents import check_document
from core.errors import DomainError, NotFound
from core.money import ZERO, MoneyError, exact, fmt, is_exact, quantize, to_decimal, total
from core.policy import MissingPolicyValue, policy_decimal
from core.transitions import transition
from core.uploads import random_name
from core.workdays import WorkingCalendar

from .models import (
    AllocationRun,
    Bill,
    Exemption,
    FeeBasis,
    FeeRate,
    OtherIncome,
    Payment,
    Refund,
    SchoolAccount,
    SessionNotHeld,
    Subsidy,
)
from .permissions import access_term_for_admin, access_term_for_bureau
from .selectors import terms_readable

POLICY_KEYS = {
    FeeBasis.PER_LESSON: "service_fee_per_student_per_lesson",
    FeeBasis.PER_MONTH: "service_fee_per_student_per_month",
}
NOT_COLLECTING = ("家委会", "家长委员会", "家长会")
ACCOUNT_NUMBER_MIN, ACCOUNT_NUMBER_MAX = 8, 30  # digits of a school account; the API schema states the same


def invalid(code: str, field: str | None, message, status: int = 422) -> DomainError:
    return DomainError(code, message, status=status, fields={field: message} if field else None)


def money(value, field: str, *, positive: bool = False, allow_zero: bool = True) -> Decimal:
    """Decimal yuan to the fen (read by core.money: str, int or Decimal, never a float); a negative amount (or zero
    where it must be positive) is refused, never rounded."""
    try:
        amount = to_decimal(value)
    except (MoneyError, TypeError):
        raise invalid("fee.bad_amount", field, _("金额格式不正确")) from None
    if not is_exact(amount):
        raise invalid("fee.bad_amount", field, _("金额最多两位小数（精确到分）"))
    if amount < 0:
        raise invalid("fee.negative_amount", field, _("金额不能为负数"))
    if positive and amount == 0:
        raise invalid("fee.zero_amount", field, _("金额须大于零"))
    if amount >= Decimal("1e10"):
        raise invalid("fee.bad_amount", field, _("金额过大"))
    return exact(amount)


# --- Scope -----------------------------------------------------------------------------------------------------------


def bills_visible_to(user):
    """Parents: their children's; school staff: their school's; the bureau: its towns'."""
    return Bill.objects.filter(Q(student__guardians=user) | Q(school__in=schools_visible_to(user))).distinct()


def exemptions_visible_to(user):
    return Exemption.objects.filter(Q(student__guardians=user) | Q(school__in=schools_visible_to(user))).distinct()


def refunds_visible_to(user):
    return Refund.objects.filter(
        Q(bill__student__guardians=user) | Q(bill__school__in=schools_visible_to(user))
    ).distinct()


def _term_open_for_money(term: Term) -> None:
    """Once the bureau has approved a term's allocation, its money in changes only through an adjustment run; the
    rate itself never changes then."""
    if AllocationRun.objects.filter(term=term, kind="regular", status__in=["approved", "locked"]).exists():
        raise DomainError(
            "fee.term_allocated",
            _("本学期分配已批准，收费标准不能再修改"),
            status=409,
        )


# --- Rate ------------------------------------------------------------------------------------------------------------


@transaction.atomic
def rate_set(*, actor, term_id: int, basis: str, amount=None) -> FeeRate:
    term = access_term_for_admin(actor, term_id)
    Term.objects.select_for_update().filter(pk=term.pk).first()
    if basis not in FeeBasis.values:
        raise invalid("fee.bad_basis", "basis", _("计费方式须为按课次或按月"))
    key = ""
    if amount is None:
        key = POLICY_KEYS[basis]
        try:
            amount = policy_decimal(key, term.starts_on)
        except MissingPolicyValue:
            raise invalid("fee.rate_required", "amount", _("请填写收费标准")) from None
    try:
        value = money(amount, "amount")
    except DomainError as exc:
        if exc.code == "fee.negative_amount":
            raise invalid("fee.negative_rate", "amount", _("收费标准不能为负数")) from None
        raise
    _term_open_for_money(term)
    before = FeeRate.objects.filter(term=term).first()
    rate, _unused = FeeRate.objects.update_or_create(
        term=term,
        defaults={"school": term.school, "basis": basis, "amount": value, "policy_key": key, "set_by": actor},
    )
    audit_log(
        actor=actor,
        verb="afterschool.fee_rate_set",
        obj=rate,
        from_state=f"{before.basis} {before.amount}" if before else "",
        to_state=f"{basis} {value}",
        data={"term_id": term.pk, "policy_key": key},
    )
    return rate


# --- School days and lessons -----------------------------------------------------------------------------------------


def school_days_by_term(terms: list[Term], until: date | None = None) -> dict[int, dict[date, int]]:
    """{term id: {date: weekday whose timetable runs}} for many terms: one query for the schools' own calendar
    entries, one working-day calendar."""
    overrides: dict[int, dict[date, int | None]] = defaultdict(dict)
    for term_id, day, weekday in TermDay.objects.filter(term__in=terms).values_list(
        "term_id", "date", "follows_weekday"
    ):
        overrides[term_id][day] = weekday
    cal = WorkingCalendar()
    working: dict[date, bool] = {}
    out: dict[int, dict[date, int]] = {}
    for term in terms:
        days: dict[date, int] = {}
        mine = overrides.get(term.pk, {})
        day, end = term.starts_on, min(term.ends_on, until) if until else term.ends_on
        while day <= end:
            if day in mine:
                if mine[day] is not None:
                    days[day] = mine[day]
            else:
                if day not in working:
                    working[day] = cal.is_working_day(day)
                if working[day]:
                    days[day] = day.weekday() if day.weekday() < 5 else 0
            day += timedelta(days=1)
        out[term.pk] = days
    return out


@dataclass
class Calendar:
    """A term's school days, indexed per weekday for counting lessons in a span with bisect (no loop over days)."""

    days: list[date]
    by_weekday: dict[int, list[date]]

    @classmethod
    def of(cls, days: dict[date, int]) -> Calendar:
        by: dict[int, list[date]] = defaultdict(list)
        for d in sorted(days):
            by[days[d]].append(d)
        return cls(sorted(days), dict(by))

    def lessons(self, weekday: int, start: date, end: date) -> list[date]:
        dates = self.by_weekday.get(weekday, [])
        return dates[bisect_left(dates, start) : bisect_right(dates, end)]

    def school_days(self, start: date, end: date) -> list[date]:
        return self.days[bisect_left(self.days, start) : bisect_right(self.days, end)]


def _span(app: Application, term: Term, *, ignore_withdrawal: bool) -> tuple[date, date] | None:
    start = max(app.active_from, term.starts_on)
    end = term.ends_on
    if app.active_until_excl and not ignore_withdrawal:
        end = min(end, app.active_until_excl - timedelta(days=1))
    return (start, end) if start <= end else None


def _lessons_of(sessions: list[Session], cal: Calendar, start: date, end: date) -> int:
    return sum(len(cal.lessons(s.weekday, max(start, s.first_date), min(end, s.last_date))) for s in sessions)


# --- Bills -----------------------------------------------------------------------------------------------------------


def _exempted(exemption: Exemption | None, gross: Decimal) -> Decimal:
    if exemption is None:
        return ZERO
    if exemption.kind == Exemption.ExemptionKind.EXEMPT:
        return gross
    return min(exemption.amount, gross)


def _compute_bills(term: Term, rate: FeeRate) -> dict[int, dict]:
    """{student id: bill fields} from the term's enrolments and rate (a fixed number of queries)."""
    cal = Calendar.of(school_days_by_term([term])[term.pk])
    sessions: dict[int, list[Session]] = defaultdict(list)
    for s in Session.objects.filter(programme__term=term).only(
        "id", "programme_id", "weekday", "first_date", "last_date"
    ):
        sessions[s.programme_id].append(s)
    refunded = set(
        Refund.objects.filter(bill__term=term, application__isnull=False).values_list("application_id", flat=True)
    )
    enrolments = (
        Application.objects.filter(
            programme__term=term,
            status__in=[Application.Status.APPROVED, Application.Status.WITHDRAWN],
            active_from__isnull=False,
        )
        .select_related("programme")
        .order_by("student_id", "id")
    )
    approved = {e.student_id: e for e in Exemption.objects.filter(term=term, status=Exemption.Status.APPROVED)}
    bills: dict[int, dict] = {}
    for app in enrolments:
        span = _span(app, term, ignore_withdrawal=app.pk in refunded)
        if span is None:
            continue
        bill = bills.setdefault(app.student_id, {"lessons": 0, "months": set(), "gross": ZERO, "lines": []})
        start, end = span
        lessons = _lessons_of(sessions[app.programme_id], cal, start, end)
        own_fee = not app.programme.is_free
        line = {
            "application_id": app.pk,
            "programme": app.programme.name,
            "from": str(start),
            "to": str(end),
            "lessons": lessons,
        }
        if own_fee or rate.basis == FeeBasis.PER_LESSON:
            unit = app.programme.fee_per_lesson if own_fee else rate.amount
            line.update(basis=FeeBasis.PER_LESSON, rate=fmt(unit), amount=fmt(unit * lessons))
            bill["lessons"] += lessons
            bill["gross"] += unit * lessons
        else:
            months = {(d.year, d.month) for d in cal.school_days(start, end)}
            line.update(basis=FeeBasis.PER_MONTH, rate=fmt(rate.amount), months=len(months))
            bill["months"] |= months
        bill["lines"].append(line)
    for student_id, bill in bills.items():
        months = len(bill["months"])
        bill["months"] = months
        bill["gross"] = quantize(bill["gross"] + rate.amount * months * (rate.basis == FeeBasis.PER_MONTH))
        bill["exempted"] = _exempted(approved.get(student_id), bill["gross"])
        bill["amount"] = bill["gross"] - bill["exempted"]
    return bills


@transaction.atomic
def bills_issue(*, actor, term_id: int) -> dict:
    """Issue (or bring up to date) the bills of every enrolled child of a term. Refused while an exemption waits for
    the school's decision, or before the term has a rate."""
    term = access_term_for_admin(actor, term_id)
    Term.objects.select_for_update().filter(pk=term.pk).first()
    rate = FeeRate.objects.filter(term=term).first()
    if rate is None:
        raise DomainError("fee.rate_missing", _("请先设置本学期收费标准"), status=409)
    _term_open_for_money(term)
    pending = list(
        Exemption.objects.filter(term=term, status=Exemption.Status.APPLIED).select_related("student").order_by("id")
    )
    if pending:
        names = "、".join(e.student.name for e in pending[:10])
        raise DomainError(
            "fee.exemption_pending",
            format_lazy(_("有减免申请尚未审批（{names}），请先审批再出账单"), names=names),
            status=409,
            fields={"exemptions": format_lazy(_("待审批：{names}"), names=names)},
        )
    computed = _compute_bills(term, rate)
    existing = {b.student_id: b for b in Bill.objects.filter(term=term)}
    new, changed = [], []
    for student_id, fields in computed.items():
        values = {
            "basis": rate.basis,
            "rate": rate.amount,
            "lessons": fields["lessons"],
            "months": fields["months"],
            "gross": fields["gross"],
            "exempted": fields["exempted"],
            "amount": fields["amount"],
            "lines": fields["lines"],
        }
        bill = existing.get(student_id)
        if bill is None:
            new.append(Bill(student_id=student_id, term=term, school_id=term.school_id, **values))
        else:
            for k, v in values.items():
                setattr(bill, k, v)
            changed.append(bill)
    for student_id, bill in existing.items():
        if student_id not in computed and bill.gross:  # no enrolment left in the term: nothing is charged
            bill.lessons = bill.months = 0
            bill.gross = bill.exempted = bill.amount = ZERO
            bill.lines = []
            changed.append(bill)
    Bill.objects.bulk_create(new, batch_size=1000)
    Bill.objects.bulk_update(
        changed,
        ["basis", "rate", "lessons", "months", "gross", "exempted", "amount", "lines", "issued_at"],
        batch_size=1000,
    )
    issued = total(f["amount"] for f in computed.values())
    audit_log(
        actor=actor,
        verb="afterschool.fee_bills_issued",
        obj=term,
        to_state="issued",
        data={"bills": len(computed), "new": len(new), "updated": len(changed), "total": fmt(issued)},
    )
    return {"bills": len(computed), "total": issued}


def bills_changes(term: Term) -> dict[str, int] | None:
    """What issuing the term's bills again would change (enrolments, withdrawals or exemptions since the last
    issue): {"new", "changed", "cleared"} counts; None before the term has a rate. Nothing is written."""
    rate = FeeRate.objects.filter(term=term).first()
    if rate is None:
        return None
    computed = _compute_bills(term, rate)
    existing = {b.student_id: b for b in Bill.objects.filter(term=term)}
    new = sum(1 for sid in computed if sid not in existing)
    changed = sum(
        1
        for sid, f in computed.items()
        if sid in existing
        and (existing[sid].amount, existing[sid].gross, existing[sid].rate, existing[sid].basis)
        != (f["amount"], f["gross"], rate.amount, rate.basis)
    )
    cleared = sum(1 for sid, b in existing.items() if sid not in computed and b.gross)
    return {"new": new, "changed": changed, "cleared": cleared, "issued": len(existing)}


# --- Exemptions ------------------------------------------------------------------------------------------------------


@transaction.atomic
def exemption_apply(
    *, actor, student_id: int, term_id: int, kind: str, amount=None, reason: str, document=None
) -> Exemption:
    """A parent for their child, or the school for a family it knows, applies; the school decides. `document` (an
    upload: a certificate of difficulty) is checked by content, stored under a random name, EXIF removed."""
    student = Student.objects.filter(pk=student_id, school_id__in=scope.school_ids(actor, Role.SCHOOL_ADMIN)).first()
    if student is None:
        student = access_child(actor, student_id)
    term = Term.objects.filter(pk=term_id, school_id=student.school_id).first()
    if term is None:
        raise NotFound(_("学期不存在"))
    if kind not in Exemption.ExemptionKind.values:
        raise invalid("fee.bad_kind", "kind", _("类型须为免收或减收"))
    if kind == Exemption.ExemptionKind.REDUCE:
        if amount is None:
            raise invalid("fee.amount_required", "amount", _("减收须填写金额"))
        amount = money(amount, "amount", positive=True)
    elif amount is not None:
        raise invalid("fee.amount_not_allowed", "amount", _("免收不填金额"))
    reason = (reason or "").strip()
    if not reason:
        raise invalid("fee.reason_required", "reason", _("请说明困难情况"))
    if Exemption.objects.filter(student=student, term=term, status__in=["applied", "approved"]).exists():
        raise DomainError(
            "fee.exemption_duplicate",
            _("该学生本学期已有减免申请"),
            status=409,
        )
    checked = check_document(document, field="document") if document is not None else None
    exemption = Exemption(
        student=student,
        term=term,
        school_id=student.school_id,
        kind=kind,
        amount=amount,
        reason=reason[:200],
        applied_by=actor,
    )
    if checked is not None:
        exemption.document_type = checked.content_type
        exemption.document.save(random_name("." + checked.extension), ContentFile(checked.content), save=False)
    exemption.save()
    audit_log(
        actor=actor, verb="afterschool.fee_exemption_applied", obj=exemption, to_state="applied", data={"kind": kind}
    )
    return exemption


@transaction.atomic
def exemption_decide(*, actor, exemption_id: int, approve: bool, note: str = "") -> Exemption:
    exemption = (
        Exemption.objects.select_for_update()
        .filter(pk=exemption_id, school_id__in=scope.school_ids(actor, Role.SCHOOL_ADMIN))
        .first()
    )
    if exemption is None:
        raise NotFound(_("减免申请不存在"))
    transition(
        exemption, actor=actor, verb="afterschool.fee_exemption_decided", allowed_from=Exemption.Status.APPLIED,
        to=Exemption.Status.APPROVED if approve else Exemption.Status.REJECTED,
        fields={"decided_by": actor, "decided_at": timezone.now(), "decision_note": (note or "")[:200]},
        data={"note": (note or "")[:200]},
        error=lambda exemption: DomainError("fee.exemption_decided", _("该申请已审批"), status=409),
    )  # fmt: skip
    bill = Bill.objects.select_for_update().filter(student_id=exemption.student_id, term_id=exemption.term_id).first()
    if bill is not None and approve:
        bill.exempted = _exempted(exemption, bill.gross)
        bill.amount = bill.gross - bill.exempted
        bill.save(update_fields=["exempted", "amount", "issued_at"])
    return exemption


# --- Refunds ---------------------------------------------------------------------------------------------------------


def refund_preview(app: Application, effective: date, *, lock: bool = False) -> dict | None:
    """What a withdrawal taking effect on `effective` would give back (nothing written): {"bill", "amount",
    "not_attended", "billed"}, or None when nothing was billed or nothing would be refunded. The parent sees this
    before confirming; refund_on_withdrawal writes the same figure."""
    term = app.programme.term
    bills = Bill.objects.select_for_update() if lock else Bill.objects
    bill = bills.filter(student_id=app.student_id, term=term).first()
    if bill is None:
        return None
    line = next((ln for ln in bill.lines if ln.get("application_id") == app.pk), None)
    if line is None or Refund.objects.filter(application=app).exists():
        return None
    start, end = date.fromisoformat(line["from"]), date.fromisoformat(line["to"])
    cal = Calendar.of(school_days_by_term([term])[term.pk])
    if line["basis"] == FeeBasis.PER_LESSON:
        sessions = list(Session.objects.filter(programme_id=app.programme_id))
        billed = line["lessons"]
        not_attended = _lessons_of(sessions, cal, max(start, effective), end)
        amount = Decimal(line["rate"]) * not_attended
    else:
        # Per month: only when no other enrolment of the child still uses the service this term.
        others = [ln for ln in bill.lines if ln.get("basis") == FeeBasis.PER_MONTH and ln["application_id"] != app.pk]
        still = Application.objects.filter(
            pk__in=[ln["application_id"] for ln in others], status=Application.Status.APPROVED
        ).exists()
        billed = len(cal.school_days(start, end))
        not_attended = 0 if still else len(cal.school_days(max(start, effective), end))
        per_month_total = Decimal(line["rate"]) * bill.months
        amount = quantize(per_month_total * not_attended / billed) if billed else ZERO
    # Never more than what the bill still charges once an exemption is deducted.
    already = bill.refunds.aggregate(s=Sum("amount"))["s"] or ZERO
    amount = max(ZERO, min(quantize(amount), bill.amount - already))
    if not not_attended:
        return None  # withdrawn after the last lesson billed: nothing to give back
    return {"bill": bill, "amount": amount, "not_attended": not_attended, "billed": billed}


def refund_on_withdrawal(*, app: Application, effective: date, actor) -> Refund | None:
    """Called inside the withdrawal's transaction: the lessons (per month: school days) not attended from
    `effective` on, at the rate billed, when the term's bill was already issued. Nothing billed, nothing refunded."""
    preview = refund_preview(app, effective, lock=True)
    if preview is None:
        return None
    bill, amount, not_attended, billed = preview["bill"], preview["amount"], preview["not_attended"], preview["billed"]
    refund = Refund.objects.create(
        bill=bill,
        application=app,
        amount=amount,
        effective_from=effective,
        units_not_attended=not_attended,
        units_billed=billed,
        created_by=actor if getattr(actor, "pk", None) else None,
    )
    audit_log(
        actor=actor,
        verb="afterschool.fee_refund_created",
        obj=refund,
        to_state="refunded",
        data={"bill_id": bill.pk, "amount": fmt(amount), "not_attended": not_attended, "billed": billed},
    )
    return refund


def refund_on_withdrawal_signalled(sender, *, app: Application, effective: date | None, actor, **kwargs) -> None:
    """Receiver of the schedule's `application_withdrawn` (connected in AfterschoolConfig.ready)."""
    refund_on_withdrawal(app=app, effective=effective, actor=actor)


# --- Accounts and payments -------------------------------------------------------------------------------------------


@transaction.atomic
def account_create(*, actor, school_id: int, bank: str, account_name: str, account_number: str) -> SchoolAccount:
    if school_id not in scope.school_ids(actor, Role.SCHOOL_ADMIN):
        raise NotFound(_("学校不存在"))
    school = School.objects.get(pk=school_id)
    account_name, bank, account_number = (
        (account_name or "").strip(),
        (bank or "").strip(),
        (account_number or "").strip(),
    )
    if any(word in account_name for word in NOT_COLLECTING) or account_name != school.name:
        raise invalid(
            "fee.account_not_school",
            "account_name",
            format_lazy(_("收费账户的户名须为学校本身（{name}），不得通过家委会或第三方收费"), name=school.name),
        )
    if not bank or not account_number.isdigit() or not ACCOUNT_NUMBER_MIN <= len(account_number) <= ACCOUNT_NUMBER_MAX:
        raise invalid("fee.bad_account", "account_number", _("请填写开户行和账号"))
    if SchoolAccount.objects.filter(school=school, account_number=account_number).exists():
        raise DomainError("fee.account_duplicate", _("该账号已登记"), status=409)
    account = SchoolAccount.objects.create(
        school=school, bank=bank[:100], account_name=account_name, account_number=account_number
    )
    audit_log(actor=actor, verb="afterschool.fee_account_created", obj=account, data={"bank": account.bank})
    return account


@transaction.atomic
def payment_record(*, actor, bill_id: int, account_id: int, amount, paid_on: date, reference: str = "") -> Payment:
    bill = (
        Bill.objects.select_for_update()
        .select_related("term")
        .filter(pk=bill_id, school_id__in=scope.school_ids(actor, Role.SCHOOL_ADMIN))
        .first()
    )
    if bill is None:
        raise NotFound(_("账单不存在"))
    account = SchoolAccount.objects.filter(pk=account_id, school_id=bill.school_id).first()
    if account is None:
        raise invalid(
            "fee.account_not_school",
            "account_id",
            _("缴费须进入本校收费账户，不得通过家委会或第三方"),
        )
    value = money(amount, "amount", positive=True)
    reference = (reference or "").strip()[:60]
    if reference:
        same = Payment.objects.filter(account=account, reference=reference).first()
        if same is not None:
            if (same.bill_id, same.amount, same.paid_on) == (bill.pk, value, paid_on):
                return same  # the same payment sent again (a retry): recorded once
            raise DomainError(
                "fee.payment_reference_used",
                _("该流水号已登记为另一笔缴费"),
                status=409,
                fields={"reference": _("流水号已使用")},
            )
    refunded = bill.refunds.aggregate(s=Sum("amount"))["s"] or ZERO
    paid = bill.payments.aggregate(s=Sum("amount"))["s"] or ZERO
    due = bill.amount - refunded - paid
    if value > due:
        raise invalid(
            "fee.overpayment",
            "amount",
            format_lazy(_("超出本学期应缴金额（尚欠 {due} 元），不得跨学期预收"), due=fmt(due)),
        )
    if paid_on > bill.term.ends_on:
        raise invalid("fee.after_term", "paid_on", _("缴费日期晚于学期结束"))
    try:
        with transaction.atomic():
            payment = Payment.objects.create(
                bill=bill, account=account, amount=value, paid_on=paid_on, reference=reference, recorded_by=actor
            )
    except IntegrityError:  # the same transaction number recorded at this very moment for another bill
        raise DomainError(
            "fee.payment_reference_used",
            _("该流水号已登记为另一笔缴费"),
            status=409,
        ) from None
    audit_log(
        actor=actor,
        verb="afterschool.fee_payment_recorded",
        obj=payment,
        data={"amount": fmt(value), "bill_id": bill.pk},
    )
    return payment


# --- Subsidy, other income, lessons not held -------------------------------------------------------------------------


@transaction.atomic
def subsidy_add(*, actor, term_id: int, amount, note: str = "") -> Subsidy:
    term = access_term_for_bureau(actor, term_id)
    value = money(amount, "amount", positive=True)
    row = Subsidy.objects.create(school=term.school, term=term, amount=value, note=(note or "")[:200], entered_by=actor)
    audit_log(
        actor=actor, verb="afterschool.fee_subsidy_added", obj=row, data={"amount": fmt(value), "term_id": term.pk}
    )
    return row


@transaction.atomic
def other_income_add(*, actor, term_id: int, amount, source: str) -> OtherIncome:
    term = access_term_for_admin(actor, term_id)
    value = money(amount, "amount", positive=True)
    source = (source or "").strip()
    if not source:
        raise invalid("fee.source_required", "source", _("请说明收入来源"))
    row = OtherIncome.objects.create(school=term.school, term=term, amount=value, source=source[:200], entered_by=actor)
    audit_log(
        actor=actor,
        verb="afterschool.fee_other_income_added",
        obj=row,
        data={"amount": fmt(value), "term_id": term.pk},
    )
    return row


@transaction.atomic
def not_held_record(*, actor, session_id: int, day: date, reason: str, term_id: int | None = None) -> SessionNotHeld:
    """The school settles a lesson without attendance by saying it did not take place (it then counts nothing)."""
    sessions = Session.objects.select_related("programme__term").filter(
        school_id__in=scope.school_ids(actor, Role.SCHOOL_ADMIN)
    )
    if term_id is not None:
        sessions = sessions.filter(programme__term_id=term_id)
    session = sessions.filter(pk=session_id).first()
    if session is None:
        raise NotFound(_("课时安排不存在"))
    term = session.programme.term
    days = school_days_by_term([term])[term.pk]
    if days.get(day) != session.weekday or not session.first_date <= day <= session.last_date:
        raise invalid("fee.not_a_lesson_day", "date", _("该日期没有这节课"))
    if session.attendance.filter(date=day).exists():
        raise DomainError(
            "fee.lesson_was_held",
            _("该课次已有考勤记录，视为已开课"),
            status=409,
        )
    reason = (reason or "").strip()
    if not reason:
        raise invalid("fee.reason_required", "reason", _("请说明未开课原因"))
    row, created = SessionNotHeld.objects.get_or_create(
        session=session, date=day, defaults={"reason": reason[:200], "recorded_by": actor}
    )
    if created:
        audit_log(
            actor=actor, verb="afterschool.lesson_not_held", obj=row, data={"session_id": session.pk, "date": str(day)}
        )
    return row


@transaction.atomic
def not_held_day(*, actor, term_id: int, day: date, reason: str) -> dict:
    """A whole day without after-school services (a storm, an exam day): every session of the term meeting that
    day without attendance is recorded as not held, in one go; those with attendance were held and stay."""
    term = access_term_for_admin(actor, term_id)
    reason = (reason or "").strip()
    if not reason:
        raise invalid("fee.reason_required", "reason", _("请说明未开课原因"))
    weekday = school_days_by_term([term])[term.pk].get(day)
    if weekday is None:
        raise invalid("fee.not_a_school_day", "date", _("该日期不是本学期的上课日"))
    meeting = Session.objects.filter(
        programme__term=term, weekday=weekday, first_date__lte=day, last_date__gte=day
    ).order_by("pk")
    held = set(Attendance.objects.filter(session__in=meeting, date=day).values_list("session_id", flat=True))
    known = set(SessionNotHeld.objects.filter(session__in=meeting, date=day).values_list("session_id", flat=True))
    new = [
        SessionNotHeld(session_id=pk, date=day, reason=reason[:200], recorded_by=actor)
        for pk in meeting.values_list("pk", flat=True)
        if pk not in held and pk not in known
    ]
    SessionNotHeld.objects.bulk_create(new)
    if new:
        audit_log(
            actor=actor,
            verb="afterschool.day_not_held",
            obj=term,
            data={"date": str(day), "sessions": [row.session_id for row in new], "reason": reason[:200]},
        )
    return {
        "date": day,
        "recorded": sorted(row.session_id for row in new),
        "already_recorded": sorted(known),
        "held": sorted(held),
    }


def pool_total(money: dict[str, Decimal]) -> Decimal:
    """A term's pool (R-ASS-3): fees charged − refunds + subsidy + other income."""
    return money["fees"] - money["refunds"] + money["subsidy"] + money["other"]


def bills_with_sums(qs):
    """Bills annotated with `refunded_sum` and `paid_sum` (None when there are none), one subquery each."""
    refunds = Refund.objects.filter(bill=OuterRef("pk")).values("bill").annotate(s=Sum("amount")).values("s")
    payments = Payment.objects.filter(bill=OuterRef("pk")).values("bill").annotate(s=Sum("amount")).values("s")
    return qs.annotate(refunded_sum=Subquery(refunds), paid_sum=Subquery(payments))


def bills_with_owed(qs, *, owed_only: bool = False):
    """`bills_with_sums` plus `owed` (amount less refunds and payments) computed by the database, so that "owed only"
    is a filter of the query, applied before paging (never a page thinned after it)."""
    money = DecimalField(max_digits=12, decimal_places=2)
    qs = bills_with_sums(qs).annotate(
        owed=ExpressionWrapper(
            F("amount")
            - Coalesce(F("refunded_sum"), Value(ZERO), output_field=money)
            - Coalesce(F("paid_sum"), Value(ZERO), output_field=money),
            output_field=money,
        )
    )
    return qs.filter(owed__gt=0) if owed_only else qs


def pool_of(term_ids: list[int]) -> dict[int, dict[str, Decimal]]:
    """{term id: fees, refunds, subsidy, other}: four GROUP BY queries whatever the number of terms."""
    zero = ZERO
    out = {t: {"fees": zero, "refunds": zero, "subsidy": zero, "other": zero} for t in term_ids}
    for key, qs, field in (
        ("fees", Bill.objects.filter(term_id__in=term_ids).values("term_id"), "amount"),
        ("refunds", Refund.objects.filter(bill__term_id__in=term_ids).values("bill__term_id"), "amount"),
        ("subsidy", Subsidy.objects.filter(term_id__in=term_ids).values("term_id"), "amount"),
        ("other", OtherIncome.objects.filter(term_id__in=term_ids).values("term_id"), "amount"),
    ):
        for row in qs.annotate(s=Sum(field)):
            tid = row.get("term_id") or row.get("bill__term_id")
            out[tid][key] = row["s"] or zero
    return out


def overview(user, term_name: str | None = None):
    """Terms the user may read (the bureau: its towns; the district: all), newest first, optionally one term name
    across schools: a queryset for paging, and `overview_rows` to add the money of one page in four queries."""
    qs = terms_readable(user).select_related("school__town", "fee_rate").order_by("-starts_on", "school__name", "id")
    if term_name:
        qs = qs.filter(name=term_name)
    return qs


def overview_rows(terms: list[Term]) -> list[dict]:
    from django.db.models import Count, Q

    ids = [t.pk for t in terms]
    money_in = pool_of(ids)
    runs: dict[int, AllocationRun] = {}
    for run in AllocationRun.objects.filter(term_id__in=ids).order_by("id"):
        runs[run.term_id] = run  # the latest run of each term
    exemptions = {
        r["term_id"]: r
        for r in Exemption.objects.filter(term_id__in=ids)
        .values("term_id")
        .annotate(approved=Count("id", filter=Q(status="approved")), waiting=Count("id", filter=Q(status="applied")))
    }
    out = []
    for t in terms:
        m = money_in[t.pk]
        run = runs.get(t.pk)
        rate = getattr(t, "fee_rate", None)
        out.append(
            {
                "term": t,
                "rate": rate,
                **m,
                "pool": pool_total(m),
                "run": run,
                "exemptions_approved": exemptions.get(t.pk, {}).get("approved", 0),
                "exemptions_waiting": exemptions.get(t.pk, {}).get("waiting", 0),
            }
        )
    return out


def allocation_export_record(*, actor, run: AllocationRun, what: str, staff_id: int | None = None) -> None:
    """A pay document of a run was downloaded (statement, summary, payroll): one audit event, API and pages alike."""
    audit_log(actor=actor, verb="afterschool.allocation_exported", obj=run, data={"what": what, "staff_id": staff_id})
