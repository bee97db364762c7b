"""A parent scans a poster, taps "report a problem", signs in and files a complaint on a phone-sized page."""

import pytest

from accounts.models import Role
from supervision.models import Complaint
from tests.conftest import PASSWORD, make_user
from tests.institutions.helpers import make_institution

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def reference_data():
    """The categories and deadline values the data migrations load: a flush by an earlier transactional test may
    have removed them (the serialized restore does not always bring them back), so load them when missing."""
    import importlib

    from django.apps import apps

    from supervision.models import ComplaintCategory

    if not ComplaintCategory.objects.exists():
        importlib.import_module("core.migrations.0002_load_policy_values").load(apps, None)
        importlib.import_module("supervision.migrations.0002_load_categories").load(apps, None)


def test_from_the_verification_page_to_a_tracking_number(live_server, browser):
    reference_data()
    institution = make_institution("涪陵区小画家美术培训学校")
    token = institution.tokens.get().token
    make_user("张女士", Role.PARENT, phone="13900000008", username=None)
    context = browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 844}, is_mobile=True)
    context.set_default_timeout(10_000)
    page = context.new_page()
    try:
        page.goto(f"{live_server.url}/v/{token}")
        page.locator("a.report").click()
        page.get_by_test_id("sign-in-link").click()
        page.get_by_label("手机号或用户名").fill("13900000008")
        page.locator("#id_password").fill(PASSWORD)
        page.get_by_role("button", name="登录", exact=True).click()
        assert page.get_by_test_id("institution-name").inner_text() == institution.name
        page.locator("#description").fill("太短")
        page.get_by_role("button", name="提交投诉", exact=True).click()
        assert "10–2000" in page.get_by_test_id("form-error").inner_text()
        page.locator("#description").fill("报名后机构拒绝退还剩余 24 课时的费用，多次沟通无果。")
        page.get_by_role("button", name="提交投诉", exact=True).click()
        number = page.get_by_test_id("tracking-number").inner_text()
        assert number == Complaint.objects.get().tracking_number and number.startswith("TS-")
        assert page.get_by_test_id("status").inner_text().startswith("已提交")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390  # fits the phone, no sideways scroll
    finally:
        context.close()
