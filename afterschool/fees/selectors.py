"""Reads of fees for the API and the pages: allocation runs of the schools one may read, a term's bill totals."""

from __future__ import annotations

from django.db.models import Sum

from afterschool.schedule.models import Term
from afterschool.schedule.selectors import schools_visible_to
from core.money import ZERO

from .models import AllocationRun, Bill


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
