# ruff: noqa: F811 - fixtures imported from inspection_fixtures are used as arguments
"""Verifying a rectification order in the inspectors' app: the inspector sees what the institution submitted (its
text and its photos, kept on the phone so the day's orders can be checked with the network cut), decides offline, and
the decision arrives once, also when the phone sends it again after a lost answer."""

from __future__ import annotations

import hashlib
import uuid

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.models import Role
from core.models import AuditEvent
from supervision.inspections import rectification
from supervision.models import RectificationOrder
from tests.conftest import make_user
from tests.e2e.test_inspector_app import all_sent, jpeg, phone, sign_in
from tests.supervision.inspection_fixtures import premises, team, visit  # noqa: F401
from tests.supervision.test_inspection_followup import do_visit

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

PHOTO_LOADED = "(img) => img.complete && img.naturalWidth > 0"


@pytest.fixture
def answered_order(visit, team):
    """An order from `visit`'s finding, answered by the institution with a text and one photo."""
    finding = do_visit(visit, team[0], internal_finding=False)[0]
    staff = make_user("机构员工", Role.INSTITUTION_STAFF, institution=finding.institution)
    order = rectification.order_issue(actor=team[0], finding_id=finding.pk, evidence_required="公示收费标准并拍照")
    content = jpeg((30, 140, 60), size=(800, 600))
    photo_uuid = str(uuid.uuid4())
    rectification.evidence_upload(
        actor=staff,
        order_id=order.pk,
        photo_uuid=photo_uuid,
        sha256=hashlib.sha256(content).hexdigest(),
        upload=SimpleUploadedFile("e.jpg", content, content_type="image/jpeg"),
    )
    rectification.order_respond(
        actor=staff, order_id=order.pk, response="已在前台张贴收费项目和标准，见照片。", photo_uuids=[photo_uuid]
    )
    return order


def test_the_inspector_sees_the_evidence_offline_and_verifies_once(browser, live_server, answered_order, team):
    order = answered_order
    context = phone(browser)
    try:
        page = context.new_page()
        sign_in(page, live_server.url, team[0])
        page.goto(f"{live_server.url}/app/inspector/#/orders")
        card = page.locator(f'[data-testid=order][data-order="{order.pk}"]')
        card.get_by_test_id("evidence-photo").wait_for()
        assert "已在前台张贴收费项目和标准" in card.get_by_test_id("evidence-text").inner_text()
        assert "公示收费标准并拍照" in card.inner_text()
        card.get_by_test_id("evidence-photo").scroll_into_view_if_needed()
        page.wait_for_function(PHOTO_LOADED, arg=card.get_by_test_id("evidence-photo").element_handle())

        # The network cut, the app opened again: the order, its text and its photo come from the phone.
        context.set_offline(True)
        page.reload()
        page.get_by_test_id("banner-offline").wait_for()
        card = page.locator(f'[data-testid=order][data-order="{order.pk}"]')
        photo = card.get_by_test_id("evidence-photo")
        photo.wait_for()
        page.wait_for_function(PHOTO_LOADED, arg=photo.element_handle())
        assert "已在前台张贴收费项目和标准" in card.get_by_test_id("evidence-text").inner_text()
        assert card.get_by_test_id("evidence-missing").count() == 0

        card.get_by_test_id("verify-note").fill("现场核实：已公示")
        card.get_by_test_id("verify-accept").click()
        card.get_by_test_id("verify-state").wait_for()
        page.get_by_test_id("pending-line").filter(has_text="1 条待上传").wait_for()
        assert RectificationOrder.objects.get(pk=order.pk).status == "answered"

        context.set_offline(False)
        all_sent(page)
        closed = RectificationOrder.objects.get(pk=order.pk)
        assert closed.status == "closed" and closed.verification_note == "现场核实：已公示"

        # The server's answer lost on the way back: the phone sends the decision again, the server refuses a second
        # verification and the phone sees that this very decision is the one recorded.
        page.evaluate(
            "() => SJ.db.records.where('channel').equals('order').modify({state: 'pending'}).then(() => SJ.changed())"
        )
        page.get_by_test_id("pending-line").filter(has_text="1 条待上传").wait_for()
        page.get_by_test_id("sync-button").click()
        all_sent(page)
        page.goto(f"{live_server.url}/app/inspector/#/outbox")
        page.locator('[data-testid=record][data-state="already_applied"]').wait_for()
        assert page.locator('[data-testid=record][data-state="rejected"]').count() == 0
        # Closed: no longer among the orders to verify, and its photos are no longer kept on the phone.
        page.goto(f"{live_server.url}/app/inspector/#/orders")
        page.get_by_test_id("orders").wait_for(state="attached")
        assert page.locator(f'[data-testid=order][data-order="{order.pk}"]').count() == 0
        page.wait_for_function("() => SJ.db.evidence.count().then((n) => n === 0)")
    finally:
        context.close()
    assert AuditEvent.objects.filter(verb="rectification.close", object_id=str(order.pk)).count() == 1


def test_a_follow_up_visit_leads_to_the_order_and_its_evidence(browser, live_server, answered_order, team):
    from supervision.models import Inspection

    order = answered_order
    followup = rectification.order_followup_open(actor=team[0], order_id=order.pk)
    Inspection.objects.filter(pk=followup.pk).update(due_by=order.due_on)
    context = phone(browser)
    try:
        page = context.new_page()
        sign_in(page, live_server.url, team[0])
        page.goto(f"{live_server.url}/app/inspector/#/visit/{followup.pk}")
        page.get_by_test_id("order-link").click()
        card = page.locator(f'[data-testid=order][data-order="{order.pk}"]')
        card.get_by_test_id("evidence-photo").wait_for()
        assert page.locator("[data-testid=order]").count() == 1
        card.get_by_test_id("verify-note").fill("照片不清楚，请补充门口照片")
        card.get_by_test_id("verify-reject").click()
        card.get_by_test_id("verify-state").wait_for()
        all_sent(page)
    finally:
        context.close()
    sent_back = RectificationOrder.objects.get(pk=order.pk)
    assert sent_back.status == "open" and sent_back.verification_note == "照片不清楚，请补充门口照片"
