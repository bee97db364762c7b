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
from urllib.parse import urlencode

from django.db.models import Avg, Count, F, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Role, User
from accounts.scope import has_role, institution_ids, is_bureau, town_ids, users_covering_town
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
        Complaint.objects.select_related(
            "category", "institution", "town", "handler", "parent", "merged_into", "open311", "hotline_order"
        )
        .prefetch_related("photos")
        .get(pk=pk)
    )


def eligible_handlers(complaint: Complaint) -> list[tuple[int, str]]:
    """The colleagues a complaint may be assigned to (the desk's picker): active bureau staff and admins whose region
    covers its town (accounts.scope, the same rule `complaint_act(action="assign")` checks), but its handler."""
    ids = set(users_covering_town(complaint.town_id)) - {complaint.handler_id}
    return list(User.objects.filter(pk__in=ids, is_active=True).order_by("name", "pk").values_list("pk", "name"))


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


def parent_timeline(complaint: Complaint) -> list[TimelineEntry]:
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


# --- The handler's desk: the queue with its filters and counts, a complaint's timeline, the supervisor's board -------

DESK_DEADLINES = ("due_soon", "overdue", "paused")
DESK_FLAGS = ("theirs", "mine", "unassigned", "answered", "on_time", "late", "reopened", "rated")
DESK_PERIODS = (30, 90, 365)


def _int_or_none(raw) -> int | None:
    return int(raw) if isinstance(raw, str) and raw.isdigit() and len(raw) < 12 else None


@dataclass(frozen=True)
class DeskFilters:
    """What the queue is narrowed to, read from the query string (unknown values are ignored, never an error).
    `state` is a status, "open" (every open status) or "" (all); an empty query means the open ones."""

    state: str = "open"
    category: str = ""
    town: int | None = None
    institution: int | None = None
    handler: int | None = None
    deadline: str = ""
    flag: str = ""
    days: int | None = None
    q: str = ""

    @classmethod
    def from_query(cls, query) -> DeskFilters:
        if not any(query.get(k) for k in ("state", "category", "town", "institution", "handler", "deadline", "flag",
                                          "days", "q")):  # fmt: skip
            return cls()
        state = query.get("state", "")
        days = _int_or_none(query.get("days"))
        return cls(
            state=state if state in ComplaintStatus.values or state == "open" else "",
            category=query.get("category", "")[:30],
            town=_int_or_none(query.get("town")),
            institution=_int_or_none(query.get("institution")),
            handler=_int_or_none(query.get("handler")),
            deadline=query.get("deadline", "") if query.get("deadline") in DESK_DEADLINES else "",
            flag=query.get("flag", "") if query.get("flag") in DESK_FLAGS else "",
            days=days if days and days <= 3660 else None,
            q=query.get("q", "").strip()[:40],
        )

    def query(self, **change) -> str:
        """The query string of these filters with `change` applied (None or "" drops a filter), page reset."""
        values = {**self.__dict__, **change}
        values["state"] = values["state"] or "all"
        return urlencode({k: v for k, v in values.items() if v not in (None, "")})


def _running() -> Q:
    return Q(status__in=OPEN_STATUSES, paused_since__isnull=True, sla_due_on__isnull=False)


def deadline_q(name: str, today: date) -> Q:
    from .sla import add_working_days

    if name == "due_soon":
        return _running() & Q(sla_due_on__gte=today, sla_due_on__lte=add_working_days(today, 1))
    if name == "overdue":
        return _running() & Q(sla_due_on__lt=today)
    return Q(status__in=OPEN_STATUSES, paused_since__isnull=False)  # paused: waiting for the parent


def flag_q(name: str, user) -> Q:
    return {
        "theirs": Q(handler_id=user.pk) | Q(handler__isnull=True),  # a handler's own work (home cards)
        "mine": Q(handler_id=user.pk),
        "unassigned": Q(handler__isnull=True, status__in=OPEN_STATUSES),
        "answered": Q(answered_on_time__isnull=False),
        "on_time": Q(answered_on_time=True),
        "late": Q(answered_on_time=False),
        "reopened": Q(reopened_at__isnull=False),
        "rated": Q(rating__isnull=False),
    }[name]


def desk_q(user, f: DeskFilters, today: date, *, skip: tuple[str, ...] = ()) -> Q:
    """The condition of the filters (but those in `skip`: a facet's counts ignore its own choice)."""
    q = Q()
    if f.state and "state" not in skip:
        q &= Q(status__in=OPEN_STATUSES) if f.state == "open" else Q(status=f.state)
    if f.category and "category" not in skip:
        q &= Q(category__code=f.category)
    if f.town and "town" not in skip:
        q &= Q(town_id=f.town)
    if f.institution:
        q &= Q(institution_id=f.institution)
    if f.handler:
        q &= Q(handler_id=f.handler)
    if f.deadline and "deadline" not in skip:
        q &= deadline_q(f.deadline, today)
    if f.flag and "flag" not in skip:
        q &= flag_q(f.flag, user)
    if f.days:
        q &= Q(created_at__gte=timezone.now() - timedelta(days=f.days))
    if f.q:
        q &= Q(tracking_number__icontains=f.q) | Q(institution__name__icontains=f.q)
    return q


def desk_queue(user, f: DeskFilters, today: date) -> QuerySet[Complaint]:
    """The queue's rows: soonest deadline first (none last), then newest, with what a row shows joined in."""
    return (
        complaints_visible_to(user)
        .filter(desk_q(user, f, today))
        .select_related("institution", "category", "town", "handler")
        .only(
            "id", "tracking_number", "status", "sla_due_on", "sla_started_on", "paused_since", "created_at", "town_id",
            "handler_id",
            "institution_id", "category_id", "institution__name", "category__name_zh", "category__name_en",
            "town__name", "handler__name", "version",
        )
        .order_by(F("sla_due_on").asc(nulls_last=True), "-created_at", "-id")
    )  # fmt: skip


def desk_counts(user, f: DeskFilters, today: date) -> dict[str, dict]:
    """How many complaints each choice of each filter would show, the other filters applied: {"state": {status:
    n, "open": n, "all": n}, "category": {code: n}, "town": {id: n}, "deadline": {name: n}, "flag": {name: n}}.
    Four queries, whatever the data."""
    scoped = complaints_visible_to(user).order_by()
    states = dict(scoped.filter(desk_q(user, f, today, skip=("state",))).values_list("status").annotate(Count("pk")))
    states["open"] = sum(n for s, n in states.items() if s in OPEN_STATUSES)
    states["all"] = sum(n for s, n in states.items() if s in ComplaintStatus.values)
    categories = {
        category_names(pk)[0]: n
        for pk, n in scoped.filter(desk_q(user, f, today, skip=("category",)))
        .values_list("category_id")
        .annotate(Count("pk"))
    }
    towns = dict(scoped.filter(desk_q(user, f, today, skip=("town",))).values_list("town_id").annotate(Count("pk")))
    slices = {f"deadline:{name}": deadline_q(name, today) for name in DESK_DEADLINES}
    slices |= {f"flag:{name}": flag_q(name, user) for name in ("theirs", "mine", "unassigned", "reopened")}
    found = scoped.filter(desk_q(user, f, today, skip=("deadline", "flag"))).aggregate(
        **{name.replace(":", "__"): Count("pk", filter=q) for name, q in slices.items()}
    )
    return {
        "state": states,
        "category": categories,
        "town": towns,
        "deadline": {k.split("__")[1]: v for k, v in found.items() if k.startswith("deadline__")},
        "flag": {k.split("__")[1]: v for k, v in found.items() if k.startswith("flag__")},
    }


@dataclass
class TimelineItem:
    at: datetime
    kind: str  # "event" or "message"
    verb: str = ""
    who: str = ""
    side: str = ""
    text: str = ""
    data: dict | None = None
    statement: StatementRequest | None = None
    from_state: str = ""
    to_state: str = ""


def staff_timeline(complaint: Complaint) -> list[TimelineItem]:
    """Every event of the complaint, oldest first: its audit events (and those of its statement requests, with the
    request's question and the institution's answer), and the messages of its thread. Three queries."""
    from core.models import AuditEvent

    statements = {str(s.pk): s for s in complaint.statement_requests.all()}
    events = AuditEvent.objects.filter(
        Q(object_type=Complaint._meta.label_lower, object_id=str(complaint.pk))
        | Q(object_type=StatementRequest._meta.label_lower, object_id__in=list(statements))
    ).select_related("actor")
    items = [
        TimelineItem(
            at=e.at, kind="event", verb=e.verb, who=e.actor.name if e.actor_id else "", data=e.data,
            statement=statements.get(e.object_id) if e.object_type != Complaint._meta.label_lower else None,
            from_state=e.from_state, to_state=e.to_state,
        )
        for e in events
    ]  # fmt: skip
    for m in complaint.messages.select_related("author"):
        items.append(
            TimelineItem(
                at=m.created_at,
                kind="message",
                who=m.author.name,
                side=m.side,
                text=m.body,
                data={"awaiting_parent": m.awaiting_parent},
            )
        )
    items.sort(key=lambda item: item.at)
    return items


# The board: per town and per handler, over the complaints received in a period (and every one overdue now).


def board_aggregates(since: datetime, today: date) -> dict:
    received = Q(created_at__gte=since)
    return {
        "received": Count("pk", filter=received),
        "answered": Count("pk", filter=received & Q(answered_on_time__isnull=False)),
        "on_time": Count("pk", filter=received & Q(answered_on_time=True)),
        "avg_days": Avg("answer_working_days", filter=received),
        "overdue": Count("pk", filter=deadline_q("overdue", today)),
        "reopened": Count("pk", filter=received & Q(reopened_at__isnull=False)),
        "rated": Count("pk", filter=received & Q(rating__isnull=False)),
        "satisfied": Count("pk", filter=received & Q(rating__gte=4)),
        "avg_rating": Avg("rating", filter=received),
    }


@dataclass
class BoardRow:
    key: int | None  # the town's or handler's id; None: unassigned
    name: str
    received: int = 0
    answered: int = 0
    on_time: int = 0
    avg_days: float | None = None
    overdue: int = 0
    reopened: int = 0
    rated: int = 0
    satisfied: int = 0
    avg_rating: float | None = None

    @property
    def on_time_pct(self) -> float | None:
        return round(100 * self.on_time / self.answered, 1) if self.answered else None

    @property
    def reopen_pct(self) -> float | None:
        return round(100 * self.reopened / self.answered, 1) if self.answered else None

    @property
    def satisfied_pct(self) -> float | None:
        return round(100 * self.satisfied / self.rated, 1) if self.rated else None


def _board_row(key, name, values: dict) -> BoardRow:
    row = BoardRow(key, name, **{k: v or 0 for k, v in values.items() if k not in ("avg_days", "avg_rating")})
    row.avg_days = round(float(values["avg_days"]), 1) if values.get("avg_days") is not None else None
    row.avg_rating = round(float(values["avg_rating"]), 2) if values.get("avg_rating") is not None else None
    return row


def supervisor_board(user, *, days: int, today: date) -> dict:
    """{"total": BoardRow, "towns": [BoardRow], "handlers": [BoardRow]} over the complaints of the user's towns
    received in the last `days` days, and all overdue now. Three queries (and one for the handlers' names) whatever
    the number of complaints: two grouped aggregates and one total."""
    from accounts.models import User
    from accounts.scope import region_name

    since = timezone.now() - timedelta(days=days)
    aggregates = board_aggregates(since, today)
    base = complaints_visible_to(user).filter(merged_into__isnull=True).filter(
        Q(created_at__gte=since) | deadline_q("overdue", today)
    ).order_by()
    total = _board_row(None, "", base.aggregate(**aggregates))
    towns = [
        _board_row(values.pop("town_id"), "", values) for values in base.values("town_id").annotate(**aggregates)
    ]
    for row in towns:
        row.name = region_name(row.key)
    handlers = [
        _board_row(values.pop("handler_id"), "", values)
        for values in base.values("handler_id").annotate(**aggregates)
    ]
    names = dict(User.objects.filter(pk__in=[r.key for r in handlers if r.key]).values_list("pk", "name"))
    for row in handlers:
        row.name = names.get(row.key, "")
    towns.sort(key=lambda r: (-r.received, r.name))
    handlers.sort(key=lambda r: (r.key is None, -r.received, r.name))
    return {"total": total, "towns": towns, "handlers": handlers, "since": since}
