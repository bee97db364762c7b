"""Reads of fees for the API and the pages: allocation runs of the schools one may read, a term's bill totals."""

from __future__ import annotations

from django.db.models import DecimalField, F, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from accounts import scope
from accounts.models import Role
from afterschool.schedule.models import Term
from afterschool.schedule.selectors import schools_visible_to
from core.money import ZERO

from .models import AllocationRun, Bill, Exemption, Payment, Refund


def runs_visible_to(user):
    """Allocation runs of the schools the user may read (their figures; who sees the pay lines: permissions)."""
    return AllocationRun.objects.filter(school__in=schools_visible_to(user))


def term_bill_totals(term: Term) -> dict:
    """{"bills": how many bills the term has, "paid": the payments on them}: two aggregate queries."""
    bills = Bill.objects.filter(term=term)
    return {"bills": bills.count(), "paid": bills.aggregate(s=Sum("payments__amount"))["s"] or ZERO}


def runs_of_term(term: Term):
    return term.allocation_runs.order_by("id")


def terms_readable(user):
    """Terms of the schools a user may read (their school; the bureau: its towns; district: all)."""
    return Term.objects.filter(school__in=schools_visible_to(user))


# --- The work waiting (home cards) ----------------------------------------------------------------------------------


def exemption_slices(user):
    """Reductions applied for at the schools the user administers (the school approves them)."""
    schools = scope.school_ids(user, Role.SCHOOL_ADMIN)
    return Exemption.objects.filter(school_id__in=schools), ({"applied": Q(status=Exemption.Status.APPLIED)}
                                                              if schools else {})  # fmt: skip


def run_slices(user):
    """Allocation runs of the schools the user administers still in draft (the school reviews them)."""
    schools = scope.school_ids(user, Role.SCHOOL_ADMIN)
    return AllocationRun.objects.filter(school_id__in=schools), ({"draft": Q(status=AllocationRun.Status.DRAFT)}
                                                                 if schools else {})  # fmt: skip


def bill_slices(user):
    return bills_to_pay(user), ({"to_pay": Q()} if getattr(user, "pk", None) else {})


def fee_counts_for_admin(user) -> dict[str, int]:
    """What fees ask of a school's admins: reductions applied for (the school approves them) and allocation runs
    still in draft (the school reviews them). Two queries (two tables)."""
    schools = scope.school_ids(user, Role.SCHOOL_ADMIN)
    if not schools:
        return {}
    return {
        "exemptions": Exemption.objects.filter(school_id__in=schools, status=Exemption.Status.APPLIED).count(),
        "runs": AllocationRun.objects.filter(school_id__in=schools, status=AllocationRun.Status.DRAFT).count(),
    }


def _sum_of(model, amount="amount"):
    rows = model.objects.filter(bill=OuterRef("pk")).order_by().values("bill").annotate(s=Sum(amount)).values("s")
    return Coalesce(Subquery(rows, output_field=DecimalField()), Value(ZERO), output_field=DecimalField())


def bills_to_pay(user):
    """The bills of a parent's children with money still owed: the amount less refunds and payments."""
    return (
        Bill.objects.filter(student__guardians=user, student__is_active=True)
        .annotate(owed=F("amount") - _sum_of(Refund) - _sum_of(Payment))
        .filter(owed__gt=0)
    )


def bill_counts_for_parent(user) -> dict[str, int]:
    """{"to_pay": bills with money owed} (one query)."""
    if not getattr(user, "pk", None):
        return {}
    return {"to_pay": bills_to_pay(user).count()}
