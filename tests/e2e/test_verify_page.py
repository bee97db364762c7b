"""The public verification page a poster's QR code opens, in Chromium at phone size (375×667): the status badge and
the name are visible, nothing scrolls sideways, Chinese is drawn with real glyphs, a rotated code warns in red.

Screenshots are written to the test's tmp_path (run with --basetemp=DIR to keep and look at them).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from PIL import Image

from institutions import services as institution_services
from institutions import verification
from institutions.models import Course, EscrowAccount, FeePackage, Institution, StaffMember, Status
from tests.conftest import DISTRICT, TOWN_A, make_user, region
from tests.factories import InstitutionFactory

# live_server implies a transactional database, flushed after each test; serialized_rollback brings back what the
# migrations loaded (the Fuling regions) before each one.
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

PHONE = {"width": 375, "height": 667}
NO_SIDEWAYS_SCROLL = "() => document.documentElement.scrollWidth"
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


@pytest.fixture
def phone(browser):
    context = browser.new_context(locale="zh-CN", viewport=PHONE, device_scale_factor=2, is_mobile=True,
                                  has_touch=True)
    context.set_default_timeout(10_000)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def make_institution(name, status=Status.LICENSED, **extra) -> Institution:
    extra = {"credit_code": None, "licence_issued_on": None, **extra}  # the model's defaults, not the factory's
    return InstitutionFactory(  # with its live token
        name=name, town=region(TOWN_A), status=status, category="subject", licence_number="教民150010270000123号",
        licence_expires_on=date(2099, 8, 31), address="重庆市涪陵区敦仁街道兴华中路 18 号 3 楼 301-305 室", **extra,
    )


def with_courses_and_teachers(institution):
    maths = Course.objects.create(institution=institution, name="初中数学同步提高（寒暑假及周末班，线下小班授课）",
                                  category="subject", subject="数学", mode="offline", class_minutes=90,
                                  grade_range="七至九年级")
    FeePackage.objects.create(course=maths, name="学期班", hours=48, months=4, price=Decimal("5760"))
    FeePackage.objects.create(course=maths, name="月卡", hours=12, months=1, price=Decimal("1440.5"))
    StaffMember.objects.create(institution=institution, name="欧阳老师", id_number_hash="a", id_number_last4="1234",
                               teacher_certificate_no="20185001234567890123")
    EscrowAccount.objects.create(institution=institution, bank="中国银行", account_number="6222000011112222")
    return institution


def shoot(page, path) -> Image.Image:
    page.screenshot(path=str(path), full_page=True)
    image = Image.open(path)
    assert image.format == "PNG"
    assert len(image.convert("RGB").getcolors(maxcolors=1_000_000)) > 20, "the screenshot is blank"
    return image


def test_a_live_code_on_a_phone(live_server, phone, tmp_path):
    institution = with_courses_and_teachers(
        make_institution("涪陵区启航教育培训学校有限责任公司（敦仁校区）超长名称测试机构名称")
    )
    token = verification.live_token(institution).token

    response = phone.goto(f"{live_server.url}/v/{token}")
    assert response.status == 200

    badge = phone.get_by_test_id("status-badge")
    assert badge.is_visible()
    assert badge.inner_text().strip() == "有效"  # one language: Chinese by default
    assert badge.evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(27, 128, 62)"  # green
    box = badge.bounding_box()
    assert box["y"] + box["height"] <= PHONE["height"], "the badge is seen without scrolling"
    name = phone.get_by_test_id("institution-name")
    assert name.is_visible() and name.inner_text() == institution.name
    assert phone.evaluate(NO_SIDEWAYS_SCROLL) <= PHONE["width"]

    assert "欧阳老师" in phone.get_by_test_id("teachers").inner_text()
    assert "2018*************123" in phone.get_by_test_id("teachers").inner_text()
    assert "¥5760.00" in phone.get_by_test_id("courses").inner_text()
    report = phone.get_by_test_id("report-link")
    assert report.is_visible()
    # through sign-up (or sign-in) to the complaint form of this institution
    assert report.get_attribute("href") == f"/accounts/signup/?next=/complaints/new%3Finstitution%3D{institution.pk}"
    assert phone.evaluate(CJK_GLYPHS_DIFFER), "Chinese drawn as boxes: apt-get install fonts-wqy-microhei"

    image = shoot(phone, tmp_path / "verify-valid.png")
    assert image.width == PHONE["width"] * 2  # device scale 2: no wider than the phone


@pytest.mark.parametrize(
    ("status", "label", "colour"),
    [
        (Status.REVOKED, "许可证已吊销", "rgb(183, 28, 28)"),
        (Status.RECTIFYING, "整改中", "rgb(214, 110, 0)"),
        (Status.CLOSED, "已注销", "rgb(110, 110, 110)"),
    ],
)
def test_other_statuses_get_their_colour(live_server, phone, tmp_path, status, label, colour):
    institution = make_institution("涪陵区某培训机构", status=status)
    phone.goto(f"{live_server.url}/v/{verification.live_token(institution).token}")
    badge = phone.get_by_test_id("status-badge")
    assert badge.is_visible() and label in badge.inner_text()
    assert badge.evaluate("e => getComputedStyle(e).backgroundColor") == colour
    assert phone.evaluate(NO_SIDEWAYS_SCROLL) <= PHONE["width"]
    shoot(phone, tmp_path / f"verify-{status}.png")


def test_a_rotated_code_warns_in_red_and_an_unknown_one_too(live_server, phone, tmp_path):
    institution = make_institution("涪陵区被仿冒的培训学校")
    old = verification.live_token(institution).token
    staff = make_user("科员", "bureau_staff", region=region(DISTRICT))
    institution_services.token_rotate(actor=staff, institution_id=institution.pk, reason="发现仿冒海报")

    response = phone.goto(f"{live_server.url}/v/{old}")
    assert response.status == 200  # a code that was real once: the warning is the answer
    notice = phone.get_by_test_id("invalid-notice")
    assert notice.is_visible()
    assert "此二维码无效，可能是伪造的" in notice.inner_text()
    assert "此二维码无效，可能是伪造的" in notice.inner_text()
    assert notice.evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(183, 28, 28)"
    assert phone.get_by_test_id("institution-name").count() == 0
    assert "被仿冒" not in phone.content()
    assert phone.get_by_test_id("report-link").get_attribute("href") == "/accounts/signup/?next=/complaints/new"
    assert phone.evaluate(NO_SIDEWAYS_SCROLL) <= PHONE["width"]
    shoot(phone, tmp_path / "verify-rotated.png")

    response = phone.goto(f"{live_server.url}/v/never-issued-token")
    assert response.status == 404
    assert "此二维码无效，可能是伪造的" in phone.get_by_test_id("invalid-notice").inner_text()

    new = verification.live_token(institution).token
    phone.goto(f"{live_server.url}/v/{new}")
    assert phone.get_by_test_id("institution-name").inner_text() == "涪陵区被仿冒的培训学校"
