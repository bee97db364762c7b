"""Browser tests: Debian's Chromium driven by Playwright's sync API against pytest-django's live server.

Nothing here downloads a browser: without /usr/bin/chromium (`apt-get install chromium fonts-wqy-microhei`) the
browser tests are skipped with that reason.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="package")
def browser():
    """One headless Chromium for the browser tests, closed after the last of them: while it lives, its event loop
    runs in the main thread, where tests elsewhere (websocket tests with async_to_sync) cannot run.

    Playwright's sync API keeps an asyncio event loop in the main thread while it lives, and Django refuses ORM
    calls from a thread with a running loop; DJANGO_ALLOW_ASYNC_UNSAFE lifts that for as long as the browser
    is up (the live server's own threads have no loop). The previous value comes back afterwards, so tests
    outside this folder keep Django's check.
    """
    if not CHROMIUM.exists():
        pytest.skip("Debian's Chromium not found at /usr/bin/chromium: apt-get install chromium")
    if os.environ.get("DATABASE_URL") and not os.environ.get("BROWSER_TESTS_ALL_LANES"):
        # The journeys run in one lane (the embedded default, as a newcomer's `make test`), keeping the production
        # lane well under its time budget; BROWSER_TESTS_ALL_LANES=1 runs them against PostgreSQL too.
        pytest.skip("browser journeys run in the embedded-default lane (BROWSER_TESTS_ALL_LANES=1 to run them here)")
    from playwright.sync_api import sync_playwright

    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as pw:
            chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
            try:
                yield chromium
            finally:
                chromium.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def page(browser):
    """A fresh browser context (own cookies) and page per test, in Chinese, failing fast rather than hanging."""
    context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 800})
    context.set_default_timeout(10_000)
    page = context.new_page()
    yield page
    context.close()


def school_and_admin(name: str = "涪陵区实验小学"):
    """The school most browser scenes happen in (town A) and its admin 陈校长: (school, admin)."""
    from accounts.models import Role
    from tests.conftest import TOWN_A, make_user
    from tests.factories import SchoolFactory, region

    school = SchoolFactory(name=name, town=region(TOWN_A))
    return school, make_user("陈校长", Role.SCHOOL_ADMIN, school=school)


@dataclass
class Persona:
    user: object
    role: str | None  # None: an outside coach, signed up without a role
    counts: dict[str, str]  # card -> the count the home must show
    school: object | None = None


def role_personas() -> list[Persona]:
    """One user of each of the eight kinds, in town A, with a little waiting work: a parent's complaint that the
    town's handler has to accept."""
    from accounts.models import Role
    from tests.conftest import DISTRICT, TOWN_A, make_user
    from tests.factories import ComplaintFactory, InstitutionFactory, region

    town = region(TOWN_A)
    school, school_admin = school_and_admin()
    institution = InstitutionFactory(name="敦仁小画家美术培训学校", town=town)
    parent = make_user("张女士", Role.PARENT)
    complaint = ComplaintFactory(parent=parent, institution=institution)
    institution_work(complaint)
    return [
        Persona(make_user("周局长", Role.BUREAU_ADMIN, region=region(DISTRICT)), Role.BUREAU_ADMIN, {}),
        Persona(make_user("王科长", Role.BUREAU_STAFF, region=town), Role.BUREAU_STAFF, {"complaints-to-accept": "1"}),
        Persona(make_user("李督查", Role.INSPECTOR, region=town), Role.INSPECTOR, {}),
        Persona(school_admin, Role.SCHOOL_ADMIN, {}, school),
        Persona(make_user("刘老师", Role.TEACHER, school=school), Role.TEACHER, {}, school),
        Persona(make_user("赵经理", Role.INSTITUTION_STAFF, institution=institution), Role.INSTITUTION_STAFF, {}),
        Persona(parent, Role.PARENT, {"my-complaints": "1"}),
        Persona(make_user("何教练"), None, {}),
    ]


def institution_work(complaint) -> None:
    """What the institution complained about has to answer in the browser: a statement request about the complaint
    and a rectification order from a visit (issue 17)."""
    from datetime import timedelta

    from django.utils import timezone

    from supervision.models import RectificationOrder, StatementRequest
    from tests.factories import FindingFactory, InspectionFactory, UserFactory
    from tests.supervision.inspection_fixtures import ensure_checklist

    ensure_checklist()  # a transactional test may have flushed the migrations' rows
    asker = UserFactory(name="承办人")
    StatementRequest.objects.create(
        complaint=complaint,
        institution=complaint.institution,
        requested_by=asker,
        question="请说明退费规则。",
        due_on=timezone.localdate() + timedelta(days=3),
    )
    finding = FindingFactory(inspection=InspectionFactory(institution=complaint.institution), description="未公示收费")
    RectificationOrder.objects.create(
        finding=finding,
        institution=complaint.institution,
        town=complaint.town,
        due_on=timezone.localdate() + timedelta(days=10),
        evidence_required="公示收费标准",
        issued_by=asker,
    )
