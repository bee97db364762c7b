"""The developers' API docs (/api/v1/docs, linked from the README) render every operation in Chromium, from local
assets under the Content-Security-Policy (no CDN, no console error)."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db]


def test_swagger_ui_lists_the_operations_without_a_parser_error(page, live_server):
    errors = []
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    page.set_default_timeout(60_000)  # a 1.4 MB bundle through the test server on a busy 2-core machine
    page.goto(f"{live_server.url}/api/v1/docs", wait_until="domcontentloaded")
    page.locator(".opblock").first.wait_for()
    assert page.locator(".opblock").count() > 100
    assert page.get_by_text("Parser error").count() == 0
    assert errors == []
