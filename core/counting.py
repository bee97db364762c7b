"""Many counts in one round trip to the database.

A page that shows several counts (a role's home: complaints to accept, visits today, bills to pay …) asks each
owning app for its *slices*: a scoped queryset and named filters on it. Each slice becomes a scalar subquery
`(SELECT COUNT(*) FROM … WHERE scope AND filter)` of one SELECT, so the page pays one round trip whatever the number
of cards and of rows; every subquery reads through the tables' indexes like the query it replaces. (Where a single
table serves several cards, `Count(…, filter=Q(…))` in one aggregate is the other way to say the same: the apps'
`*_counts` functions do that when one domain is asked alone.)
"""

from __future__ import annotations

from django.db.models import F, Func, IntegerField, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce

Slices = tuple[QuerySet, dict[str, Q]]


class _RowCount(Func):
    """COUNT over the subquery's rows, as a plain function: Django adds no GROUP BY, so it answers one row."""

    function = "COUNT"
    output_field = IntegerField()


def count_of(queryset: QuerySet, condition: Q | None = None):
    """An expression: how many rows of `queryset` (narrowed by `condition`) there are; 0 when none."""
    qs = queryset.filter(condition) if condition is not None else queryset
    inner = qs.order_by().annotate(_rows=_RowCount(F("pk"))).values("_rows")
    return Coalesce(Subquery(inner, output_field=IntegerField()), Value(0))


def counts_at_once(base: QuerySet, groups: dict[str, Slices]) -> dict[str, dict[str, int]]:
    """{group: {slice: count}} for every slice of every group, in one query read from one row of `base` (a queryset
    that has exactly one row, e.g. the signed-in user's)."""
    names: dict[str, tuple[str, str]] = {}
    expressions = {}
    for group, (qs, filters) in groups.items():
        for name, condition in filters.items():
            alias = f"count_{len(names)}"
            names[alias] = (group, name)
            expressions[alias] = count_of(qs, condition)
    out: dict[str, dict[str, int]] = {group: {} for group in groups}
    if not expressions:
        return out
    row = base.order_by().values(**expressions).first() or {}
    for alias, (group, name) in names.items():
        out[group][name] = row.get(alias) or 0
    return out
