"""A handler's journey on the desk in Chromium: from the home card to the queue, the complaint's page, 签收, a request
for the institution's statement, and the conclusion with an answer template (the template fills the answer box).
Then the same page at 390 px does not scroll sideways."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import Role
from tests.conftest import PASSWORD, TOWN_A, make_user
from tests.factories import InstitutionFactory, region

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

ANSWER = "经调查，该机构确有拒绝退费情形，已责令其五个工作日内退还剩余费用，请您留意到账情况。"


def _sign_in(page, base_url, user):
    page.goto(f"{base_url}/login/")
    page.get_by_label("手机号或用户名").fill(user.username)
    page.locator("#id_password").fill(PASSWORD)
    page.get_by_role("button", name="登录", exact=True).click()
    page.wait_for_url(f"{base_url}/")


def test_a_handler_accepts_asks_the_institution_and_concludes_with_a_template(page, live_server):
    from supervision.complaints import services
    from supervision.models import AnswerTemplate, Complaint, RoutingRule, StatementRequest

    town = region(TOWN_A)
    handler = make_user("王科长", Role.BUREAU_STAFF, region=town)
    parent = make_user("张女士", Role.PARENT)
    institution = InstitutionFactory(name="敦仁小画家美术培训学校", town=town)
    make_user("赵经理", Role.INSTITUTION_STAFF, institution=institution)
    RoutingRule.objects.create(town=town, handler=handler)
    services.clear_routing_cache()
    AnswerTemplate.objects.create(title="退费属实", outcome="substantiated", body=ANSWER)
    complaint, _ = services.complaint_file(
        actor=parent,
        filing=services.Filing(
            category="refund",
            description="报名后孩子只上了两节课，机构拒绝退还剩余费用。",
            occurred_at=timezone.now() - timedelta(days=1),
            institution_id=institution.pk,
        ),
    )

    _sign_in(page, live_server.url, handler)
    page.get_by_test_id("card-complaints-to-accept").first.click()
    page.get_by_test_id(f"row-{complaint.pk}").get_by_role("link", name=complaint.tracking_number).click()
    page.get_by_test_id("tracking-number").wait_for()
    assert page.get_by_test_id("status").inner_text() == "已提交"

    page.get_by_test_id("action-accept").click()
    page.get_by_test_id("done").wait_for()
    assert page.get_by_test_id("status").inner_text() == "已分派"
    assert page.get_by_test_id("handler").inner_text() == "王科长"

    page.get_by_test_id("action-request-statement").click()
    page.get_by_label("问询内容（不透露投诉人身份）").fill("请说明拒绝退还剩余费用的原因并提供收费凭证。")
    page.get_by_test_id("submit-request-statement").click()
    page.get_by_test_id("done").wait_for()
    assert page.get_by_test_id("status").inner_text() == "调查中"
    assert page.get_by_test_id("event-statement.request").count() == 1

    page.get_by_test_id("action-conclude").click()
    page.get_by_label("处理结果", exact=True).select_option("substantiated")
    page.get_by_test_id("answer-template").select_option(label="退费属实（属实）")
    assert page.locator("#conclude-answer").input_value() == ANSWER  # the template fills the box, editable
    page.get_by_test_id("submit-conclude").click()
    page.get_by_test_id("done").wait_for()
    assert page.get_by_test_id("status").inner_text() == "已答复"
    assert page.get_by_test_id("answer").inner_text() == ANSWER
    assert page.get_by_test_id("action-conclude").count() == 0

    complaint = Complaint.objects.get(pk=complaint.pk)
    assert complaint.status == "answered" and complaint.outcome == "substantiated"
    assert StatementRequest.objects.filter(complaint=complaint).count() == 1

    page.set_viewport_size({"width": 390, "height": 844})
    for path in (f"/desk/complaints/{complaint.pk}/", "/desk/"):
        page.goto(live_server.url + path)
        width = page.evaluate("Math.max(document.documentElement.scrollWidth, document.body.scrollWidth)")
        assert width <= 390, (path, width)
