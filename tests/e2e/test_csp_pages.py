"""The Content-Security-Policy holds in a real browser: the main pages (sign-in, verification, complaint form and
its tracking page, timetable, sign-in sheet, admission pages, the API docs) load and work with no violation reported,
neither as a `securitypolicyviolation` event nor in the console."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine

from accounts.models import Role
from afterschool.models import Session
from supervision.models import Complaint
from tests.conftest import DISTRICT, PASSWORD, make_user, region
from tests.e2e.test_complaint_page import reference_data
from tests.e2e.test_login_page import sign_in
from tests.e2e.test_timetable_page import build
from tests.institutions.helpers import make_institution

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

# Injected by the browser driver (outside the page's policy): every violation the page causes is kept.
RECORD_VIOLATIONS = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", e =>
  window.__csp.push(e.violatedDirective + " " + (e.blockedURI || "inline") + " " + e.sourceFile + ":" + e.lineNumber));
"""


@pytest.fixture
def watched(browser):
    """(page, violations): a fresh context whose pages report every CSP violation."""
    context = browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 844}, is_mobile=True)
    context.set_default_timeout(10_000)
    context.add_init_script(RECORD_VIOLATIONS)
    page = context.new_page()
    console: list[str] = []
    page.on("console", lambda m: console.append(m.text) if "Content Security Policy" in m.text else None)

    def violations() -> list[str]:
        return console + page.evaluate("window.__csp || []")

    yield page, violations
    context.close()


def visit(page, violations, url):
    response = page.goto(url)
    page.wait_for_load_state("load")
    assert response.status == 200, (url, response.status)
    assert "default-src 'self'" in response.headers["content-security-policy"]
    assert violations() == [], (url, violations())


def test_public_pages_and_a_parents_complaint(live_server, watched):
    page, violations = watched
    reference_data()
    institution = make_institution("涪陵区小画家美术培训学校")
    make_user("张女士", Role.PARENT, phone="13900000008", username=None)
    base = live_server.url
    for path in ("/login/", f"/v/{institution.tokens.get().token}", "/registry/", "/afterschool/third-parties"):
        visit(page, violations, base + path)
    # The complaint journey from the verification page still works under the policy.
    page.goto(f"{base}/v/{institution.tokens.get().token}")
    page.locator("a.report").click()
    page.get_by_test_id("sign-in-link").click()
    page.get_by_label("手机号或用户名").fill("13900000008")
    page.locator("#id_password").fill(PASSWORD)
    page.get_by_role("button", name="登录", exact=True).click()
    assert page.get_by_test_id("institution-name").inner_text() == institution.name
    page.locator("#description").fill("报名后机构拒绝退还剩余 24 课时的费用，多次沟通无果。")
    page.get_by_role("button", name="提交投诉", exact=True).click()
    assert page.get_by_test_id("tracking-number").inner_text() == Complaint.objects.get().tracking_number
    assert violations() == []
    # The form is styled from its static file: a full-width submit button.
    visit(page, violations, f"{base}/afterschool/children/")


def test_school_pages_timetable_and_sign_in_sheet(live_server, watched):
    page, violations = watched
    with time_machine.travel(datetime(2026, 11, 25, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai")), tick=True):
        school, admin = build()
        sign_in(page, live_server.url, admin.username, PASSWORD)
        assert violations() == []
        visit(page, violations, f"{live_server.url}/afterschool/schools/{school.pk}/timetable/")
        assert page.get_by_test_id("timetable-days").is_visible()  # on a phone: one row per day
        # On a wider screen the grid, placed by the static script from the data attributes: blocks have heights.
        page.set_viewport_size({"width": 1280, "height": 800})
        block = page.get_by_test_id("col-0").get_by_test_id("session").first.bounding_box()
        assert block["height"] > 50
        page.set_viewport_size({"width": 390, "height": 844})
        session = Session.objects.filter(school=school).first()
        visit(page, violations, f"{live_server.url}/afterschool/sessions/{session.pk}/sign-in/")
        visit(page, violations, f"{live_server.url}/afterschool/admissions/review/")
        visit(page, violations, f"{live_server.url}/")


def test_bureau_pages_and_the_api_docs(live_server, watched):
    page, violations = watched
    staff = make_user("王科长", Role.BUREAU_STAFF, region=region(DISTRICT))
    sign_in(page, live_server.url, staff.username, PASSWORD)
    for path in ("/", "/afterschool/coverage/", "/afterschool/admissions/new/", "/afterschool/"):
        visit(page, violations, live_server.url + path)
    page.set_default_timeout(60_000)  # the OpenAPI document is large and this machine slow
    with page.expect_response(lambda r: r.url.endswith("/api/v1/openapi.json")) as document:
        visit(page, violations, f"{live_server.url}/api/v1/docs")  # Swagger UI's scripts and styles, all local
    assert document.value.status == 200
    page.locator(".swagger-ui").wait_for(state="attached")
    page.wait_for_timeout(500)  # Swagger UI renders what it fetched
    assert violations() == []
