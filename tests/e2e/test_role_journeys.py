"""One journey per role on a phone (390×844): sign in, the home shows that role's cards with counts, each card opens
its list (an answer, not an error, and no sideways scrolling), the way back leads home, sign out from "更多".

The counts themselves are checked against hand-made data in tests/portal/test_home*.py; here a handler's one new
complaint and a parent's one open complaint show as 1, so a home that stopped counting would be seen.
"""

from __future__ import annotations

import pytest

from accounts.models import Role
from tests.conftest import DISTRICT, PASSWORD, TOWN_A, make_user
from tests.e2e.conftest import school_and_admin
from tests.factories import ComplaintFactory, InstitutionFactory, region

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

PHONE = {"width": 390, "height": 844}


def _personas():
    """(login, the role's section on the home, {card: count expected}) for each of the eight kinds of user."""
    town = region(TOWN_A)
    school, school_admin = school_and_admin()
    institution = InstitutionFactory(name="敦仁小画家美术培训学校", town=town)
    parent = make_user("张女士", Role.PARENT)
    ComplaintFactory(parent=parent, institution=institution)  # filed, waiting to be accepted by the town's handler
    return [
        (make_user("周局长", Role.BUREAU_ADMIN, region=region(DISTRICT)), Role.BUREAU_ADMIN, {}),
        (make_user("王科长", Role.BUREAU_STAFF, region=town), Role.BUREAU_STAFF, {"complaints-to-accept": "1"}),
        (make_user("李督查", Role.INSPECTOR, region=town), Role.INSPECTOR, {}),
        (school_admin, Role.SCHOOL_ADMIN, {}),
        (make_user("刘老师", Role.TEACHER, school=school), Role.TEACHER, {}),
        (make_user("赵经理", Role.INSTITUTION_STAFF, institution=institution), Role.INSTITUTION_STAFF, {}),
        (parent, Role.PARENT, {"my-complaints": "1"}),
        (make_user("何教练"), None, {}),  # an outside coach: signed up without a role
    ]


def _sign_in(page, base_url, user):
    page.goto(f"{base_url}/login/")
    page.get_by_label("手机号或用户名").fill(user.username)
    page.locator("#id_password").fill(PASSWORD)
    page.get_by_role("button", name="登录", exact=True).click()
    page.wait_for_url(f"{base_url}/")


def _width(page) -> int:
    return page.evaluate("Math.max(document.documentElement.scrollWidth, document.body.scrollWidth)")


def test_every_role_signs_in_sees_its_cards_opens_each_list_comes_back_and_signs_out(browser, live_server):
    for user, role, expected in _personas():
        context = browser.new_context(locale="zh-CN", viewport=PHONE)
        context.set_default_timeout(20_000)
        page = context.new_page()
        try:
            _sign_in(page, live_server.url, user)
            if role is not None:
                page.get_by_test_id(f"section-{role}").wait_for()
            cards = page.locator("a[data-testid^='card-']")
            keys = [cards.nth(i).get_attribute("data-testid").removeprefix("card-") for i in range(cards.count())]
            assert keys, f"{user.name}: a home without cards"
            for key, count in expected.items():
                assert page.get_by_test_id(f"count-{key}").first.inner_text() == count, (user.name, key)
            assert _width(page) <= PHONE["width"], user.name
            for key in dict.fromkeys(keys):
                with page.expect_response(
                    lambda r: r.request.resource_type == "document" and r.request.method == "GET"
                ) as answer:
                    page.get_by_test_id(f"card-{key}").first.click()
                assert answer.value.status == 200, (user.name, key, answer.value.url)
                assert _width(page) <= PHONE["width"], (user.name, key, page.url)
                page.go_back()
                page.wait_for_url(f"{live_server.url}/")
            page.locator("nav.tab-bar summary").click()
            page.locator("nav.tab-bar").get_by_role("button", name="退出", exact=True).click()
            page.wait_for_url(lambda url: "/login" in url or url.rstrip("/") == live_server.url)
            page.goto(f"{live_server.url}/")
            assert "/login/" in page.url, f"{user.name}: still signed in"
        finally:
            context.close()
