"""What a phone downloads on the first load of a home page: at most 150 KB compressed (issue 16).

Every response of the first load (the page, its styles, scripts, icons) is gzip-compressed here as production serves
it (whitenoise's compressed static files, gzip in front of the pages), and the sizes are summed. The figure is printed
(`-s` to see it).
"""

from __future__ import annotations

import gzip

import pytest

from tests.conftest import PASSWORD
from tests.e2e.conftest import role_personas

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

BUDGET = 150 * 1024


def test_the_first_load_of_each_home_is_under_150_kb_compressed(browser, live_server):
    weights = {}
    for persona in role_personas():
        context = browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 844})
        context.set_default_timeout(20_000)
        page = context.new_page()
        try:
            page.goto(f"{live_server.url}/login/")
            page.get_by_label("手机号或用户名").fill(persona.user.username)
            page.locator("#id_password").fill(PASSWORD)
            page.get_by_role("button", name="登录", exact=True).click()
            page.wait_for_url(f"{live_server.url}/")
            signed_in = context.storage_state()  # the session cookie, into a context with an empty cache
            first_visit = browser.new_context(
                locale="zh-CN", viewport={"width": 390, "height": 844}, storage_state=signed_in
            )
            try:
                fresh = first_visit.new_page()
                answers = []
                fresh.on("response", lambda answer, answers=answers: answers.append(answer))
                fresh.goto(f"{live_server.url}/", wait_until="networkidle")
                total = sum(len(gzip.compress(r.body(), 9)) for r in answers if r.status == 200)
            finally:
                first_visit.close()
            weights[persona.role or "outside coach"] = total
        finally:
            context.close()
    print({role: f"{size / 1024:.1f} KB" for role, size in weights.items()})
    assert weights and max(weights.values()) <= BUDGET, weights
