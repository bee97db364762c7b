"""The inspector's home card "待同步记录" shows what the phone app has waiting (kept on the phone, not the server)."""

import pytest

from accounts.models import Role
from tests.conftest import PASSWORD, TOWN_A, make_user, region

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_the_outbox_card_counts_what_the_phone_keeps(live_server, page):
    inspector = make_user("李督查", Role.INSPECTOR, region=region(TOWN_A))
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("手机号或用户名").fill(inspector.username or inspector.phone)
    page.locator("#id_password").fill(PASSWORD)
    page.get_by_role("button", name="登录", exact=True).click()
    page.wait_for_url(f"{live_server.url}/")
    assert page.get_by_test_id("count-outbox").inner_text() == "–"  # nothing known on this phone
    page.evaluate("localStorage.setItem('sj-pending', '3')")  # what inspector_app's outbox writes
    page.reload()
    assert page.get_by_test_id("count-outbox").inner_text() == "3"
    assert "card-waiting" in page.get_by_test_id("card-outbox").get_attribute("class")
