"""The web sign-in page in a real browser: username or mobile number, the home page greets by name, bad passwords."""

import pytest
from PIL import Image

from accounts.models import Role
from tests.conftest import DISTRICT, PASSWORD, TOWN_A, make_user, region

# live_server implies a transactional database, which is flushed after each test; serialized_rollback brings back
# what the migrations loaded (the Fuling regions) before each one.
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

WRONG_LOGIN = "手机号/用户名或密码错误"

# Two different characters drawn in the page's font: equal pixels mean both came out as the same "tofu" box.
CJK_GLYPHS_DIFFER = """() => {
  const draw = (ch) => {
    const canvas = document.createElement("canvas");
    canvas.width = canvas.height = 40;
    const ctx = canvas.getContext("2d");
    ctx.font = "32px " + getComputedStyle(document.body).fontFamily;
    ctx.fillText(ch, 4, 32);
    return Array.from(ctx.getImageData(0, 0, 40, 40).data).join(",");
  };
  return draw("双") !== draw("减");
}"""


def sign_in(page, base_url, login, password=PASSWORD):
    page.goto(f"{base_url}/login/")
    page.get_by_label("手机号或用户名").fill(login)
    page.locator("#id_password").fill(password)
    page.get_by_role("button", name="登录", exact=True).click()
    page.wait_for_load_state()


def test_sign_in_with_username_or_mobile_number_greets_by_name(live_server, page, tmp_path):
    staff = make_user("王科长", Role.BUREAU_STAFF, region=region(DISTRICT))
    make_user("赵督查", Role.INSPECTOR, phone="13800000009", region=region(TOWN_A))

    sign_in(page, live_server.url, staff.username)
    assert page.url == f"{live_server.url}/"
    assert page.get_by_test_id("user-name").inner_text() == "王科长"
    assert page.get_by_test_id("welcome-name").inner_text() == "王科长"
    assert page.title().startswith("首页")

    shot = tmp_path / "home.png"
    page.screenshot(path=str(shot), full_page=True)
    with Image.open(shot) as image:
        assert image.format == "PNG" and image.width >= 1000
        assert len(image.convert("RGB").getcolors(maxcolors=1_000_000)) > 20, "the screenshot is blank"
    assert page.evaluate(CJK_GLYPHS_DIFFER), "Chinese drawn as boxes: apt-get install fonts-wqy-microhei"

    page.get_by_role("button", name="退出", exact=True).click()
    page.wait_for_url(f"{live_server.url}/login/")
    assert page.get_by_test_id("user-name").count() == 0

    sign_in(page, live_server.url, "13800000009")  # by mobile number this time
    assert page.url == f"{live_server.url}/"
    assert page.get_by_test_id("user-name").inner_text() == "赵督查"
    assert page.get_by_test_id("welcome-name").inner_text() == "赵督查"


def test_wrong_password_stays_on_login_page_with_error(live_server, page):
    staff = make_user("王科长", Role.BUREAU_STAFF, region=region(DISTRICT))

    sign_in(page, live_server.url, staff.username, password="not-the-password")

    assert page.url.startswith(f"{live_server.url}/login/")
    error = page.locator(".errorlist").filter(has_text=WRONG_LOGIN)
    assert error.is_visible()
    assert page.get_by_test_id("user-name").count() == 0
    assert page.get_by_test_id("welcome-name").count() == 0
    assert page.locator("#id_username").input_value() == staff.username  # kept for another try
    assert page.locator("#id_password").input_value() == ""  # the password is not echoed back
