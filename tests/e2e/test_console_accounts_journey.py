"""Bureau staff on a phone give an institution an account and take it back, each with a reason: told beside the
field when something is missing, the account listed, the timeline following, no sideways scroll at 390 px."""

from __future__ import annotations

import pytest

from accounts.models import Membership, Role
from tests.conftest import PASSWORD, TOWN_A, make_user, region
from tests.institutions.helpers import make_institution

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def _fits(page) -> bool:
    return page.evaluate("Math.max(document.documentElement.scrollWidth, document.body.scrollWidth)") <= 390


def test_staff_add_and_remove_an_institution_account_on_a_phone(browser, live_server):
    staff = make_user("王科长", Role.BUREAU_STAFF, region=region(TOWN_A))
    make_user("周老师", phone="13900002222")
    inst = make_institution("敦仁启航艺术培训学校")
    context = browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 844}, is_mobile=True)
    context.set_default_timeout(10_000)
    page = context.new_page()
    try:
        page.goto(f"{live_server.url}/login/")
        page.get_by_label("手机号或用户名").fill(staff.username)
        page.locator("#id_password").fill(PASSWORD)
        page.get_by_role("button", name="登录", exact=True).click()
        page.wait_for_url(f"{live_server.url}/")
        page.goto(f"{live_server.url}/console/institutions/{inst.pk}/")
        card = page.get_by_test_id("accounts")
        assert card.get_by_test_id("accounts-none").is_visible()
        card.get_by_label("手机号（已注册的账号）").fill("13900002222")
        card.get_by_test_id("account-add").click()  # no reason: told beside the field, nothing written
        assert page.get_by_test_id("account-reason-error").is_visible()
        assert page.locator("#account_add_phone").input_value() == "13900002222"
        assert not Membership.objects.filter(role=Role.INSTITUTION_STAFF).exists()
        assert _fits(page)
        page.fill("#account_add_reason", "机构负责人申请开通")
        page.get_by_test_id("account-add").click()
        assert "已添加机构账号" in page.get_by_test_id("done").inner_text()
        row = page.get_by_test_id("account")
        assert "周老师" in row.inner_text() and "139****2222" in row.inner_text()
        assert "开通机构账号：周老师" in page.get_by_test_id("timeline").inner_text()
        assert _fits(page)
        box = row.get_by_test_id("account-remove").bounding_box()
        assert box["height"] >= 44 or box["width"] >= 44
        row.get_by_label("移除原因（必填）").fill("已离职")
        row.get_by_test_id("account-remove").click()
        assert "已移除机构账号" in page.get_by_test_id("done").inner_text()
        assert page.get_by_test_id("accounts-none").is_visible()
        assert "移除机构账号：周老师" in page.get_by_test_id("timeline").inner_text()
    finally:
        context.close()
