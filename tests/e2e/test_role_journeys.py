"""One journey per role on a phone (390×844): sign in, the home shows that role's cards with counts, each card opens
its list (an answer, not an error, and no sideways scrolling), the way back leads home, sign out from "更多".

The counts themselves are checked against hand-made data in tests/portal/test_home*.py; here a handler's one new
complaint and a parent's one open complaint show as 1, so a home that stopped counting would be seen.
"""

from __future__ import annotations

import pytest

from tests.conftest import PASSWORD
from tests.e2e.conftest import role_personas

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

PHONE = {"width": 390, "height": 844}


def _sign_in(page, base_url, user):
    page.goto(f"{base_url}/login/")
    page.get_by_label("手机号或用户名").fill(user.username)
    page.locator("#id_password").fill(PASSWORD)
    page.get_by_role("button", name="登录", exact=True).click()
    page.wait_for_url(f"{base_url}/")


def _width(page) -> int:
    return page.evaluate("Math.max(document.documentElement.scrollWidth, document.body.scrollWidth)")


def test_every_role_signs_in_sees_its_cards_opens_each_list_comes_back_and_signs_out(browser, live_server):
    for persona in role_personas():
        user, role, expected = persona.user, persona.role, persona.counts
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
