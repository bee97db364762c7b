"""Bureau staff at work in Chromium: filter the registry, open an institution, read its timeline, change its status
with a reason (first without one: told so, nothing changes) and see the public QR page follow."""

from __future__ import annotations

import time

import pytest

from accounts.models import Role
from institutions.models import VerificationToken
from tests.conftest import PASSWORD, TOWN_A, TOWN_B, make_user, region
from tests.factories import ComplaintFactory
from tests.institutions.helpers import make_institution

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def test_staff_filter_open_see_the_timeline_change_the_status_and_the_qr_page_follows(page, live_server):
    started = time.monotonic()
    staff = make_user("王科长", Role.BUREAU_STAFF, region=region(TOWN_A))
    target = make_institution("敦仁启航学科培训学校", category="subject", latitude="29.703100", longitude="107.389600")
    make_institution("敦仁小画家美术培训学校")
    make_institution("李渡书法", town=TOWN_B)
    ComplaintFactory(institution=target, parent=make_user("家长", Role.PARENT), tracking_number="TS-2026-07777")
    token = VerificationToken.objects.get(institution=target, revoked_at__isnull=True).token

    page.goto(f"{live_server.url}/login/")
    page.get_by_label("手机号或用户名").fill(staff.username)
    page.locator("#id_password").fill(PASSWORD)
    page.get_by_role("button", name="登录", exact=True).click()
    page.wait_for_url(f"{live_server.url}/")
    page.get_by_test_id("side-menu").get_by_role("link", name="名录管理").click()

    page.select_option("#category", "subject")
    page.get_by_label("有未结投诉").check()
    page.get_by_test_id("filter-submit").click()
    rows = page.get_by_test_id("console-row")
    assert rows.count() == 1
    assert "1 件投诉" in rows.first.inner_text()
    rows.first.get_by_test_id("institution-link").click()

    assert page.get_by_test_id("institution-name").inner_text() == target.name
    assert page.get_by_test_id("institution-status").inner_text() == "已许可"
    assert "TS-2026-07777" in page.get_by_test_id("timeline").inner_text()

    page.select_option("#status_to_status", "suspended")
    page.get_by_test_id("status-submit").click()  # no reason: the browser's `required` is not relied upon
    assert "请填写变更原因" in page.get_by_test_id("status-error").inner_text()
    assert page.get_by_test_id("institution-status").inner_text() == "已许可"

    page.fill("#status_reason", "超范围开展学科类培训，责令停业整顿")
    page.get_by_test_id("status-submit").click()
    assert page.get_by_test_id("institution-status").inner_text() == "停业整顿"
    assert "超范围开展学科类培训" in page.get_by_test_id("timeline").inner_text()

    page.goto(f"{live_server.url}/v/{token}")
    assert "停业整顿" in page.content()
    assert time.monotonic() - started < 40
