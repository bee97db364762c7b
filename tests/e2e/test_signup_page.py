"""A visitor scans a poster on a phone (390×844), taps 举报问题, signs up with their phone and the SMS code, and lands
on the complaint form of that institution; a wrong code on the way is shown beside its field."""

import re

import pytest

from accounts import sms
from accounts.models import Membership, Role, User
from tests.e2e.test_complaint_page import reference_data
from tests.institutions.helpers import make_institution

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

PHONE_SIZE = {"width": 390, "height": 844}
WIDTH = "() => document.documentElement.scrollWidth"
MOBILE = "13912345678"


def code_sent_to(phone: str) -> str:
    """The code in the last SMS to the phone (the test SMS backend keeps them in accounts.sms.outbox)."""
    sent_to, text = [m for m in sms.outbox if m[0] == phone][-1]
    return re.search(r"\b(\d{6})\b", text).group(1)


def test_from_the_qr_page_through_sign_up_to_the_complaint_form(live_server, browser):
    reference_data()
    institution = make_institution("涪陵区小画家美术培训学校")
    token = institution.tokens.get().token
    context = browser.new_context(locale="zh-CN", viewport=PHONE_SIZE, is_mobile=True, has_touch=True)
    context.set_default_timeout(10_000)
    page = context.new_page()
    widths = {}
    try:
        page.goto(f"{live_server.url}/v/{token}")
        page.get_by_test_id("report-link").click()
        page.wait_for_url(re.compile(r"/accounts/signup/"))
        widths["phone step"] = page.evaluate(WIDTH)
        page.get_by_label("手机号").fill(MOBILE)
        send = page.get_by_role("button", name="获取验证码", exact=True)
        print(f"\nsign-up: 获取验证码 button {send.bounding_box()['height']:.0f} px tall")  # site.css styles it
        send.click()
        assert "139****5678" in page.get_by_test_id("code-sent").inner_text()
        widths["code step"] = page.evaluate(WIDTH)

        page.get_by_label("短信验证码").fill("000000")
        page.get_by_label("姓名").fill("王妈妈")
        page.get_by_label("设置密码").fill("Spring-Rain-88")
        page.get_by_role("button", name="注册", exact=True).click()
        beside = page.get_by_test_id("field-code").locator(".errorlist")
        assert beside.inner_text().strip() == "验证码错误"
        assert page.get_by_text("验证码错误").count() == 1  # beside the field, not repeated in the summary
        assert page.get_by_test_id("error-summary").is_visible()
        widths["error"] = page.evaluate(WIDTH)

        page.get_by_label("短信验证码").fill(code_sent_to(MOBILE))
        page.get_by_label("设置密码").fill("Spring-Rain-88")  # a password is never echoed back
        page.get_by_role("button", name="注册", exact=True).click()
        page.wait_for_url(re.compile(r"/complaints/new\?institution="))
        assert page.url.endswith(f"/complaints/new?institution={institution.pk}")
        assert page.get_by_test_id("institution-name").inner_text() == institution.name
        assert page.get_by_test_id("user-name").inner_text() == "王妈妈"
        widths["complaint form"] = page.evaluate(WIDTH)
    finally:
        context.close()
    user = User.objects.get(phone=MOBILE)
    assert Membership.objects.filter(user=user, role=Role.PARENT).count() == 1
    print(f"sign-up journey: document widths {widths}")
    assert all(w <= PHONE_SIZE["width"] for w in widths.values()), widths
