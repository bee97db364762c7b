"""No page of a role is reachable only by typing its address: starting at each role's home on a phone (390 px), the
test follows the links of every page it reaches and must reach every page listed for that role below. Every page it
reaches answers 200 and does not scroll sideways.

Pages that differ only by an id (a complaint, a roster, a timetable) are visited once per kind.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from django.urls import reverse

from accounts.models import Role
from tests.conftest import PASSWORD
from tests.e2e.conftest import role_personas

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

PHONE = {"width": 390, "height": 844}
MOST_PAGES = 45  # per role: the crawl stops there (a test, not a spider)
NOT_PAGES = re.compile(r"^/(logout|admin|api|static|media|i18n|bench)/|\.(png|pdf|xlsx|csv|jpg)$|/open$|/read-all$")

EVERYONE = ["home", "notifications"]
PAGES = {
    Role.BUREAU_ADMIN: [
        "console-registry",
        "console-registry-import",
        "console-institution",
        "registry",
        "registry-expiring",
        "afterschool-admission-queue",
        "afterschool-coverage",
        "afterschool-index",
        "afterschool-fees",
        "inspection-results",
        "afterschool-third-parties",
        "desk-queue",
        "desk-complaint",
        "desk-board",
        "desk-templates",
        "invite",
        "afterschool-fee-approvals",
        "hotline-outbox",
        "console-dashboard",
        "console-dashboard-list",
        "console-weekly",
        "console-calendar",
        "console-plans",
        "console-plan-new",
        "console-conflicts",
        "console-orders",
        "console-penalties",
    ],
    Role.BUREAU_STAFF: [
        "console-registry",
        "console-registry-import",
        "console-institution",
        "registry",
        "registry-expiring",
        "afterschool-admission-queue",
        "afterschool-coverage",
        "afterschool-index",
        "afterschool-fees",
        "inspection-results",
        "afterschool-third-parties",
        "afterschool-fee-approvals",
        "desk-queue",
        "desk-complaint",
        "console-dashboard",
        "console-dashboard-list",
        "console-weekly",
        "console-calendar",
        "console-plans",
        "console-plan-new",
        "console-conflicts",
        "console-orders",
        "console-penalties",
    ],
    Role.INSPECTOR: [
        "registry",
        "inspection-results",
        "afterschool-third-parties",
        "inspection-visits",
        "inspection-orders",
        "inspector-app",
    ],
    Role.SCHOOL_ADMIN: [
        "timetable",
        "afterschool-admission-queue",
        "afterschool-index",
        "afterschool-fees",
        "afterschool-third-parties",
        "afterschool-sessions",
        "afterschool-applications",
        "afterschool-admissions-expiring",
        "invite",
        # The scheduling pages of the admin's school (issue 19)
        "school-home",
        "school-terms",
        "school-rooms",
        "school-students",
        "school-students-import",
        "school-programmes",
        "school-windows",
        "school-applications",
        "school-rosters",
        "school-gaps",
        "afterschool-link-requests",
    ],
    Role.TEACHER: ["timetable", "afterschool-index", "afterschool-sessions", "rollcall"],
    Role.INSTITUTION_STAFF: [
        "registry",
        "afterschool-admissions",
        "afterschool-admission-new",
        "complaint-statements",
        "complaint-statement",
        "inspection-orders",
        "inspection-order",
        "registry-proposals",
        "afterschool-coach-people",
    ],
    Role.PARENT: [
        "afterschool-my-children",
        "complaint-new",
        "registry",
        "inspection-results",
        "afterschool-third-parties",
        "complaint-list",
        "complaint-page",
        "afterschool-child-link",
    ],
    None: ["afterschool-admissions", "afterschool-admission-new", "afterschool-coach"],
}


def _kind(path: str) -> str:
    """A page's kind: its path with every segment holding a digit made the same."""
    return "/".join("*" if any(c.isdigit() for c in part) else part for part in path.split("/"))


def _expected_paths(persona) -> dict[str, str]:
    paths = {}
    for name in EVERYONE + PAGES[persona.role]:
        if name == "timetable":
            paths[name] = reverse("afterschool-timetable", args=(persona.school.pk,))
        elif name.startswith("school-"):
            paths[name] = reverse(name, args=(persona.school.pk,))
        elif name in ("complaint-page", "complaint-statement", "inspection-order", "desk-complaint",
                      "console-institution"):  # one page of its kind: any of them
            paths[name] = _kind(reverse(name, args=(1,)))
        else:
            paths[name] = reverse(name)
    return paths


def _crawl(page, base_url: str) -> tuple[set[str], list[str]]:
    """(the kinds of page reached, the problems seen), breadth first from the home."""
    queue, seen_kinds, reached, problems = ["/"], set(), set(), []
    while queue and len(reached) < MOST_PAGES:
        path = queue.pop(0)
        answer = page.goto(base_url + path)
        if answer is None or answer.status != 200:
            problems.append(f"{path}: {answer and answer.status}")
            continue
        here = urlsplit(page.url).path
        reached.update({here, _kind(here)})
        width = page.evaluate("Math.max(document.documentElement.scrollWidth, document.body.scrollWidth)")
        if width > PHONE["width"]:
            problems.append(f"{here}: {width} px wide")
        for href in page.eval_on_selector_all("a[href]", "links => links.map(a => a.href)"):
            parts = urlsplit(href)
            if f"{parts.scheme}://{parts.netloc}" != base_url or NOT_PAGES.search(parts.path):
                continue
            target = parts.path + (f"?{parts.query}" if parts.query else "")
            kind = _kind(parts.path) + ("?" if parts.query else "")
            if kind not in seen_kinds:
                seen_kinds.add(kind)
                queue.append(target)
    return reached, problems


def test_each_role_reaches_every_page_it_may_use_from_its_home(browser, live_server):
    missing, problems = {}, {}
    for persona in role_personas():
        context = browser.new_context(locale="zh-CN", viewport=PHONE)
        context.set_default_timeout(20_000)
        page = context.new_page()
        try:
            page.goto(f"{live_server.url}/login/")
            page.get_by_label("手机号或用户名").fill(persona.user.username)
            page.locator("#id_password").fill(PASSWORD)
            page.get_by_role("button", name="登录", exact=True).click()
            page.wait_for_url(f"{live_server.url}/")
            reached, seen = _crawl(page, live_server.url)
        finally:
            context.close()
        who = persona.role or "outside coach"
        lost = [name for name, path in _expected_paths(persona).items() if path not in reached]
        if lost:
            missing[who] = lost
        if seen:
            problems[who] = seen
    assert missing == {}, f"pages a role may use that no link leads to: {missing}"
    assert problems == {}, problems
