# ruff: noqa: F811 - fixtures imported from inspection_fixtures are used as arguments
"""What phones really do to the inspectors' app (issue 20, bad input), in Chromium: no position permission, a clock
hours off, an access token that expires while the phone is offline, an in-app browser without service workers."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import AccessToken
from supervision.models import ChecklistAnswer, Inspection, VisitRecord
from tests.conftest import PASSWORD
from tests.e2e.test_inspector_app import PHONE, all_sent, due_today, phone, sign_in, wait_until
from tests.supervision.inspection_fixtures import premises, team, visit  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_without_position_permission_the_check_in_is_taken_flagged_and_said_to_have_no_position(
    browser, live_server, visit, team
):
    due_today(visit)
    context = phone(browser)
    context.clear_permissions()  # the inspector said no to "use your location"
    try:
        page = context.new_page()
        sign_in(page, live_server.url, team[0])
        page.get_by_test_id("visit-card").first.click()
        page.get_by_test_id("checkin-gps").click()
        status = page.get_by_test_id("checkin-status").filter(has_text="已签到")
        status.wait_for()
        assert "未获取位置（将标记复核）" in status.inner_text()
        all_sent(page)
        wait_until(lambda: Inspection.objects.get(pk=visit.pk).checkin_at is not None)
        # The server's copy, once fetched again, says flagged: not "beyond 500 m", there is no distance at all.
        page.get_by_test_id("server-status").filter(has_text="检查中").wait_for()
        text = page.get_by_test_id("checkin-status").inner_text()
        assert "未获取位置" in text and "米" not in text
    finally:
        context.close()
    v = Inspection.objects.get(pk=visit.pk)
    assert v.checkin_flagged and v.checkin_latitude is None and v.checkin_distance_m is None
    record = VisitRecord.objects.get(inspection=v, kind="checkin")
    assert record.state == "applied" and "latitude" not in record.payload


# The phone's clock three hours ahead of the server's (a phone whose time was set by hand): every Date in the page.
CLOCK_AHEAD = """
(() => {
  const OFF = 3 * 3600 * 1000;
  const Real = Date;
  function Phone(...args) {
    if (!new.target) return new Real(Real.now() + OFF).toString();
    return args.length ? new Real(...args) : new Real(Real.now() + OFF);
  }
  Phone.prototype = Real.prototype;
  Phone.now = () => Real.now() + OFF;
  Phone.parse = Real.parse;
  Phone.UTC = Real.UTC;
  window.Date = Phone;
})();
"""


def test_a_phone_clock_hours_ahead_is_told_and_its_offline_records_still_arrive_in_server_time(
    browser, live_server, visit, team
):
    due_today(visit)
    context = phone(browser)
    context.add_init_script(CLOCK_AHEAD)
    try:
        page = context.new_page()
        sign_in(page, live_server.url, team[0])
        banner = page.get_by_test_id("banner-clock")
        banner.wait_for()
        assert "相差约 180 分钟" in banner.inner_text()
        page.get_by_test_id("visit-card").first.wait_for()

        context.set_offline(True)
        page.reload()  # opened again offline: the phone still knows how far off its clock is
        banner.wait_for()
        assert "相差约 180 分钟" in banner.inner_text()
        page.get_by_test_id("visit-card").first.click()
        page.get_by_test_id("checkin-gps").click()
        page.get_by_test_id("checkin-status").filter(has_text="已签到").wait_for()
        page.locator('[data-testid=item][data-code="LIC-1"]').get_by_test_id("answer-yes").click()
        page.get_by_test_id("pending-line").filter(has_text="2 条待上传").wait_for()

        context.set_offline(False)
        all_sent(page)
        page.goto(f"{live_server.url}/app/inspector/#/outbox")
        page.locator('[data-testid=record][data-state="applied"]').nth(1).wait_for()
        assert page.locator('[data-testid=record][data-state="rejected"]').count() == 0
    finally:
        context.close()
    v = Inspection.objects.get(pk=visit.pk)
    # Not refused as "in the future" (the server's rule: 10 minutes at most): stamped in the server's time.
    assert abs(v.checkin_at - timezone.now()) < timedelta(minutes=5)
    answer = ChecklistAnswer.objects.get(inspection=v, item__code="LIC-1")
    assert answer.value == "yes" and abs(answer.answered_at - timezone.now()) < timedelta(minutes=5)
    assert VisitRecord.objects.filter(inspection=v, state="applied").count() == 2


def test_a_token_expired_while_offline_is_refreshed_and_the_records_arrive_once(browser, live_server, visit, team):
    from accounts import authcache

    due_today(visit)
    context = phone(browser)
    refreshes = []
    try:
        page = context.new_page()
        sign_in(page, live_server.url, team[0])
        page.on("request", lambda r: "/api/v1/auth/refresh" in r.url and refreshes.append(r.url))
        page.get_by_test_id("visit-card").first.click()
        context.set_offline(True)
        for code in ("LIC-1", "LIC-2"):
            page.locator(f'[data-testid=item][data-code="{code}"]').get_by_test_id("answer-yes").click()
        page.get_by_test_id("pending-line").filter(has_text="2 条待上传").wait_for()
        # Offline long enough: the server no longer takes the access token (the phone still thinks it good).
        AccessToken.objects.update(expires_at=timezone.now() - timedelta(minutes=1))
        authcache.forget_user(team[0].pk)
        context.set_offline(False)
        all_sent(page)
        assert page.get_by_test_id("sign-in").count() == 0  # never asked to sign in again
        assert page.get_by_test_id("revoked-notice").count() == 0
        page.get_by_test_id("sync-button").click()  # sent once more: nothing new
        all_sent(page)
    finally:
        context.close()
    assert len(refreshes) >= 1
    assert VisitRecord.objects.filter(inspection=visit).count() == 2
    assert VisitRecord.objects.filter(inspection=visit, state="applied").count() == 2
    assert ChecklistAnswer.objects.filter(inspection=visit, item__code__in=["LIC-1", "LIC-2"], value="yes").count() == 2


def test_an_in_app_browser_without_service_workers_works_online_and_says_offline_needs_the_phones_browser(
    browser, live_server, visit, team
):
    due_today(visit)
    context = browser.new_context(locale="zh-CN", viewport=PHONE)
    context.add_init_script("delete Object.getPrototypeOf(navigator).serviceWorker")
    context.set_default_timeout(15_000)
    try:
        page = context.new_page()
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(f"{live_server.url}/app/inspector/")
        notice = page.get_by_test_id("banner-no-sw")
        notice.wait_for()
        assert "手机自带的浏览器" in notice.inner_text()
        page.locator("#sj-login").fill(team[0].username)
        page.locator("#sj-password").fill(PASSWORD)
        page.get_by_test_id("sign-in-button").click()
        card = page.get_by_test_id("visits-today").get_by_test_id("visit-card")
        card.wait_for()
        assert "敦仁美术培训学校" in card.inner_text()
        card.click()
        page.locator('[data-testid=item][data-code="LIC-1"]').get_by_test_id("answer-yes").click()
        all_sent(page)
        wait_until(lambda: ChecklistAnswer.objects.filter(inspection=visit, item__code="LIC-1").exists())
        assert notice.is_visible()
        assert errors == []
        assert page.evaluate("() => 'serviceWorker' in navigator") is False
    finally:
        context.close()
