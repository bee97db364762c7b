"""Counts for the cards of a page, one query per table.

A page that shows several counts (a role's home: complaints to accept, visits today, bills to pay …) asks each
owning app for its *slices*: a scoped queryset and named filters on it. The slices of one queryset are counted in
one query by conditional aggregation (`COUNT(*) FILTER (WHERE …)`), so the page's queries do not grow with the data.

Measured (bench/README.md): folding every table's counts into one SELECT of scalar subqueries made fewer round
trips but cost more in all (a handler's counts 67 ms against 43 ms on a busy machine: each subquery compiles and
scans its scope again), so each table keeps its own aggregate.
"""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet

Slices = tuple[QuerySet, dict[str, Q]]


def count_slices(slices: Slices) -> dict[str, int]:
    """{slice: how many rows of the queryset match it}, in one query (none when there is no slice)."""
    queryset, filters = slices
    if not filters:
        return {}
    return queryset.order_by().aggregate(**{name: Count("pk", filter=q) for name, q in filters.items()})
