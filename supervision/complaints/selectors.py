"""Reads of complaints, already scoped to who asks (DESIGN.md): what is not theirs does not exist for them.

- a parent: their own complaints;
- bureau staff: complaints about institutions of their towns, and any complaint they handle;
- the district supervisor (bureau admin of the district): every complaint of the district;
- institution staff: no complaint at all, only the statement requests addressed to their institution;
- anyone else (inspectors, schools): nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db.models import Count, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

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


# --- The work waiting (home cards) and the lists behind them --------------------------------------------------------


def work_filters(user, today: date) -> dict[str, Q]:
    """The named slices of `complaints_visible_to(user)` that a home card counts and a list page shows, so the count
    and the list cannot disagree. Each is narrower than the scope, never wider:

    - a parent's own: `mine` (all), `mine_open`, `to_rate` (answered, waiting for their rating), `to_supplement`
      (the handler asked them for more: the clock is paused until they answer);
    - a handler's (bureau staff or admin, in the towns they cover; theirs or still unassigned): `to_accept`
      (submitted), `due_soon` (the running clock ends today or by the next working day), `overdue`;
    - the towns' (bureau): `district_overdue` (every overdue complaint of their towns), `open`.
    """
    from .sla import add_working_days  # the working-day calendar of the deadlines (core.workdays, cached)

    filters: dict[str, Q] = {}
    if not getattr(user, "pk", None):
        return filters
    if has_role(user, Role.PARENT):
        mine = Q(parent_id=user.pk)
        filters.update(
            mine=mine,
            mine_open=mine & Q(status__in=OPEN_STATUSES),
            to_rate=mine & Q(status=ComplaintStatus.ANSWERED),
            to_supplement=mine & Q(status__in=OPEN_STATUSES, paused_since__isnull=False),
        )
    if is_bureau(user):
        towns = Q(town_id__in=town_ids(user))
        theirs = towns & (Q(handler_id=user.pk) | Q(handler__isnull=True))
        running = Q(status__in=OPEN_STATUSES, paused_since__isnull=True, sla_due_on__isnull=False)
        overdue = running & Q(sla_due_on__lt=today)
        filters.update(
            to_accept=theirs & Q(status=ComplaintStatus.SUBMITTED),
            due_soon=theirs & running & Q(sla_due_on__gte=today, sla_due_on__lte=add_working_days(today, 1)),
            overdue=theirs & overdue,
            district_overdue=towns & overdue,
            open=towns & Q(status__in=OPEN_STATUSES),
        )
    return filters


def complaint_slices(user, today: date) -> tuple[QuerySet[Complaint], dict[str, Q]]:
    """What a home counts of complaints: the user's scope and its named slices (core.counting)."""
    return complaints_visible_to(user), work_filters(user, today)


def statement_slices(user) -> tuple[QuerySet[StatementRequest], dict[str, Q]]:
    """Institution staff: the statement requests waiting for their institution's answer."""
    return statements_visible_to(user), {"open": Q(state=StatementRequest.State.OPEN)}


def complaint_counts(user, today: date) -> dict[str, int]:
    """{slice name: how many} for every slice of `work_filters`: one query, whatever the number of complaints."""
    filters = work_filters(user, today)
    if not filters:
        return {}
    return complaints_visible_to(user).aggregate(**{name: Count("pk", filter=q) for name, q in filters.items()})


def complaint_work_list(user, name: str, today: date) -> QuerySet[Complaint] | None:
    """The complaints behind one card (None when the slice is not the user's), with what a row shows: the deadline
    slices soonest first, the others newest first."""
    q = work_filters(user, today).get(name)
    if q is None:
        return None
    return (
        complaints_visible_to(user)
        .filter(q)
        .select_related("institution", "category", "town", "handler")
        .order_by("sla_due_on" if name in ("due_soon", "overdue", "district_overdue") else "-created_at", "-id")
    )


def statement_counts(user) -> dict[str, int]:
    """{"open": statement requests waiting} (one query)."""
    qs, filters = statement_slices(user)
    return qs.aggregate(**{n: Count("pk", filter=q) for n, q in filters.items()})


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


# --- The parent's page (issue 17): the timeline of a complaint ------------------------------------------------------

# The events a parent follows, by audit verb, with what the timeline says. Who acted is never shown (no staff name,
# no institution staff): a state and its time. Verbs not listed (views of personal data, warnings, statements the
# institution was asked for) stay off the parent's timeline.
TIMELINE_VERBS = {
    "complaint.submit": _("已提交"),
    "complaint.accept": _("已受理"),
    "complaint.reject": _("不予受理"),
    "complaint.merge": _("与另一件投诉合并办理"),
    "complaint.assign": _("已分派承办人"),
    "complaint.start": _("开始调查"),
    "complaint.pause": _("承办人请您补充材料（暂停计时）"),
    "complaint.resume": _("您已补充材料（恢复计时）"),
    "complaint.supplement": _("您补充了材料"),
    "complaint.escalate": _("已超期，上报区级督办"),
    "complaint.answer": _("已答复"),
    "complaint.outcome_shared": _("已同步合并投诉的处理结果"),
    "complaint.reopen": _("您申请重新办理"),
    "complaint.rate": _("您已评价，投诉办结"),
    "complaint.auto_close": _("答复后未评价，自动办结"),
}


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    verb: str
    label: object
    photos: int = 0


def complaint_timeline(complaint: Complaint) -> list[TimelineEntry]:
    """The steps of one complaint, oldest first, from its audit trail (one query)."""
    from core.models import AuditEvent

    rows = AuditEvent.objects.filter(
        object_type=Complaint._meta.label_lower, object_id=str(complaint.pk), verb__in=list(TIMELINE_VERBS)
    ).order_by("at", "id")
    return [
        TimelineEntry(e.at, e.verb, TIMELINE_VERBS[e.verb], int((e.data or {}).get("photos") or 0))
        for e in rows.only("at", "verb", "data")
    ]


def complaint_messages(complaint: Complaint):
    """The thread between the parent and the bureau, oldest first."""
    return complaint.messages.order_by("created_at", "id")


def statement_evidence_visible_to(user, evidence_id: int, request_id: int):
    """A statement's evidence for who may see it: staff of the institution asked, and bureau staff covering the
    complaint's town; None for anyone else (the parent included: it is the institution's account to the bureau)."""
    from .models import StatementEvidence

    row = (
        StatementEvidence.objects.select_related("request__complaint")
        .filter(pk=evidence_id, request_id=request_id)
        .first()
    )
    if row is None or not getattr(user, "pk", None):
        return None
    if row.request.institution_id in institution_ids(user):
        return row
    if is_bureau(user) and row.request.complaint.town_id in town_ids(user):
        return row
    return None
