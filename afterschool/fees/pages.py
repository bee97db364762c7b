"""The fee pages of a school's admins and the bureau (phone first), over the same services as the API: a term's
fees (the rate; the bills, with a prompt to issue them again when enrolments changed; exemptions to decide, with the
family's document; refunds; the school's accounts and the bank statement import, every row that names no bill
listed; subsidy and other income; the allocation plan and its runs), the bills of a term, the workflow buttons of a
run (review by the school, approval and locking by the bureau, an adjustment), and the bureau's approvals.

A school's admins act on their school's terms; the bureau's fee approvers of its town read them, add the subsidy and
approve; anyone else gets 404."""

from __future__ import annotations

from datetime import date

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Count, Sum
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext
from django.views.decorators.http import require_http_methods, require_safe

from accounts import scope
from accounts.models import Role
from afterschool.schedule.calendar import provisional_years_of
from afterschool.schedule.models import Term
from afterschool.schedule.views import signed_in
from core.errors import DomainError, NotFound
from core.money import ZERO

from . import allocation as fee_allocation
from . import bank
from . import services as fee_services
from .models import AllocationRun, Bill, Exemption, OtherIncome, Payment, Refund, SchoolAccount, Subsidy
from .permissions import APPROVER_ROLES


def _term(user, term_id: int) -> tuple[Term, bool, bool]:
    """(the term, the user administers its school, the user is a fee approver of its town), or 404."""
    term = Term.objects.select_related("school__town").filter(pk=term_id).first()
    if term is None:
        raise NotFound
    admin = term.school_id in scope.school_ids(user, Role.SCHOOL_ADMIN)
    bureau = term.school.town_id in scope.town_ids(user, *APPROVER_ROLES)
    if not admin and not bureau:
        raise NotFound
    return term, admin, bureau


def _provisional(term: Term) -> dict:
    """The term's years whose holidays are not entered yet: its bills' lessons and amounts are provisional."""
    return {"provisional_years": provisional_years_of(term)}


def _errors(exc: DomainError) -> dict[str, str]:
    return dict(exc.field_messages())


def _term_context(term: Term, admin: bool, bureau: bool) -> dict:
    bills = Bill.objects.filter(term=term)
    sums = bills.aggregate(n=Count("id"), amount=Sum("amount"), exempted=Sum("exempted"))
    paid = Payment.objects.filter(bill__term=term).aggregate(s=Sum("amount"))["s"] or ZERO
    refunded = Refund.objects.filter(bill__term=term).aggregate(s=Sum("amount"))["s"] or ZERO
    amount = sums["amount"] or ZERO
    runs = list(term.allocation_runs.order_by("id"))
    plan = getattr(term, "allocation_plan", None)  # None before a plan is set
    return {
        "term": term,
        "school": term.school,
        "is_admin": admin,
        "is_bureau": bureau,
        "rate": getattr(term, "fee_rate", None),
        "bill_count": sums["n"],
        "billed": amount,
        "exempted": sums["exempted"] or ZERO,
        "paid": paid,
        "refunded": refunded,
        "owed": amount - paid - refunded,
        "changes": fee_services.bills_changes(term) if admin else None,
        "exemptions": list(
            Exemption.objects.filter(term=term).select_related("student__school_class").order_by("status", "-id")[:100]
        ),
        "refunds": list(
            Refund.objects.filter(bill__term=term).select_related("bill__student").order_by("-created_at")[:50]
        ),
        "accounts": list(SchoolAccount.objects.filter(school_id=term.school_id).order_by("id")),
        "subsidies": list(Subsidy.objects.filter(term=term).order_by("id")),
        "other_income": list(OtherIncome.objects.filter(term=term).order_by("id")),
        "plan": plan,
        "runs": runs,
        "open_run": next((r for r in runs if r.status != AllocationRun.Status.LOCKED), None),
        "default_until": fee_allocation.default_until(term),
        "payments": list(
            Payment.objects.filter(bill__term=term).select_related("bill__student").order_by("-recorded_at", "-id")[:20]
        ),
        **_provisional(term),
    }


def _render_term(request, term, admin, bureau, *, status=200, **extra):
    context = _term_context(term, admin, bureau)
    context.update(extra)
    context.setdefault("errors", {})
    return render(request, "afterschool/fees/term.html", context, status=status)


@require_safe
@signed_in
def term_page(request, term_id: int):
    term, admin, bureau = _term(request.user, term_id)
    return _render_term(request, term, admin, bureau)


ACTIONS = (
    "rate",
    "issue_bills",
    "decide_exemption",
    "add_account",
    "import_statement",
    "add_other",
    "add_subsidy",
    "set_plan",
    "compute",
)


@require_http_methods(["POST"])
@signed_in
def term_action(request, term_id: int, action: str):
    """One form of the term's page: the service's refusal comes back on the page beside its field (422/409)."""
    if action not in ACTIONS:
        raise Http404
    term, admin, bureau = _term(request.user, term_id)
    if (action == "add_subsidy" and not bureau) or (action != "add_subsidy" and not admin):
        raise Http404
    post, user = request.POST, request.user
    try:
        if action == "rate":
            fee_services.rate_set(actor=user, term_id=term.pk, basis=post.get("basis", ""),
                                  amount=post.get("amount") or None)  # fmt: skip
            messages.success(request, gettext("收费标准已保存；如已出具账单，请重新出具。"))
        elif action == "issue_bills":
            result = fee_services.bills_issue(actor=user, term_id=term.pk)
            messages.success(request, gettext("已出具 {n} 张账单，合计 {total} 元。").format(
                n=result["bills"], total=result["total"]))  # fmt: skip
        elif action == "decide_exemption":
            fee_services.exemption_decide(
                actor=user,
                exemption_id=_int(post.get("exemption_id")),
                approve=post.get("decision") == "approve",
                note=post.get("note", ""),
            )
            messages.success(request, gettext("减免申请已审批。"))
        elif action == "add_account":
            fee_services.account_create(actor=user, school_id=term.school_id, bank=post.get("bank", ""),
                                        account_name=post.get("account_name", ""),
                                        account_number=post.get("account_number", ""))  # fmt: skip
            messages.success(request, gettext("收费账户已登记。"))
        elif action == "import_statement":
            upload = request.FILES.get("file")
            if upload is None:
                raise DomainError("fee.statement_missing", gettext("请选择银行流水文件"), status=422,
                                  fields={"file": gettext("请选择银行流水文件")})  # fmt: skip
            result = bank.payments_import(actor=user, term_id=term.pk, account_id=_int(post.get("account_id")) or 0,
                                          upload=upload)  # fmt: skip
            return _render_term(request, term, admin, bureau, imported=result)
        elif action == "add_other":
            fee_services.other_income_add(actor=user, term_id=term.pk, amount=post.get("amount", ""),
                                          source=post.get("source", ""))  # fmt: skip
            messages.success(request, gettext("其他收入已登记。"))
        elif action == "add_subsidy":
            fee_services.subsidy_add(actor=user, term_id=term.pk, amount=post.get("amount", ""),
                                     note=post.get("note", ""))  # fmt: skip
            messages.success(request, gettext("财政补助已登记。"))
        elif action == "set_plan":
            shares = {k: post.get(k, "0") or "0" for k in fee_allocation.SHARE_KEYS}
            fee_allocation.plan_set(actor=user, term_id=term.pk, shares=shares)
            messages.success(request, gettext("分配方案已保存。"))
        elif action == "compute":
            until = _date(post.get("until"))
            run = fee_allocation.run_compute(actor=user, term_id=term.pk, until=until)
            messages.success(request, gettext("已计算分配，请核对后提交审核。"))
            return redirect("afterschool-fee-run", run_id=run.pk)
    except NotFound:
        raise
    except DomainError as exc:
        return _render_term(request, term, admin, bureau, status=exc.status, action=action, message=exc.message(),
                            errors=_errors(exc), values=post)  # fmt: skip
    return redirect("afterschool-fee-term", term_id=term.pk)


def _int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _date(value) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        raise DomainError("fee.bad_date", gettext("日期格式不正确"), status=422,
                          fields={"until": gettext("日期格式不正确")}) from None  # fmt: skip


@require_safe
@signed_in
def bills_page(request, term_id: int):
    """The bills of a term, 50 a page, owed first when asked (`?owed=1`); each with its payment code."""
    term, admin, bureau = _term(request.user, term_id)
    owed_only = request.GET.get("owed") == "1"
    qs = fee_services.bills_with_owed(Bill.objects.filter(term=term), owed_only=owed_only)
    rows = qs.select_related("student__school_class").order_by(
        "student__school_class__grade", "student__school_class__number", "student__name", "id"
    )
    page = Paginator(rows, 50).get_page(request.GET.get("page"))
    bills = list(page)
    for b in bills:
        b.code = bank.payment_code(b)
    return render(
        request,
        "afterschool/fees/bills.html",
        {"term": term, "page": page, "bills": bills, "owed_only": owed_only, **_provisional(term)},
    )


STEPS = {
    "review": fee_allocation.run_review,
    "approve": fee_allocation.run_approve,
    "lock": fee_allocation.run_lock,
    "adjust": fee_allocation.run_adjust,
}


@require_http_methods(["POST"])
@signed_in
def run_step(request, run_id: int, step: str):
    """The run's workflow: the school reviews, the bureau approves and locks; a locked run is corrected by an
    adjustment. The service says who may do what (anyone else: 404)."""
    fn = STEPS.get(step)
    if fn is None:
        raise Http404
    try:
        run = fn(actor=request.user, run_id=run_id)
    except NotFound:
        raise
    except DomainError as exc:
        messages.error(request, exc.message())
        return redirect("afterschool-fee-run", run_id=run_id)
    labels = {
        "review": gettext("已提交教育局审批。"),
        "approve": gettext("已批准。"),
        "lock": gettext("已锁定，可导出工资发放表。"),
        "adjust": gettext("已发起调整。"),
    }
    messages.success(request, labels[step])
    return redirect("afterschool-fee-run", run_id=run.pk)


@require_safe
@signed_in
def approvals(request):
    """The bureau's fee approvers: runs of their towns' schools waiting for approval or locking, then the terms whose
    subsidy they enter (each term's page)."""
    towns = scope.town_ids(request.user, *APPROVER_ROLES)
    if not towns:
        raise Http404
    waiting = list(
        AllocationRun.objects.filter(
            school__town_id__in=towns, status__in=[AllocationRun.Status.REVIEWED, AllocationRun.Status.APPROVED]
        )
        .select_related("school", "term")
        .order_by("status", "reviewed_at", "id")[:100]
    )
    terms = Paginator(
        Term.objects.filter(school__town_id__in=towns)
        .select_related("school")
        .annotate(subsidy=Sum("fee_subsidies__amount"), runs=Count("allocation_runs", distinct=True))
        .order_by("-starts_on", "school__name", "id"),
        30,
    ).get_page(request.GET.get("page"))
    return render(request, "afterschool/fees/approvals.html", {"waiting": waiting, "page": terms})


def run_actions(user, run: AllocationRun) -> list[tuple[str, str]]:
    """The workflow buttons the user may press on this run: [(step, label)]."""
    admin = run.school_id in scope.school_ids(user, Role.SCHOOL_ADMIN)
    bureau = run.school.town_id in scope.town_ids(user, *APPROVER_ROLES)
    S = AllocationRun.Status
    out = []
    if admin and run.status == S.DRAFT:
        out.append(("review", gettext("审核并提交教育局")))
    if bureau and run.status == S.REVIEWED:
        out.append(("approve", gettext("批准")))
    if bureau and run.status == S.APPROVED:
        out.append(("lock", gettext("锁定")))
    if admin and run.status == S.LOCKED and not run.term.allocation_runs.exclude(status=S.LOCKED).exists():
        out.append(("adjust", gettext("发起调整")))
    return out
