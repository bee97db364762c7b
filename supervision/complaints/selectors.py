"""Reads of complaints, already scoped to who asks (DESIGN.md): what is not theirs does not exist for them.

- a parent: their own complaints;
- bureau staff: complaints about institutions of their towns, and any complaint they handle;
- the district supervisor (bureau admin of the district): every complaint of the district;
- institution staff: no complaint at all, only the statement requests addressed to their institution;
- anyone else (inspectors, schools): nothing.
"""

from __future__ import annotations

from datetime import timedelta

from django.db.models import Q, QuerySet
from django.utils import timezone

from accounts.models import Role
from accounts.scope import has_role, institution_ids, is_bureau, town_ids
from core.cache import ProcessTTLCache

from .models import OPEN_STATUSES, Complaint, ComplaintCategory, ComplaintStatus, StatementRequest

DUPLICATE_WINDOW_DAYS = 30

_categories = ProcessTTLCache(1)


def category_names(category_id: int) -> tuple[str, str]:
    """(code, Chinese name) of a category, active or not, from a per-process table refreshed every minute."""
    table = _categories.get("names")
    if table is None or category_id not in table:
        table = {pk: (code, name) for pk, code, name in ComplaintCategory.objects.values_list("pk", "code", "name_zh")}
        _categories.put("names", table, 60)
    return table.get(category_id, ("", ""))


def clear_category_names() -> None:
    _categories.clear()


def complaint_scope(user) -> Q | None:
    """The filter of what `user` may see, or None for nothing. A handler sees the towns they cover (whoever handles
    a complaint covers its town: assignment and routing check it), so the filter is one indexed condition."""
    if not getattr(user, "pk", None):
        return None
    if not is_bureau(user):
        return Q(parent_id=user.pk)
    scope = Q(town_id__in=town_ids(user))
    if has_role(user, Role.PARENT):
        scope |= Q(parent_id=user.pk)
    return scope


def complaints_visible_to(user) -> QuerySet[Complaint]:
    scope = complaint_scope(user)
    if scope is None:
        return Complaint.objects.none()
    return Complaint.objects.filter(scope)


def complaint_list_for(
    user,
    *,
    status: str | None = None,
    mine: bool = False,
    queue: bool = False,
    overdue: bool = False,
    q: str | None = None,
) -> QuerySet[Complaint]:
    """The list a parent or a handler sees, with what each row shows joined in (a fixed number of queries)."""
    qs = complaints_visible_to(user)
    if status:
        qs = qs.filter(status=status)
    if mine:
        qs = qs.filter(handler_id=user.pk)
    if queue:
        qs = qs.filter(handler__isnull=True, status__in=OPEN_STATUSES)
    if overdue:
        qs = qs.filter(status__in=OPEN_STATUSES, sla_due_on__lt=timezone.localdate(), paused_since__isnull=True)
    if q:
        qs = qs.filter(Q(tracking_number__icontains=q) | Q(institution__name__icontains=q))
    return qs.order_by("-created_at", "-id")


def complaint_detail(pk: int) -> Complaint:
    return (
        Complaint.objects.select_related("category", "institution", "town", "handler", "parent", "merged_into")
        .prefetch_related("photos")
        .get(pk=pk)
    )


def possible_duplicates(complaint: Complaint) -> QuerySet[Complaint]:
    """Same institution and category within 30 days, open or recently closed (shown to the handler)."""
    window = timedelta(days=DUPLICATE_WINDOW_DAYS)
    recent = Q(status__in=OPEN_STATUSES) | Q(
        status__in=[ComplaintStatus.ANSWERED, ComplaintStatus.CLOSED], updated_at__gte=timezone.now() - window
    )
    return (
        Complaint.objects.filter(
            institution_id=complaint.institution_id,
            category_id=complaint.category_id,
            created_at__gte=complaint.created_at - window,
            created_at__lte=complaint.created_at + window,
            merged_into__isnull=True,
        )
        .filter(recent)
        .exclude(pk=complaint.pk)
        .order_by("created_at", "id")
    )


def statements_visible_to(user) -> QuerySet[StatementRequest]:
    """Institution staff see the requests addressed to their institutions; nothing else of the complaint."""
    if not getattr(user, "pk", None):
        return StatementRequest.objects.none()
    ids = institution_ids(user)
    if not ids:
        return StatementRequest.objects.none()
    return StatementRequest.objects.filter(institution_id__in=ids).select_related(
        "institution", "complaint__category", "complaint__parent"
    )
