"""The menu of each role: a bottom tab bar on phones (four entries and "更多"), a side menu on desktop (all of them).

Each role lists the pages it uses that exist today, in the order they matter to it; a person with several roles
sees the union in the order of their roles, each page once. Nothing here costs a query beyond the memberships the
request reads anyway (accounts.selectors.memberships_of, kept on the user).

An outside coach (校外人员: a coach, artist or volunteer applying for admission to a school's after-school
services) holds no membership: the account that signed up and applies for itself (afterschool.admission: the
Admission's `applicant`, the OutsidePerson's `user`). A signed-in person without any role is shown their menu.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from accounts.models import Role
from accounts.selectors import memberships_of

OUTSIDE_COACH = "outside_coach"  # not a Role: an account without memberships (see above)

TABS = 4  # entries in the phone's tab bar before "更多" (five places in all)


@dataclass(frozen=True, slots=True)
class Entry:
    key: str  # unique in a menu: a page shown once, whichever roles lead to it
    label: object  # lazy gettext
    url_name: str
    icon: str  # a symbol id in core/static/core/icons.svg
    args: tuple = ()
    also: tuple[str, ...] = ()  # url names of the pages under this one (marked current with it)

    @property
    def url(self) -> str:
        return reverse(self.url_name, args=self.args)

    def is_current(self, url_name: str | None, kwargs: dict | None = None) -> bool:
        if url_name == self.url_name:
            return not self.args or tuple(str(v) for v in (kwargs or {}).values()) == tuple(str(a) for a in self.args)
        return url_name in self.also


HOME = Entry("home", _("首页"), "home", "home")
INBOX = Entry("notifications", pgettext_lazy("menu", "通知"), "notifications", "bell")
REGISTRY = Entry("registry", _("机构名录"), "registry", "building")
# The bureau's registry at work (console): filters, map, export, import, and one page per institution under it.
CONSOLE_REGISTRY = Entry(
    "console-registry", _("名录管理"), "console-registry", "list",
    also=("console-registry-import", "console-registry-import-job", "console-institution", "console-institution-edit",
          "console-institution-change"),
)  # fmt: skip
INSPECTION_RESULTS = Entry("inspection-results", _("抽查结果"), "inspection-results", "check")
COMPLAINT_NEW = Entry("complaint-new", _("投诉举报"), "complaint-new", "flag")
# A parent's complaints: the list (?filter=mine) and each complaint's page.
MY_COMPLAINTS = Entry("my-complaints", _("我的投诉"), "complaint-list", "list", also=("complaint-page",))
# Institution staff: the bureau's statement requests and the rectification orders, each answered on its page.
STATEMENTS = Entry("statements", _("待说明事项"), "complaint-statements", "inbox", also=("complaint-statement",))
ORDERS = Entry("orders", _("整改通知"), "inspection-orders", "check", also=("inspection-order",))
AFTERSCHOOL = Entry(
    "afterschool", _("课后服务"), "afterschool-index", "school", also=("afterschool-roster", "afterschool-sign-in")
)
COVERAGE = Entry("coverage", _("覆盖情况"), "afterschool-coverage", "chart")
MY_CHILDREN = Entry("my-children", _("我的孩子"), "afterschool-my-children", "child")
THIRD_PARTIES = Entry("third-parties", _("准入机构"), "afterschool-third-parties", "list")
ADMISSION_QUEUE = Entry("admission-queue", _("准入审核"), "afterschool-admission-queue", "inbox")
MY_ADMISSIONS = Entry("admissions", _("我的准入"), "afterschool-admissions", "id", also=("afterschool-admission",))
ADMISSION_NEW = Entry("admission-new", _("申请准入"), "afterschool-admission-new", "plus")
FEES = Entry("fees", _("课后服务费"), "afterschool-fees", "coin", also=("afterschool-fee-run",))
INVITE = Entry("invite", _("邀请同事"), "invite", "plus")
HOTLINE_OUTBOX = Entry("hotline-outbox", _("12345 回传"), "hotline-outbox", "out")
DESK = Entry("desk", _("投诉工作台"), "desk-queue", "inbox", also=("desk-complaint",))
DESK_BOARD = Entry("desk-board", _("督办看板"), "desk-board", "chart", also=("desk-templates",))
DASHBOARD = Entry(
    "dashboard", _("驾驶舱"), "console-dashboard", "chart", also=("console-dashboard-list", "console-weekly")
)
PLANS = Entry(
    "plans", _("检查计划"), "console-plans", "check",
    also=("console-plan", "console-plan-new", "console-visit-reassign", "console-conflicts", "console-orders",
          "console-penalties"),
)  # fmt: skip
# The phone apps (inspector_app): installable, offline first.
INSPECTOR_APP = Entry("inspector-app", _("现场检查"), "inspector-app", "check")
ROLLCALL = Entry("rollcall", _("点名"), "rollcall", "list")


def _timetable(school_id: int, name: str | None, several: bool) -> Entry:
    label = _("课表") if not several else f"{_('课表')} · {name or school_id}"
    return Entry(f"timetable-{school_id}", label, "afterschool-timetable", "calendar", args=(school_id,))


SCHOOL_PAGES = (
    "school-terms", "school-rooms", "school-students", "school-students-import", "school-student-new", "school-student",
    "school-programmes", "school-programme", "school-timetable-edit", "school-session-staff", "school-windows",
    "school-window", "school-applications", "school-rosters", "school-gaps",
)  # fmt: skip


def _school_admin_home(school_id: int, name: str | None, several: bool) -> Entry:
    """A school admin's scheduling pages (terms, rooms, class list, programmes, timetable, windows, applications)."""
    label = _("排课管理") if not several else f"{_('排课管理')} · {name or school_id}"
    return Entry(f"school-{school_id}", label, "school-home", "list", args=(school_id,), also=SCHOOL_PAGES)


# Each role's pages, most used first (the first entries become the phone's tabs).
ROLE_ENTRIES: dict[str, tuple[Entry, ...]] = {
    Role.BUREAU_ADMIN: (
        DESK, DASHBOARD, CONSOLE_REGISTRY, PLANS, DESK_BOARD, ADMISSION_QUEUE, COVERAGE, AFTERSCHOOL, FEES,
        INSPECTION_RESULTS, REGISTRY, THIRD_PARTIES, INVITE, HOTLINE_OUTBOX,
    ),  # fmt: skip
    Role.BUREAU_STAFF: (
        DESK, DASHBOARD, CONSOLE_REGISTRY, PLANS, ADMISSION_QUEUE, COVERAGE, AFTERSCHOOL, FEES, INSPECTION_RESULTS,
        REGISTRY, THIRD_PARTIES,
    ),  # fmt: skip
    Role.INSPECTOR: (INSPECTOR_APP, REGISTRY, INSPECTION_RESULTS, THIRD_PARTIES),
    # School roles: their school's timetable comes first (added per school below).
    Role.SCHOOL_ADMIN: (ADMISSION_QUEUE, AFTERSCHOOL, FEES, THIRD_PARTIES, INVITE),
    Role.TEACHER: (ROLLCALL, AFTERSCHOOL),
    Role.INSTITUTION_STAFF: (STATEMENTS, ORDERS, REGISTRY, MY_ADMISSIONS, ADMISSION_NEW),
    Role.PARENT: (MY_CHILDREN, MY_COMPLAINTS, COMPLAINT_NEW, REGISTRY, INSPECTION_RESULTS, THIRD_PARTIES),
    OUTSIDE_COACH: (MY_ADMISSIONS, ADMISSION_NEW),
}

# The order of roles when a person holds several: the work of the office first, the family last.
ROLE_ORDER = (
    Role.BUREAU_ADMIN,
    Role.BUREAU_STAFF,
    Role.INSPECTOR,
    Role.SCHOOL_ADMIN,
    Role.TEACHER,
    Role.INSTITUTION_STAFF,
    Role.PARENT,
    OUTSIDE_COACH,
)


def menu_roles(user) -> list[str]:
    """The roles whose menus this person sees, in ROLE_ORDER; an account without roles is an outside coach."""
    if not getattr(user, "is_authenticated", False):
        return []
    held = {m.role for m in memberships_of(user)}
    return [r for r in ROLE_ORDER if r in held] or [OUTSIDE_COACH]


def menu_for(user) -> list[Entry]:
    """Home, then the union of the roles' entries (each page once), with the inbox fourth so it is a phone tab."""
    if not getattr(user, "is_authenticated", False):
        return []
    memberships = memberships_of(user)
    school_ids: dict[int, str | None] = {}
    admin_of: list[int] = []
    for m in memberships:
        if m.role in (Role.SCHOOL_ADMIN, Role.TEACHER) and m.school_id:
            school_ids.setdefault(m.school_id, None)
        if m.role == Role.SCHOOL_ADMIN and m.school_id and m.school_id not in admin_of:
            admin_of.append(m.school_id)
    if len(school_ids) > 1:  # rare: the names tell the timetables apart (one query, only then)
        from afterschool.schedule.models import School

        school_ids.update(School.objects.filter(pk__in=school_ids).values_list("pk", "name"))
    entries: list[Entry] = []
    seen: set[str] = set()

    def add(entry: Entry) -> None:
        if entry.key not in seen:
            seen.add(entry.key)
            entries.append(entry)

    for role in menu_roles(user):
        if role in (Role.SCHOOL_ADMIN, Role.TEACHER):
            for school_id, name in school_ids.items():
                add(_timetable(school_id, name, len(school_ids) > 1))
        if role == Role.SCHOOL_ADMIN:
            for school_id in admin_of:
                add(_school_admin_home(school_id, school_ids.get(school_id), len(admin_of) > 1))
        for entry in ROLE_ENTRIES[role]:
            add(entry)
    entries.insert(min(2, len(entries)), INBOX)
    return [HOME, *entries]


@dataclass(frozen=True, slots=True)
class MenuItem:
    entry: Entry
    url: str
    current: bool

    @property
    def label(self):
        return self.entry.label

    @property
    def icon(self) -> str:
        return self.entry.icon

    @property
    def key(self) -> str:
        return self.entry.key


def menu_items(user, resolver_match=None) -> list[MenuItem]:
    """The menu with addresses, and the page being shown marked (aria-current); one entry at most is current."""
    url_name = getattr(resolver_match, "url_name", None)
    kwargs = getattr(resolver_match, "kwargs", None)
    items = []
    marked = False
    for entry in menu_for(user):
        current = not marked and entry.is_current(url_name, kwargs)
        marked = marked or current
        items.append(MenuItem(entry, entry.url, current))
    return items


def split_for_tabs(items: list[MenuItem]) -> tuple[list[MenuItem], list[MenuItem]]:
    """(the phone's tabs, the entries under "更多"): at most TABS tabs, "更多" making the fifth place."""
    return items[:TABS], items[TABS:]


# --- Issue 19: fees, families and coaches (appended) -----------------------------------------------------------------
LINK_REQUESTS = Entry(
    "link-requests", _("家长关联"), "afterschool-link-requests", "child", also=("afterschool-link-decide",)
)
FEE_APPROVALS = Entry(
    "fee-approvals", _("收费审批"), "afterschool-fee-approvals", "check", also=("afterschool-fee-term",)
)
COACH_WORK = Entry("coach", _("我的课时"), "afterschool-coach", "calendar")
COACH_PEOPLE = Entry("coach-people", _("派出人员"), "afterschool-coach-people", "list")
CHILD_LINK = Entry("child-link", _("关联孩子"), "afterschool-child-link", "plus")

ROLE_ENTRIES[Role.SCHOOL_ADMIN] += (LINK_REQUESTS,)
ROLE_ENTRIES[Role.BUREAU_ADMIN] += (FEE_APPROVALS,)
ROLE_ENTRIES[Role.BUREAU_STAFF] += (FEE_APPROVALS,)
ROLE_ENTRIES[Role.INSTITUTION_STAFF] += (COACH_PEOPLE,)
ROLE_ENTRIES[Role.PARENT] += (CHILD_LINK,)
ROLE_ENTRIES[OUTSIDE_COACH] = (COACH_WORK, *ROLE_ENTRIES[OUTSIDE_COACH])
