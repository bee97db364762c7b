"""Each role's home: the work waiting, as sections of cards with counts, each card linking to the list behind it.

The counts come from the owning apps' selectors (a scoped queryset and named slices, never wider than the API),
one query per table by conditional aggregation (core.counting), each read once however many sections use it; the
sessions' work adds a few queries (sessions, term days) for the roles that have it. So a home costs a fixed number
of queries whatever the data.
A user with several roles sees one section per role; an outside person (no membership: known by their admission
applications) gets the coach's section.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, time
from urllib.parse import urlencode

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from accounts.models import Role
from accounts.selectors import memberships_of, with_places
from afterschool.admission import selectors as admission_selectors
from afterschool.fees import selectors as fee_selectors
from afterschool.schedule import selectors as schedule_selectors
from core import usercache
from core.counting import Slices, count_slices
from institutions import selectors as registry_selectors
from supervision.complaints import selectors as complaint_selectors
from supervision.inspections import selectors as inspection_selectors

COACH = "outside_coach"  # not a membership: an outside person who applied for admission to a school

# The order of the sections when a user holds several roles: the daily field work first, the family last.
SECTION_ORDER = (
    Role.INSPECTOR,
    Role.BUREAU_STAFF,
    Role.BUREAU_ADMIN,
    Role.SCHOOL_ADMIN,
    Role.TEACHER,
    Role.INSTITUTION_STAFF,
    COACH,
    Role.PARENT,
)


@dataclass(frozen=True)
class Card:
    key: str  # stable name: the test id `card-<key>`
    label: str
    count: int | None  # None: counted on the phone (the offline outbox), filled in by the page's script
    url: str
    client_count: str = ""  # for a count kept on the phone: which one

    @property
    def waiting(self) -> bool:
        return bool(self.count)


@dataclass
class Section:
    role: str
    title: str
    place: str
    cards: list[Card] = field(default_factory=list)


def _url(name: str, **query) -> str:
    url = reverse(name)
    return f"{url}?{urlencode(query)}" if query else url


# Each group: the owning app's scoped queryset and named slices (never wider than what its API shows the user).
GROUP_SLICES: dict[str, Callable[[object, date], Slices]] = {
    "complaints": complaint_selectors.complaint_slices,
    "statements": lambda user, today: complaint_selectors.statement_slices(user),
    "visits": inspection_selectors.visit_slices,
    "orders": lambda user, today: inspection_selectors.order_slices(user),
    "registry": registry_selectors.registry_slices,
    "proposals": lambda user, today: registry_selectors.proposal_slices(user),
    "admissions": admission_selectors.admission_slices,
    "applications": lambda user, today: schedule_selectors.application_slices(user),
    "children": lambda user, today: schedule_selectors.children_slices(user),
    "absences": schedule_selectors.absence_slices,
    "bills": lambda user, today: fee_selectors.bill_slices(user),
    "exemptions": lambda user, today: fee_selectors.exemption_slices(user),
    "runs": lambda user, today: fee_selectors.run_slices(user),
}


class _Counts:
    """Each group of counts the user's sections show, read at most once per page: one query per group (a table and
    its slices, core.counting), and the sessions' work (a few queries: it needs the term calendar)."""

    def __init__(self, user, today: date, now: time, kept: dict | None = None):
        self.user, self.today, self.now = user, today, now
        self._found: dict[str, dict] = dict(kept or {})

    def get(self, name: str, read: Callable[[], dict] | None = None) -> dict:
        if name not in self._found:
            if read is None:
                self._found[name] = count_slices(GROUP_SLICES[name](self.user, self.today))
            else:
                self._found[name] = read() or {}
        return self._found[name]

    def complaints(self) -> dict:
        return self.get("complaints")

    def statements(self) -> dict:
        return self.get("statements")

    def visits(self) -> dict:
        return self.get("visits")

    def orders(self) -> dict:
        return self.get("orders")

    def registry(self) -> dict:
        return self.get("registry")

    def proposals(self) -> dict:
        return self.get("proposals")

    def admissions(self) -> dict:
        return self.get("admissions")

    def applications(self) -> dict:
        return self.get("applications")

    def children(self) -> dict:
        return {**self.get("children"), **self.get("absences")}

    def bills(self) -> dict:
        return self.get("bills")

    def fees(self) -> dict:
        return {"exemptions": self.get("exemptions").get("applied", 0), "runs": self.get("runs").get("draft", 0)}

    def _sessions(self, name: str, sessions: Callable[[], object], *, roll_calls: bool = True) -> dict:
        # `sessions` builds the queryset only when the counts are not kept (building it costs as much as a page).
        def read() -> dict:
            work = schedule_selectors.session_work(sessions(), self.today, self.now, roll_calls=roll_calls)
            return {k: len(v) for k, v in work.items()}

        return self.get(name, read)

    def delivered(self) -> dict:
        return self._sessions("delivered", lambda: schedule_selectors.sessions_delivered_by(self.user))

    def school_sessions(self) -> dict:
        return self._sessions("school_sessions", lambda: schedule_selectors.sessions_of_admin(self.user))

    def children_sessions(self) -> dict:
        sessions = lambda: schedule_selectors.sessions_of_children(self.user, self.today)  # noqa: E731
        return self._sessions("children_sessions", sessions, roll_calls=False)


def _inspector(c: _Counts) -> list[Card]:
    visits, orders = c.visits(), c.orders()
    return [
        Card("visits-today", _("今日检查"), visits.get("today", 0), _url("inspection-visits", filter="today")),
        Card("visits-week", _("本周检查"), visits.get("week", 0), _url("inspection-visits", filter="week")),
        Card("outbox", _("待同步记录"), None, reverse("inspector-app") + "#/outbox", client_count="inspection-outbox"),
        Card(
            "visits-unsubmitted",
            _("未提交的检查"),
            visits.get("unsubmitted", 0),
            _url("inspection-visits", filter="unsubmitted"),
        ),
        Card(
            "orders-to-verify",
            _("待核验整改"),
            orders.get("to_verify", 0),
            _url("inspection-orders", filter="to_verify"),
        ),
    ]


def _handler(c: _Counts) -> list[Card]:
    complaints = c.complaints()  # each card leads to the desk's queue narrowed to the same slice
    return [
        Card("complaints-to-accept", _("待受理投诉"), complaints.get("to_accept", 0),
             _url("desk-queue", state="submitted", flag="theirs")),
        Card("complaints-due-soon", _("一个工作日内到期"), complaints.get("due_soon", 0),
             _url("desk-queue", state="open", flag="theirs", deadline="due_soon")),
        Card("complaints-overdue", _("已逾期投诉"), complaints.get("overdue", 0),
             _url("desk-queue", state="open", flag="theirs", deadline="overdue")),
    ]  # fmt: skip


def _bureau(c: _Counts, *, supervisor: bool) -> list[Card]:
    registry, admissions, complaints = c.registry(), c.admissions(), c.complaints()
    cards = [
        Card("institutions", _("监管机构"), registry.get("total", 0), reverse("console-registry")),
        Card("unlicensed", _("无证机构"), registry.get("unlicensed", 0), _url("console-registry", status="unlicensed")),
        Card("complaints-open", _("办理中投诉"), complaints.get("open", 0), _url("desk-queue", state="open")),
        Card("admission-reviews", _("准入待审核"), admissions.get("to_review", 0),
             reverse("afterschool-admission-queue")),
        Card("licences-expiring", _("许可证 30 天内到期"), registry.get("expiring", 0), reverse("registry-expiring")),
        # The bureau console: the rectification orders board (awaiting verification first) and the dashboard.
        Card("orders-board", _("整改待核验"), c.orders().get("to_verify", 0), reverse("console-orders")),
    ]  # fmt: skip
    if supervisor:
        cards.append(
            Card("complaints-district-overdue", _("逾期投诉"), complaints.get("district_overdue", 0),
                 _url("desk-queue", state="open", deadline="overdue"))
        )  # fmt: skip
    return cards


def _school_admin(c: _Counts) -> list[Card]:
    sessions, applications, admissions, fees = c.school_sessions(), c.applications(), c.admissions(), c.fees()
    return [
        Card("school-sessions-today", _("今日课后服务"), sessions.get("today", 0),
             _url("afterschool-sessions", filter="school_today")),
        Card("applications-to-decide", _("待审核报名"), applications.get("to_decide", 0),
             reverse("afterschool-applications")),
        Card("attendance-gaps", _("考勤缺漏"), sessions.get("roll_calls", 0),
             _url("afterschool-sessions", filter="school_gaps")),
        Card("admissions-expiring", _("准入 30 天内到期"), admissions.get("expiring", 0),
             reverse("afterschool-admissions-expiring")),
        Card("fees-to-act", _("待处理收费事项"), fees.get("exemptions", 0) + fees.get("runs", 0),
             reverse("afterschool-fees")),
    ]  # fmt: skip


def _teacher(c: _Counts) -> list[Card]:
    sessions = c.delivered()
    return [
        Card("sessions-today", _("今日课时"), sessions.get("today", 0), _url("afterschool-sessions", filter="today")),
        Card("roll-calls", _("未点名"), sessions.get("roll_calls", 0),
             _url("afterschool-sessions", filter="roll_calls")),
    ]  # fmt: skip


def _parent(c: _Counts) -> list[Card]:
    children, sessions, bills = c.children(), c.children_sessions(), c.bills()
    complaints, applications = c.complaints(), c.applications()
    mine = reverse("afterschool-my-children")
    return [
        Card("children", _("我的孩子"), children.get("children", 0), mine),
        Card("children-sessions-today", _("孩子今日课程"), sessions.get("today", 0), mine),
        Card("children-absences", _("近 30 天缺勤"), children.get("absences", 0), mine),
        Card("bills-to-pay", _("待缴费账单"), bills.get("to_pay", 0), mine),
        Card("my-complaints", _("我的投诉"), complaints.get("mine_open", 0),
             _url("complaint-list", filter="mine_open")),
        Card("complaints-to-rate", _("待评价的答复"), complaints.get("to_rate", 0),
             _url("complaint-list", filter="to_rate")),
        Card("complaints-to-supplement", _("待补充材料"), complaints.get("to_supplement", 0),
             _url("complaint-list", filter="to_supplement")),
        Card("my-applications", _("报名待定"), applications.get("children_live", 0), mine),
    ]  # fmt: skip


def _institution_staff(c: _Counts) -> list[Card]:
    statements, orders, proposals = c.statements(), c.orders(), c.proposals()
    return [
        Card("statements", _("待说明事项"), statements.get("open", 0), reverse("complaint-statements")),
        Card("orders-open", _("待整改通知"), orders.get("open", 0), _url("inspection-orders", filter="open")),
        Card("proposals", _("待审核变更"), proposals.get("pending", 0), reverse("registry-proposals")),
    ]


def _coach(c: _Counts) -> list[Card]:
    admissions, sessions = c.admissions(), c.delivered()
    return [
        Card("my-admissions", _("我的准入申请"), admissions.get("mine_open", 0), reverse("afterschool-admissions")),
        Card("admitted", _("有效准入"), admissions.get("mine_admitted", 0), reverse("afterschool-admissions")),
        Card("coach-sessions-today", _("今日课时"), sessions.get("today", 0),
             _url("afterschool-sessions", filter="today")),
    ]  # fmt: skip


def home_sections(user, today: date, now: time) -> list[Section]:
    """The sections of `user`'s home, one per role held (in SECTION_ORDER), each with its cards."""
    places: dict[str, list[str]] = {}
    for m in with_places(memberships_of(user)):  # one query per kind of place (schools, institutions)
        places.setdefault(m.info.role, [])
        if m.place_name and m.place_name not in places[m.info.role]:
            places[m.info.role].append(m.place_name)
    held = set(places)
    # The counts are kept a few seconds per person (core.usercache: forgotten when they write or are notified).
    kept = usercache.recall(user.pk, "counts")
    kept = kept[1] if kept and kept[0] == today else None
    counts = _Counts(user, today, now, kept)
    # An outside coach signs up without a role (accounts.services): someone with no membership, or who has applied
    # for admission to a school, gets the coach's section (their applications, their sessions).
    if not held or (Role.INSTITUTION_STAFF not in held and counts.admissions().get("mine", 0)):
        held.add(COACH)
        places[COACH] = []
    builders = {
        Role.INSPECTOR: _inspector,
        Role.BUREAU_STAFF: lambda c: _handler(c) + _bureau(c, supervisor=False),
        Role.BUREAU_ADMIN: lambda c: _bureau(c, supervisor=True),
        Role.SCHOOL_ADMIN: _school_admin,
        Role.TEACHER: _teacher,
        Role.INSTITUTION_STAFF: _institution_staff,
        COACH: _coach,
        Role.PARENT: _parent,
    }
    sections = []
    for role in SECTION_ORDER:
        if role in held:
            title = Role(role).label if role != COACH else _("校外人员")
            sections.append(Section(role, str(title), "、".join(places[role]), builders[role](counts)))
    if counts._found != kept:
        usercache.remember(user.pk, "counts", (today, counts._found))
    return sections
