"""The frame in a real browser: at 390×844 a signed-in parent has the tab bar, opens the inbox, and a notification
created on the server while the page is open appears live (count in the header, entry on top); nothing scrolls
sideways. At 1440×900 the side menu shows instead.

The live part needs HTTP and the websocket on one origin, so this test serves the ASGI application (config.asgi:
Django plus Channels) with uvicorn in a thread of this process: the in-memory channel layer, which does not cross
processes, then carries the push. The notification is created on the server's own event loop (through
sync_to_async, as a request would), because Playwright's loop occupies the test's main thread.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time

import pytest
from asgiref.sync import sync_to_async

from accounts.models import Role
from core.notifications import notify
from tests.conftest import DISTRICT, PASSWORD, make_user, region

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1440, "height": 900}


class AsgiServer:
    def __init__(self):
        import uvicorn

        from config.asgi import application

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        config = uvicorn.Config(
            application, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off", ws="websockets-sansio"
        )
        self.server = uvicorn.Server(config)
        self.loop: asyncio.AbstractEventLoop | None = None
        self.thread = threading.Thread(target=self._run, name="asgi-live-server", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _run(self):
        self.loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(self.server.serve())

    def start(self):
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.05)

    def call(self, fn, *args, **kwargs):
        """Run fn on the server's loop as a sync view would (a thread under sync_to_async) and wait for it."""
        return asyncio.run_coroutine_threadsafe(sync_to_async(fn)(*args, **kwargs), self.loop).result(timeout=10)

    def stop(self):
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture
def asgi_server(transactional_db, browser):
    server = AsgiServer()
    server.start()
    yield server
    server.stop()


def sign_in(page, base_url, login):
    page.goto(f"{base_url}/login/")
    page.get_by_label("手机号或用户名").fill(login)
    page.locator("#id_password").fill(PASSWORD)
    page.get_by_role("button", name="登录", exact=True).click()
    page.wait_for_url(f"{base_url}/")


def document_width(page) -> int:
    return page.evaluate("Math.max(document.documentElement.scrollWidth, document.body.scrollWidth)")


def test_a_parent_on_a_phone_gets_the_tab_bar_and_live_notifications(asgi_server, browser):
    parent = make_user("张家长", Role.PARENT, phone="13800000031")
    context = browser.new_context(locale="zh-CN", viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True)
    context.set_default_timeout(10_000)
    page = context.new_page()
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    try:
        sign_in(page, asgi_server.url, parent.phone)
        tab_bar = page.get_by_test_id("tab-bar")
        assert tab_bar.is_visible() and not page.get_by_test_id("side-menu").is_visible()
        assert tab_bar.locator("a:visible, summary:visible").count() == 5  # four tabs and "更多"
        assert document_width(page) <= 390

        tab_bar.get_by_role("link", name="通知").click()
        page.wait_for_url(f"{asgi_server.url}/notifications/")
        assert tab_bar.get_by_role("link", name="通知").get_attribute("aria-current") == "page"
        assert page.get_by_test_id("unread-count").is_hidden()
        page.wait_for_selector("body[data-live-state=open]")

        asgi_server.call(notify, recipients=[parent], kind="complaint.answered", title="您的投诉已有答复")
        entry = page.get_by_test_id("notification").first
        entry.wait_for()
        assert "您的投诉已有答复" in entry.inner_text()
        assert "unread" in entry.get_attribute("class")
        badge = page.get_by_test_id("unread-count")
        assert badge.is_visible() and badge.inner_text() == "1"
        assert document_width(page) <= 390

        page.reload()  # the truth is the inbox: the same entry, unread, from the server
        assert page.get_by_test_id("notification").count() == 1
        assert page.get_by_test_id("unread-count").inner_text() == "1"

        tab_bar.get_by_text("更多").click()  # the rest of the menu, the language switch and signing out
        assert tab_bar.get_by_role("link", name="机构名录").is_visible()
        assert tab_bar.get_by_role("button", name="English").is_visible()
        assert document_width(page) <= 390
        page.keyboard.press("Escape")  # closes the panel again
        assert not tab_bar.get_by_role("link", name="机构名录").is_visible()

        page.get_by_test_id("back").click()  # the way back: home
        page.wait_for_url(f"{asgi_server.url}/")
        assert not [e for e in errors if "Content Security Policy" in e or "Refused" in e], errors
    finally:
        context.close()


def test_on_a_desktop_the_side_menu_shows_instead(asgi_server, browser):
    staff = make_user("王科长", Role.BUREAU_STAFF, region=region(DISTRICT))
    context = browser.new_context(locale="zh-CN", viewport=DESKTOP)
    context.set_default_timeout(10_000)
    page = context.new_page()
    try:
        sign_in(page, asgi_server.url, staff.username)
        side = page.get_by_test_id("side-menu")
        assert side.is_visible() and not page.get_by_test_id("tab-bar").is_visible()
        assert side.get_by_role("link", name="首页").get_attribute("aria-current") == "page"
        side.get_by_role("link", name="机构名录").click()
        page.wait_for_url(f"{asgi_server.url}/registry/")
        assert side.get_by_role("link", name="机构名录").get_attribute("aria-current") == "page"
        box = side.bounding_box()
        assert box["x"] == 0 and box["width"] >= 200
        assert document_width(page) <= 1440
    finally:
        context.close()
