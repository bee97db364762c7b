"""After-school fees and their allocation (R-ASS-3, R-PAY-1), under /api/v1/fees/.

School admins set the term's rate and plan, issue bills, decide exemptions, record payments, other income and
lessons not held, compute and review the allocation; the bureau of the school's town enters subsidy, approves and
locks; parents see their own children's bills, exemptions and refunds and apply for an exemption. Anything outside
the caller's scope answers 404. Money is a decimal string in yuan ("120.00")."""

from __future__ import annotations

from datetime import date as Date
from decimal import Decimal
from typing import Literal

from django.http import HttpResponse
from django.utils.translation import gettext_lazy as _
from ninja import Query, Router, Schema, Status
from pydantic import Field

from afterschool.fees import allocation as fee_allocation
from afterschool.fees import exports as fee_exports
from afterschool.fees import permissions as fee_permissions
from afterschool.fees import selectors as fee_selectors
from afterschool.fees import services as fees
from afterschool.fees.models import AllocationLine, AllocationRun, Bill, Exemption
from core.errors import NotFound
from core.money import ZERO, fmt_optional

from ...pagination import PageParams, paginate
from ...schemas import MAX_ID
from .common import ERRORS

router = Router(tags=["fees 课后服务费"])

Money = Field(..., max_digits=12, decimal_places=2, description="元，精确到分 / yuan to the fen")


_m = fmt_optional  # amounts leave as text to the fen, "120.00"


# --- Rate, plan, money in --------------------------------------------------------------------------------------------


class RateIn(Schema):
    basis: Literal["per_lesson", "per_month"]
    amount: Decimal | None = Field(
        None, max_digits=10, decimal_places=2, description="空：取政策参数 / empty: policy value"
    )


class PlanIn(Schema):
    shares: dict[str, Decimal] = Field(..., description="teacher, outside, operations, reserve: % summing to 100")
    kind_weights: dict[str, Decimal] = Field(default_factory=dict)


class AmountIn(Schema):
    amount: Decimal = Field(..., max_digits=14, decimal_places=2)
    note: str = Field("", max_length=200)


class OtherIn(Schema):
    amount: Decimal = Field(..., max_digits=14, decimal_places=2)
    source: str = Field(..., max_length=200)


class NotHeldIn(Schema):
    session_id: int = Field(..., ge=1, le=MAX_ID)
    date: Date
    reason: str = Field(..., max_length=200)


class TermFeesOut(Schema):
    term_id: int
    school_id: int
    term_name: str
    rate: dict | None
    plan: dict | None
    fees: str
    refunds: str
    subsidy: str
    other: str
    pool: str
    bills: int
    paid: str
    runs: list[dict]


def _run_brief(r: AllocationRun) -> dict:
    return {"id": r.pk, "kind": r.kind, "status": r.status, "pool": _m(r.pool), "adjusts": r.adjusts_id}


class OverviewRow(Schema):
    term_id: int
    term_name: str
    school_id: int
    school_name: str
    town: str
    rate: str | None
    basis: str | None
    fees: str
    refunds: str
    subsidy: str
    other: str
    pool: str
    exemptions_approved: int
    exemptions_waiting: int
    allocation: dict | None


class OverviewPage(Schema):
    items: list[OverviewRow]
    count: int


class OverviewFilter(PageParams):
    term_name: str | None = Field(None, max_length=50)


@router.get(
    "/overview",
    response={200: OverviewPage, **ERRORS},
    summary="各校收费与分配一览（教育局：本辖区）Fees and allocations across schools",
)
def overview(request, filters: Query[OverviewFilter]):
    page = paginate(fees.overview(request.auth, filters.term_name), filters)
    rows = fees.overview_rows(page["items"])
    return {
        "items": [
            {
                "term_id": r["term"].pk,
                "term_name": r["term"].name,
                "school_id": r["term"].school_id,
                "school_name": r["term"].school.name,
                "town": r["term"].school.town.name,
                "rate": _m(r["rate"].amount) if r["rate"] else None,
                "basis": r["rate"].basis if r["rate"] else None,
                **{k: _m(r[k]) for k in ("fees", "refunds", "subsidy", "other", "pool")},
                "exemptions_approved": r["exemptions_approved"],
                "exemptions_waiting": r["exemptions_waiting"],
                "allocation": _run_brief(r["run"]) | {"shortfall": _m(r["run"].shortfall)} if r["run"] else None,
            }
            for r in rows
        ],
        "count": page["count"],
    }


@router.get("/terms/{term_id}", response={200: TermFeesOut, **ERRORS}, summary="学期收费与分配概况 Term fees")
def term_fees(request, term_id: int):
    term = fee_permissions.access_term(request.auth, term_id)
    rate = getattr(term, "fee_rate", None)
    plan = getattr(term, "allocation_plan", None)
    money = fees.pool_of([term.pk])[term.pk]
    totals = fee_selectors.term_bill_totals(term)
    return {
        "term_id": term.pk,
        "school_id": term.school_id,
        "term_name": term.name,
        "rate": {"basis": rate.basis, "amount": _m(rate.amount), "policy_key": rate.policy_key} if rate else None,
        "plan": (
            {k: str(v) for k, v in fee_allocation.plan_shares(plan).items()} | {"kind_weights": plan.kind_weights}
            if plan
            else None
        ),
        **{k: _m(v) for k, v in money.items()},
        "pool": _m(fees.pool_total(money)),
        "bills": totals["bills"],
        "paid": _m(totals["paid"]),
        "runs": [_run_brief(r) for r in fee_selectors.runs_of_term(term)],
    }


@router.post("/terms/{term_id}/rate", response={200: dict, **ERRORS}, summary="设置收费标准 Set the term's rate")
def set_rate(request, term_id: int, body: RateIn):
    rate = fees.rate_set(actor=request.auth, term_id=term_id, basis=body.basis, amount=body.amount)
    return {"basis": rate.basis, "amount": _m(rate.amount), "policy_key": rate.policy_key}


@router.post("/terms/{term_id}/plan", response={200: dict, **ERRORS}, summary="设置分配方案 Set the allocation plan")
def set_plan(request, term_id: int, body: PlanIn):
    plan = fee_allocation.plan_set(
        actor=request.auth,
        term_id=term_id,
        shares={k: str(v) for k, v in body.shares.items()},
        kind_weights={k: str(v) for k, v in body.kind_weights.items()},
    )
    return {k: str(v) for k, v in fee_allocation.plan_shares(plan).items()} | {"kind_weights": plan.kind_weights}


@router.post("/terms/{term_id}/bills", response={200: dict, **ERRORS}, summary="出具账单 Issue the term's bills")
def issue_bills(request, term_id: int):
    out = fees.bills_issue(actor=request.auth, term_id=term_id)
    return {"bills": out["bills"], "total": _m(out["total"])}


@router.post("/terms/{term_id}/subsidies", response={201: dict, **ERRORS}, summary="财政补助（教育局）Subsidy")
def add_subsidy(request, term_id: int, body: AmountIn):
    row = fees.subsidy_add(actor=request.auth, term_id=term_id, amount=body.amount, note=body.note)
    return Status(201, {"id": row.pk, "amount": _m(row.amount)})


@router.post("/terms/{term_id}/other-income", response={201: dict, **ERRORS}, summary="其他收入 Other income")
def add_other(request, term_id: int, body: OtherIn):
    row = fees.other_income_add(actor=request.auth, term_id=term_id, amount=body.amount, source=body.source)
    return Status(201, {"id": row.pk, "amount": _m(row.amount)})


@router.post("/terms/{term_id}/not-held", response={201: dict, **ERRORS}, summary="登记未开课 A lesson not held")
def add_not_held(request, term_id: int, body: NotHeldIn):
    fee_permissions.access_term_for_admin(request.auth, term_id)
    row = fees.not_held_record(
        actor=request.auth, session_id=body.session_id, day=body.date, reason=body.reason, term_id=term_id
    )
    return Status(201, {"id": row.pk, "session_id": row.session_id, "date": str(row.date)})


class DayNotHeldIn(Schema):
    date: Date
    reason: str = Field(..., max_length=200)


class DayNotHeldOut(Schema):
    date: Date
    recorded: list[int]
    already_recorded: list[int]
    held: list[int]


@router.post(
    "/terms/{term_id}/days-not-held",
    response={200: DayNotHeldOut, **ERRORS},
    summary="整日未开课 A whole day without after-school services",
    description="当天本学期所有未考勤的课次登记为未开课；已有考勤的视为已开课。/ Every session of the term meeting "
    "that day without attendance is recorded as not held; those with attendance were held.",
)
def add_day_not_held(request, term_id: int, body: DayNotHeldIn):
    return fees.not_held_day(actor=request.auth, term_id=term_id, day=body.date, reason=body.reason)


class GapOut(Schema):
    session_id: int
    programme: str
    staff: str
    date: Date


@router.get(
    "/terms/{term_id}/attendance-gaps",
    response={200: list[GapOut], **ERRORS},
    summary="未记考勤的课次 Planned lessons without attendance",
)
def attendance_gaps(request, term_id: int, until: Date | None = None):
    term = fee_permissions.access_term(request.auth, term_id)
    until = fee_allocation.gaps_until(term, until)
    gaps = fee_allocation.attendance_gaps([term], until, limit=500).get(term.pk, [])
    return [g.__dict__ for g in gaps]


# --- Bills, exemptions, refunds, payments ----------------------------------------------------------------------------


class BillOut(Schema):
    id: int
    student_id: int
    student_name: str
    term_id: int
    term_name: str
    basis: str
    rate: str
    lessons: int
    months: int
    gross: str
    exempted: str
    amount: str
    refunded: str
    paid: str
    due: str
    lines: list[dict]


class BillPage(Schema):
    items: list[BillOut]
    count: int


def _bill_out(b: Bill) -> dict:
    refunded = b.refunded_sum or ZERO
    paid = b.paid_sum or ZERO
    return {
        "id": b.pk,
        "student_id": b.student_id,
        "student_name": b.student.name,
        "term_id": b.term_id,
        "term_name": b.term.name,
        "basis": b.basis,
        "rate": _m(b.rate),
        "lessons": b.lessons,
        "months": b.months,
        "gross": _m(b.gross),
        "exempted": _m(b.exempted),
        "amount": _m(b.amount),
        "refunded": _m(refunded),
        "paid": _m(paid),
        "due": _m(b.amount - refunded - paid),
        "lines": b.lines,
    }


class BillFilter(PageParams):
    term_id: int | None = Field(None, ge=1, le=MAX_ID)
    student_id: int | None = Field(None, ge=1, le=MAX_ID)


@router.get("/bills", response={200: BillPage, **ERRORS}, summary="账单（家长：本人子女）Bills I may see")
def list_bills(request, filters: Query[BillFilter]):
    qs = (
        fees.bills_visible_to(request.auth).select_related("student", "term").order_by("term_id", "student__name", "id")
    )
    if filters.term_id:
        qs = qs.filter(term_id=filters.term_id)
    if filters.student_id:
        qs = qs.filter(student_id=filters.student_id)
    page = paginate(fees.bills_with_sums(qs), filters)
    return {"items": [_bill_out(b) for b in page["items"]], "count": page["count"]}


@router.get("/bills/{bill_id}", response={200: BillOut, **ERRORS}, summary="账单 A bill")
def get_bill(request, bill_id: int):
    bill = (
        fees.bills_with_sums(fees.bills_visible_to(request.auth).select_related("student", "term"))
        .filter(pk=bill_id)
        .first()
    )
    if bill is None:
        raise NotFound(_("账单不存在"))
    return _bill_out(bill)


class PaymentIn(Schema):
    account_id: int = Field(..., ge=1, le=MAX_ID)
    amount: Decimal = Field(..., max_digits=12, decimal_places=2)
    paid_on: Date
    reference: str = Field("", max_length=60)


@router.post("/bills/{bill_id}/payments", response={201: dict, **ERRORS}, summary="缴费登记 Record a payment")
def add_payment(request, bill_id: int, body: PaymentIn):
    p = fees.payment_record(
        actor=request.auth,
        bill_id=bill_id,
        account_id=body.account_id,
        amount=body.amount,
        paid_on=body.paid_on,
        reference=body.reference,
    )
    return Status(201, {"id": p.pk, "amount": _m(p.amount), "account": str(p.account)})


class AccountIn(Schema):
    bank: str = Field(..., max_length=100)
    account_name: str = Field(..., max_length=200)
    account_number: str = Field(..., min_length=fees.ACCOUNT_NUMBER_MIN, max_length=fees.ACCOUNT_NUMBER_MAX)


@router.post("/schools/{school_id}/accounts", response={201: dict, **ERRORS}, summary="学校收费账户 School account")
def add_account(request, school_id: int, body: AccountIn):
    a = fees.account_create(
        actor=request.auth,
        school_id=school_id,
        bank=body.bank,
        account_name=body.account_name,
        account_number=body.account_number,
    )
    return Status(201, {"id": a.pk, "account": str(a)})


class ExemptionIn(Schema):
    student_id: int = Field(..., ge=1, le=MAX_ID)
    term_id: int = Field(..., ge=1, le=MAX_ID)
    kind: Literal["exempt", "reduce"]
    amount: Decimal | None = Field(None, max_digits=10, decimal_places=2)
    reason: str = Field(..., max_length=200)


class DecisionIn(Schema):
    approve: bool
    note: str = Field("", max_length=200)


class ExemptionOut(Schema):
    id: int
    student_id: int
    student_name: str
    school_id: int
    term_id: int
    kind: str
    amount: str | None
    reason: str
    status: str
    status_label: str


class ExemptionPage(Schema):
    items: list[ExemptionOut]
    count: int


def _exemption_out(e: Exemption) -> dict:
    return {
        "id": e.pk,
        "student_id": e.student_id,
        "student_name": e.student.name,
        "school_id": e.school_id,
        "term_id": e.term_id,
        "kind": e.kind,
        "amount": _m(e.amount),
        "reason": e.reason,
        "status": e.status,
        "status_label": e.get_status_display(),
    }


@router.post("/exemptions", response={201: ExemptionOut, **ERRORS}, summary="申请减免 Apply for an exemption")
def apply_exemption(request, body: ExemptionIn):
    e = fees.exemption_apply(
        actor=request.auth,
        student_id=body.student_id,
        term_id=body.term_id,
        kind=body.kind,
        amount=body.amount,
        reason=body.reason,
    )
    return Status(201, _exemption_out(e))


@router.post("/exemptions/{exemption_id}/decision", response={200: ExemptionOut, **ERRORS}, summary="审批减免 Decide")
def decide_exemption(request, exemption_id: int, body: DecisionIn):
    return _exemption_out(
        fees.exemption_decide(actor=request.auth, exemption_id=exemption_id, approve=body.approve, note=body.note)
    )


@router.get("/exemptions", response={200: ExemptionPage, **ERRORS}, summary="减免（教育局可见）Exemptions")
def list_exemptions(request, filters: Query[BillFilter]):
    qs = fees.exemptions_visible_to(request.auth).select_related("student").order_by("-id")
    if filters.term_id:
        qs = qs.filter(term_id=filters.term_id)
    page = paginate(qs, filters)
    return {"items": [_exemption_out(e) for e in page["items"]], "count": page["count"]}


class RefundOut(Schema):
    id: int
    bill_id: int
    student_name: str
    programme: str | None
    amount: str
    effective_from: Date
    units_not_attended: int
    units_billed: int


class RefundPage(Schema):
    items: list[RefundOut]
    count: int


@router.get("/refunds", response={200: RefundPage, **ERRORS}, summary="退费 Refunds")
def list_refunds(request, filters: Query[BillFilter]):
    qs = fees.refunds_visible_to(request.auth).select_related("bill__student", "application__programme").order_by("-id")
    if filters.term_id:
        qs = qs.filter(bill__term_id=filters.term_id)
    page = paginate(qs, filters)
    return {
        "items": [
            {
                "id": r.pk,
                "bill_id": r.bill_id,
                "student_name": r.bill.student.name,
                "programme": r.application.programme.name if r.application_id else None,
                "amount": _m(r.amount),
                "effective_from": r.effective_from,
                "units_not_attended": r.units_not_attended,
                "units_billed": r.units_billed,
            }
            for r in page["items"]
        ],
        "count": page["count"],
    }


# --- Allocation runs -------------------------------------------------------------------------------------------------


class ComputeIn(Schema):
    until: Date | None = None


class LineOut(Schema):
    staff_id: int
    name: str
    pay_type: str
    pay_label: str
    lessons: int
    weighted_lessons: str
    rate: str | None
    amount: str


class RunOut(Schema):
    id: int
    school_id: int
    term_id: int
    kind: str
    adjusts: int | None
    status: str
    status_label: str
    until: Date
    shares: dict
    kind_weights: dict
    figures: dict[str, str]
    lines: list[LineOut]


def _run_out(run: AllocationRun, lines) -> dict:
    return {
        "id": run.pk,
        "school_id": run.school_id,
        "term_id": run.term_id,
        "kind": run.kind,
        "adjusts": run.adjusts_id,
        "status": run.status,
        "status_label": run.get_status_display(),
        "until": run.until,
        "shares": run.shares,
        "kind_weights": run.kind_weights,
        "figures": {f: _m(getattr(run, f)) for f in fee_allocation.FIGURES},
        "lines": [
            {
                "staff_id": ln.staff_id,
                "name": ln.name,
                "pay_type": ln.pay_type,
                "pay_label": str(fee_exports.PAY_LABELS[ln.pay_type]),
                "lessons": ln.lessons,
                "weighted_lessons": str(ln.weighted_lessons),
                "rate": _m(ln.rate),
                "amount": _m(ln.amount),
            }
            for ln in lines
        ],
    }


@router.post(
    "/terms/{term_id}/allocations",
    response={200: RunOut, **ERRORS},
    summary="计算/重算分配草稿 Compute (or recompute) the draft allocation",
)
def compute_allocation(request, term_id: int, body: ComputeIn):
    run = fee_allocation.run_compute(actor=request.auth, term_id=term_id, until=body.until)
    return _run_out(run, run.lines.all())


@router.get("/allocations/{run_id}", response={200: RunOut, **ERRORS}, summary="分配 An allocation run")
def get_allocation(request, run_id: int):
    run = fee_permissions.access_run(request.auth, run_id)
    return _run_out(run, fee_permissions.lines_visible_to(request.auth, run))


def _step(request, run_id: int, fn):
    run = fn(actor=request.auth, run_id=run_id)
    return _run_out(run, run.lines.all())


@router.post("/allocations/{run_id}/review", response={200: RunOut, **ERRORS}, summary="学校审核 School review")
def review_allocation(request, run_id: int):
    return _step(request, run_id, fee_allocation.run_review)


@router.post("/allocations/{run_id}/approve", response={200: RunOut, **ERRORS}, summary="教育局批准 Bureau approval")
def approve_allocation(request, run_id: int):
    return _step(request, run_id, fee_allocation.run_approve)


@router.post("/allocations/{run_id}/lock", response={200: RunOut, **ERRORS}, summary="锁定 Lock")
def lock_allocation(request, run_id: int):
    return _step(request, run_id, fee_allocation.run_lock)


@router.post(
    "/allocations/{run_id}/adjustments",
    response={200: RunOut, **ERRORS},
    summary="调整已锁定的分配 Adjust a locked run",
)
def adjust_allocation(request, run_id: int):
    return _step(request, run_id, fee_allocation.run_adjust)


# --- Documents -------------------------------------------------------------------------------------------------------


def _file(content: bytes, content_type: str, filename: str) -> HttpResponse:
    from urllib.parse import quote

    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(filename)}"
    return response


def _line_of(request, run_id: int, staff_id: int) -> tuple[AllocationRun, AllocationLine]:
    return fee_permissions.access_statement(request.auth, run_id, staff_id)


def _audit_export(request, run, what: str, staff_id: int | None = None) -> None:
    fees.allocation_export_record(actor=request.auth, run=run, what=what, staff_id=staff_id)


@router.get("/allocations/{run_id}/statements/{staff_id}.pdf", response=ERRORS, summary="个人结算单 PDF")
def statement_pdf(request, run_id: int, staff_id: int):
    run, line = _line_of(request, run_id, staff_id)
    _audit_export(request, run, "statement_pdf", staff_id)
    return _file(fee_exports.statement_pdf(run, line), "application/pdf", f"{_('结算单')}-{line.name}-{run.pk}.pdf")


@router.get("/allocations/{run_id}/statements/{staff_id}.xlsx", response=ERRORS, summary="个人结算单 xlsx")
def statement_xlsx(request, run_id: int, staff_id: int):
    run, line = _line_of(request, run_id, staff_id)
    _audit_export(request, run, "statement_xlsx", staff_id)
    return _file(fee_exports.statement_xlsx(run, line), fee_exports.XLSX, f"{_('结算单')}-{line.name}-{run.pk}.xlsx")


def _run_for_school_docs(request, run_id: int) -> AllocationRun:
    return fee_permissions.access_pay_documents(request.auth, run_id)


@router.get("/allocations/{run_id}/summary.xlsx", response=ERRORS, summary="学校汇总 School summary")
def summary_xlsx(request, run_id: int):
    run = _run_for_school_docs(request, run_id)
    _audit_export(request, run, "summary")
    return _file(fee_exports.summary_xlsx(run), fee_exports.XLSX, f"{_('课后服务费分配汇总')}-{run.pk}.xlsx")


@router.get("/allocations/{run_id}/payroll.xlsx", response=ERRORS, summary="工资发放表 Payroll export")
def payroll_xlsx(request, run_id: int):
    run = _run_for_school_docs(request, run_id)
    content = fee_exports.payroll_xlsx(run)
    _audit_export(request, run, "payroll")
    return _file(content, fee_exports.XLSX, f"{_('课后服务课酬发放表')}-{run.pk}.xlsx")
