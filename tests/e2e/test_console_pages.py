"""The bureau console in a real browser: staff plan, preview, draw and follow a plan; the dashboard drills from the
district to a town to the list behind a number, its charts drawn by ECharts under the CSP (no violation). The
dashboard's screenshots at phone and desktop sizes go to /work/shots/ when that folder exists (for the lead's note)."""

from __future__ import annotations

from pathlib import Path

import pytest

from accounts.models import Role
from institutions.models import Status
from tests.conftest import DISTRICT, PASSWORD, TOWN_A, TOWN_B, make_user, region

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

SHOTS = Path("/work/shots")
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1440, "height": 900}


def sign_in(page, base_url, login):
    page.goto(f"{base_url}/login/")
    page.get_by_label("手机号或用户名").fill(login)
    page.locator("#id_password").fill(PASSWORD)
    page.get_by_role("button", name="登录", exact=True).click()
    page.wait_for_url(f"{base_url}/")


def width(page) -> int:
    return page.evaluate("Math.max(document.documentElement.scrollWidth, document.body.scrollWidth)")


def csp_watch(page) -> list[str]:
    seen: list[str] = []
    page.on("console", lambda m: seen.append(m.text) if "Content Security Policy" in m.text else None)
    return seen


def test_staff_plan_preview_draw_and_follow_a_plan(live_server, browser):
    from tests.console.helpers import institutions
    from tests.supervision.inspection_fixtures import ensure_checklist

    ensure_checklist()
    staff = make_user("王科长", Role.BUREAU_STAFF, region=region(DISTRICT))
    for name in ("李督查", "孙督查", "赵督查"):
        make_user(name, Role.INSPECTOR, region=region(TOWN_A))
    institutions(4, TOWN_A, status=Status.LICENSED, risk_grade="D")
    context = browser.new_context(locale="zh-CN", viewport=PHONE)
    context.set_default_timeout(20_000)  # a loaded machine: the first page compiles templates
    page = context.new_page()
    problems = csp_watch(page)
    try:
        sign_in(page, live_server.url, staff.username)
        page.goto(f"{live_server.url}/console/plans/")
        page.get_by_test_id("plan-new").click()
        page.locator("#id_name").fill("敦仁街道专项抽查")
        page.locator("#id_region_id").select_option(label="敦仁街道")
        town = region(TOWN_A)
        pool = page.get_by_test_id(f"pool-town-{town.pk}")
        if pool.get_attribute("open") is None:
            pool.locator("summary").click()
        pool.get_by_label("李督查").check()
        pool.get_by_label("孙督查").check()
        assert width(page) <= PHONE["width"]
        page.get_by_test_id("plan-create").click()
        page.wait_for_url("**/console/plans/*/")
        # The preview before drawing: four D-grade candidates, 40 % of them drawn (rounded up).
        assert page.get_by_test_id("to-draw-D").inner_text() == "2"
        assert page.get_by_test_id("to-draw-total").inner_text() == "2"
        assert width(page) <= PHONE["width"]
        page.get_by_test_id("draw").click()
        page.wait_for_url("**#visits")
        assert page.get_by_test_id("plan-status").inner_text() == "已抽取"
        assert page.get_by_test_id("progress-assigned").locator(".count").inner_text() == "2"
        teams = page.get_by_test_id("teams")
        assert "李督查" in teams.inner_text() and "孙督查" in teams.inner_text()
        # Follow: the visits not started, then reassign one with a reason.
        page.get_by_test_id("progress-assigned").click()
        page.locator("[data-testid^=reassign-]").first.click()
        page.get_by_label("赵督查").check()
        page.get_by_label("李督查").uncheck()
        page.locator("#id_reason").fill("李督查出差")
        page.get_by_test_id("reassign-save").click()
        page.wait_for_url("**#visits")
        assert "赵督查" in page.get_by_test_id("teams").inner_text()
        assert problems == []
    finally:
        context.close()


def test_dashboard_drills_from_district_to_town_to_the_list_behind_a_number(live_server, browser):
    from tests.console.helpers import complaints, institutions

    staff = make_user("周局长", Role.BUREAU_ADMIN, region=region(DISTRICT))
    in_a = institutions(5, TOWN_A, status=Status.LICENSED)
    institutions(3, TOWN_B, status=Status.UNLICENSED)
    institutions(2, TOWN_B, status=Status.LICENSED, risk_grade="C")
    complaints(3, in_a[0], overdue=True)
    complaints(2, in_a[1])
    town = region(TOWN_A)
    context = browser.new_context(locale="zh-CN", viewport=DESKTOP)
    context.set_default_timeout(20_000)  # a loaded machine: the first page compiles templates
    page = context.new_page()
    problems = csp_watch(page)
    try:
        sign_in(page, live_server.url, staff.username)
        page.locator("nav.side-menu").get_by_role("link", name="驾驶舱").click()
        page.wait_for_url("**/console/dashboard/")
        assert "全区" in page.get_by_test_id("dash-heading").inner_text()
        assert "数据截至" in page.get_by_test_id("as-of").inner_text()
        page.wait_for_selector("#chart-status canvas")  # ECharts drew the chart
        assert page.get_by_test_id("tile-institutions").locator(".count").inner_text() == "10"
        if SHOTS.is_dir():
            page.screenshot(path=str(SHOTS / "dashboard-1440x900.png"), full_page=False)
            page.screenshot(path=str(SHOTS / "dashboard-1440x900-full.png"), full_page=True)
        page.get_by_test_id(f"drill-town-{town.pk}").click()
        page.wait_for_url(f"**/console/dashboard/?town={town.pk}")
        assert "敦仁街道" in page.get_by_test_id("dash-heading").inner_text()
        tile = page.get_by_test_id("tile-cmp-overdue")
        assert tile.locator(".count").inner_text() == "3"
        tile.click()
        page.wait_for_url("**/console/dashboard/list/**")
        assert page.get_by_test_id("list-count").inner_text() == "3"
        assert page.get_by_test_id("row").count() == 3
        page.get_by_test_id("back-dashboard").click()
        page.wait_for_url(f"**/console/dashboard/?town={town.pk}")
        page.set_viewport_size(PHONE)
        page.goto(f"{live_server.url}/console/dashboard/")
        page.wait_for_selector("#chart-status canvas")
        assert width(page) <= PHONE["width"]
        if SHOTS.is_dir():
            page.screenshot(path=str(SHOTS / "dashboard-390x844.png"), full_page=False)
            page.screenshot(path=str(SHOTS / "dashboard-390x844-full.png"), full_page=True)
        assert problems == []
    finally:
        context.close()
