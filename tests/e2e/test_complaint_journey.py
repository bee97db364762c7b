"""The complaint's journey across three people (issue 17): a parent files from the QR verification page, the handler
accepts it and asks the institution for a statement, the institution answers in the browser with a photo, the
handler concludes, the parent is texted, finds the answer under "我的投诉" and rates it; all on phone-sized pages."""

import time

import pytest
from django.utils import timezone

from accounts import sms
from accounts.models import Role
from supervision.models import Complaint, StatementRequest
from tests.conftest import PASSWORD, TOWN_A, TOWN_B, make_user, region
from tests.e2e.test_complaint_page import reference_data
from tests.factories import image_bytes
from tests.institutions.helpers import make_institution

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

PHONE = {"width": 390, "height": 844}


def _phone(browser):
    context = browser.new_context(locale="zh-CN", viewport=PHONE, is_mobile=True)
    context.set_default_timeout(15_000)
    return context, context.new_page()


def _sign_in(page, base: str, login: str) -> None:
    page.goto(f"{base}/login/")
    page.get_by_label("手机号或用户名").fill(login)
    page.locator("#id_password").fill(PASSWORD)
    page.get_by_role("button", name="登录", exact=True).click()
    page.wait_for_url(f"{base}/")


def _fits(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], page.url


def test_file_accept_ask_answer_conclude_rate(live_server, browser, tmp_path):
    started = time.monotonic()
    reference_data()
    institution = make_institution("涪陵区小画家美术培训学校")
    token = institution.tokens.get().token
    make_user("张女士", Role.PARENT, phone="13900000008", username=None)
    handler = make_user("王科长", Role.BUREAU_STAFF, region=region(TOWN_A))
    make_user("赵经理", Role.INSTITUTION_STAFF, phone="13900000007", username=None, institution=institution)
    photo = tmp_path / "公示.jpg"
    photo.write_bytes(image_bytes(size=(320, 240)))
    sms.outbox.clear()
    base = live_server.url

    # 1. The parent scans the poster and files.
    parent_context, page = _phone(browser)
    try:
        page.goto(f"{base}/v/{token}")
        page.locator("a.report").click()
        page.get_by_test_id("sign-in-link").click()
        page.get_by_label("手机号或用户名").fill("13900000008")
        page.locator("#id_password").fill(PASSWORD)
        page.get_by_role("button", name="登录", exact=True).click()
        page.locator("#description").fill("报名后机构拒绝退还剩余 24 课时的费用，多次沟通无果。")
        page.get_by_role("button", name="提交投诉", exact=True).click()
        number = page.get_by_test_id("tracking-number").inner_text()
        complaint = Complaint.objects.get(tracking_number=number)
        assert page.get_by_test_id("step").first.inner_text().startswith("已提交")
        # A message to the handler: the thread is updated in place (htmx), the page stays where it is.
        page.locator("#message-body").fill("机构前台说负责人不在，无法处理退费。")
        page.get_by_role("button", name="发送留言", exact=True).click()
        page.get_by_test_id("message").filter(has_text="负责人不在").wait_for()
        assert page.get_by_test_id("done").inner_text() == "留言已发送"
        assert page.url.endswith(f"/complaints/{complaint.pk}/")  # no reload

        # 2. The handler, on the desk (a phone too): 签收 (accept and take), then ask the institution for a statement.
        desk_context, desk = _phone(browser)
        _sign_in(desk, base, handler.username or handler.phone)
        desk.goto(f"{base}/desk/complaints/{complaint.pk}/")
        desk.get_by_test_id("action-accept").click()
        desk.get_by_test_id("done").wait_for()
        desk.get_by_test_id("action-request-statement").click()
        desk.get_by_label("问询内容（不透露投诉人身份）").fill("请说明退费规则及本次处理情况。")
        desk.get_by_test_id("submit-request-statement").click()
        desk.get_by_test_id("done").wait_for()
        assert desk.get_by_test_id("status").inner_text() == "调查中"
        _fits(desk)
        request = StatementRequest.objects.get(complaint=complaint)

        # 3. The institution answers in the browser, from its home's card, with a photo; it never sees the parent.
        staff_context, staff = _phone(browser)
        try:
            _sign_in(staff, base, "13900000007")
            staff.get_by_test_id("card-statements").click()
            staff.get_by_test_id(f"row-{request.pk}").get_by_role("link").click()
            assert "请说明退费规则" in staff.get_by_test_id("question").inner_text()
            assert "张女士" not in staff.content() and "13900000008" not in staff.content()
            _fits(staff)
            staff.locator("#statement").fill("按合同退还剩余课时费，已与家长约定退费时间。")
            staff.locator("#evidence").set_input_files(str(photo))
            staff.get_by_role("button", name="提交情况说明", exact=True).click()
            assert "情况说明已提交" in staff.get_by_test_id("done").inner_text()
            assert staff.get_by_test_id("evidence-photo").count() == 1
            # The thumbnail is lazy-loaded: scrolled to, it must arrive and decode (waited for, not sampled once).
            evidence_photo = staff.get_by_test_id("evidence-photo")
            evidence_photo.scroll_into_view_if_needed()
            staff.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=evidence_photo.element_handle())
        finally:
            staff_context.close()

        # 4. The handler reads the statement on the desk and concludes; the parent is texted after commit.
        try:
            desk.goto(f"{base}/desk/complaints/{complaint.pk}/")
            assert "按合同退还剩余课时费" in desk.content()
            desk.get_by_test_id("action-conclude").click()
            desk.get_by_label("处理结果", exact=True).select_option("substantiated")
            desk.locator("#conclude-answer").fill("经查属实，已责令机构五个工作日内退还剩余费用。")
            desk.get_by_test_id("submit-conclude").click()
            desk.get_by_test_id("done").wait_for()
            assert desk.get_by_test_id("status").inner_text() == "已答复"
        finally:
            desk_context.close()
        assert [p for p, _ in sms.outbox] == ["13900000008"] and number in sms.outbox[0][1]

        # 5. The parent finds it under 我的投诉, reads the answer and rates it.
        page.goto(f"{base}/")
        page.get_by_test_id("card-complaints-to-rate").click()
        page.get_by_test_id(f"row-{complaint.pk}").get_by_role("link").click()
        assert "经查属实" in page.get_by_test_id("answer").inner_text()
        assert "截止" in page.get_by_test_id("reopen-section").inner_text()  # reopening offered, with its deadline
        _fits(page)
        page.get_by_test_id("rate-form").locator("label", has_text="5").click()
        page.locator("#rate-comment").fill("处理及时，谢谢。")
        page.get_by_role("button", name="提交评价", exact=True).click()
        assert "感谢您的评价" in page.get_by_test_id("done").inner_text()
        assert page.get_by_test_id("status").inner_text().startswith("已办结")
        steps = page.get_by_test_id("step").all_inner_texts()
        assert any(s.startswith("已答复") for s in steps) and any(s.startswith("您已评价") for s in steps)
        assert "王科长" not in page.content()
    finally:
        parent_context.close()
    complaint.refresh_from_db()
    assert (complaint.status, complaint.rating, complaint.closed_at is not None) == ("closed", 5, True)
    assert complaint.closed_at <= timezone.now()
    assert time.monotonic() - started < 60


def test_a_handler_passes_a_complaint_to_a_colleague_and_writes_to_the_parent(live_server, browser):
    """On a phone: the picker offers only the colleagues covering the town; the colleague finds it in their queue and
    writes to the parent, who reads it on their page."""
    from supervision.complaints import services

    reference_data()
    institution = make_institution("涪陵区小画家美术培训学校")
    parent = make_user("张女士", Role.PARENT, phone="13900000008", username=None)
    handler = make_user("王科长", Role.BUREAU_STAFF, region=region(TOWN_A))
    colleague = make_user("陈科员", Role.BUREAU_STAFF, region=region(TOWN_A))
    make_user("李科员", Role.BUREAU_STAFF, region=region(TOWN_B))  # another town: never offered
    complaint, _ = services.complaint_file(
        actor=parent,
        filing=services.Filing(category="refund", description="报名后机构拒绝退还剩余 24 课时的费用，多次沟通无果。",
                               occurred_at=timezone.now(), institution_id=institution.pk),
    )  # fmt: skip
    services.complaint_take(actor=handler, complaint_id=complaint.pk)
    base = live_server.url

    desk_context, desk = _phone(browser)
    try:
        _sign_in(desk, base, handler.username or handler.phone)
        desk.goto(f"{base}/desk/complaints/{complaint.pk}/")
        desk.get_by_test_id("action-assign").click()
        offered = desk.get_by_test_id("assign-handler").locator("option").all_inner_texts()
        assert "陈科员" in offered and "李科员" not in offered and "王科长" not in offered
        _fits(desk)
        desk.get_by_test_id("assign-handler").select_option(label="陈科员")
        desk.get_by_test_id("submit-assign").click()
        assert "对方已收到通知" in desk.get_by_test_id("done").inner_text()
        assert desk.get_by_test_id("handler").inner_text() == "陈科员"
    finally:
        desk_context.close()

    colleague_context, other = _phone(browser)
    try:
        _sign_in(other, base, colleague.username or colleague.phone)
        other.goto(f"{base}/desk/?flag=mine")
        other.get_by_test_id(f"row-{complaint.pk}").get_by_role("link").first.click()
        other.get_by_test_id("action-message").click()
        other.locator("#message-body").fill("您好，我们已联系机构，请保留好缴费凭证。")
        other.get_by_test_id("submit-message").click()
        assert other.get_by_test_id("done").inner_text() == "留言已发送。"
        _fits(other)
    finally:
        colleague_context.close()

    parent_context, page = _phone(browser)
    try:
        _sign_in(page, base, "13900000008")
        page.goto(f"{base}/complaints/{complaint.pk}/")
        assert "请保留好缴费凭证" in page.content()
        _fits(page)
    finally:
        parent_context.close()


def test_an_open311_photo_link_is_an_external_link_that_fits_a_phone(live_server, browser):
    """The desk shows an Open311 media_url as a link (never an image from elsewhere), wrapped at 390 px."""
    from supervision.complaints.open311 import services as open311
    from supervision.models import RoutingRule

    reference_data()
    institution = make_institution("涪陵区小画家美术培训学校")
    handler = make_user("王科长", Role.BUREAU_STAFF, region=region(TOWN_A))
    RoutingRule.objects.create(town=region(TOWN_A), handler=handler)
    admin = make_user("周局长", Role.BUREAU_ADMIN, region=region(TOWN_A))
    client, _key = open311.client_register(actor=admin, name="随手拍")
    url = "https://img.example.org/uploads/" + "a1b2c3d4" * 30 + ".jpg"
    row, _ = open311.request_file(
        client=client,
        filing=open311.Open311Filing(
            service_code="refund", description="机构拒绝退还剩余课时费用，多次沟通无果。", lat="29.703",
            long="107.389", media_url=url, attributes={"institution_id": str(institution.pk)},
        ),
    )  # fmt: skip
    desk_context, desk = _phone(browser)
    try:
        _sign_in(desk, live_server.url, handler.username or handler.phone)
        desk.goto(f"{live_server.url}/desk/complaints/{row.complaint_id}/")
        link = desk.get_by_test_id("media-url").get_by_role("link")
        assert link.get_attribute("href") == url and link.get_attribute("target") == "_blank"
        assert desk.locator(f'img[src="{url}"]').count() == 0
        _fits(desk)
    finally:
        desk_context.close()
