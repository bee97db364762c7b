"""The 12345 hotline: work orders in (POST /api/v1/hotline/work-orders, one complaint per order number), every state
change and the outcome back to the sender through the outbox: retried, failed and visible to the bureau, resent by
hand, delivered once; the sender's key checked; bad input answered in the API's one error shape."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import Role
from core.models import Notification
from supervision.complaints import services
from supervision.complaints.hotline import services as hotline
from supervision.models import Complaint, HotlineEvent, HotlineOrder, OutboxState, RoutingRule
from tests.conftest import DISTRICT, TOWN_A, ApiClient, assert_error, login_tokens, make_user, region
from tests.supervision.conftest import complaint_body
from tests.supervision.hotline_support import Receiver

pytestmark = pytest.mark.django_db

URL = "hotline/work-orders"


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def supervisor(db):
    return make_user("周局长", Role.BUREAU_ADMIN, region=region(DISTRICT))


@pytest.fixture
def system(supervisor, receiver):
    system, key = hotline.system_register(actor=supervisor, name="重庆12345", callback_url=receiver.url)
    system.key = key
    return system


@pytest.fixture
def handler(registered, staff_a):
    RoutingRule.objects.create(town=registered.town, category=None, handler=staff_a)
    services.clear_routing_cache()
    return staff_a


def order(registered, number="CQ12345-0001", **extra):
    body = {
        "order_number": number,
        "caller": {"name": "王先生", "phone": "13800001111"},
        "content": "该机构拒绝退还剩余课时费用，多次沟通无果。",
        "category": "refund",
        "deadline": "2027-01-15T18:00:00+08:00",
        "institution_id": registered.pk,
    }
    return {**body, **extra}


def send(system_or_key, body):
    key = getattr(system_or_key, "key", system_or_key)
    headers = {"HTTP_X_HOTLINE_KEY": key} if key else {}
    return ApiClient().post(URL, body, **headers)


def test_the_same_order_number_twice_files_one_complaint(
    system, registered, handler, receiver, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        first = send(system, order(registered))
    assert first.status_code == 201, first.content
    with django_capture_on_commit_callbacks(execute=True):
        again = send(system, order(registered))
    assert again.status_code == 200
    assert again.json() == first.json()
    assert Complaint.objects.count() == 1 and HotlineOrder.objects.count() == 1
    complaint = Complaint.objects.get()
    assert complaint.tracking_number == first.json()["tracking_number"]
    assert complaint.handler == handler  # routed like any filing
    assert complaint.parent_id == system.user_id  # the system files; the caller stays on the order, for the bureau
    assert "13800001111" not in str(Complaint.objects.filter(pk=complaint.pk).values().get())
    # The sender heard "received" once, with the event id it can de-duplicate on.
    [received] = receiver.delivered()
    assert received["event"] == "received" and received["order_number"] == "CQ12345-0001"
    assert received["event_id"] == receiver.received[0]["event_id"]


def test_the_same_number_with_another_content_is_refused(system, registered, handler):
    assert send(system, order(registered)).status_code == 201
    other = send(system, order(registered, content="另一件事情，完全不同的诉求内容。"))
    assert_error(other, 409, "hotline.order_number_reused")
    assert Complaint.objects.count() == 1


def test_every_state_change_and_the_outcome_go_back_in_order_once_each(
    system, registered, handler, receiver, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        complaint_id = send(system, order(registered)).json()["complaint_id"]
    for action, data in [
        ("accept", {}),
        ("assign", {}),
        ("start", {}),
        ("answer", {"outcome": "substantiated", "answer": "经核实，机构已退还剩余课时费用 2400 元。"}),
    ]:
        with django_capture_on_commit_callbacks(execute=True):
            services.complaint_act(actor=handler, complaint_id=complaint_id, action=action, data=data)
    delivered = receiver.delivered()
    assert [e["event"] for e in delivered] == ["received", "accept", "assign", "start", "answer"]
    assert [e["sequence"] for e in delivered] == [1, 2, 3, 4, 5]
    assert len({e["event_id"] for e in delivered}) == 5
    outcome = delivered[-1]
    assert outcome["status"] == "answered" and outcome["from_status"] == "investigating"
    assert outcome["outcome"] == "substantiated" and "2400" in outcome["answer"]
    assert set(HotlineEvent.objects.values_list("state", flat=True)) == {OutboxState.DELIVERED}


def test_a_handlers_message_goes_back_to_12345_in_the_same_transaction(
    system, registered, handler, receiver, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        complaint_id = send(system, order(registered)).json()["complaint_id"]
        services.complaint_act(actor=handler, complaint_id=complaint_id, action="accept", data={})
    api = ApiClient(login_tokens(handler)["access"])
    with django_capture_on_commit_callbacks(execute=True):
        posted = api.post(f"complaints/{complaint_id}/messages", {"body": "已联系机构，请来电人保留缴费凭证。"})
    assert posted.status_code == 201, posted.content
    events = receiver.delivered()
    assert [e["event"] for e in events] == ["received", "accept", "message"]
    message = events[-1]
    assert message["message"] == "已联系机构，请来电人保留缴费凭证。" and message["awaiting_caller"] is False
    assert message["status"] == message["from_status"] == "accepted" and message["sequence"] == 3
    # Asking for more (the clock paused) goes back too, marked as waiting for the caller.
    with django_capture_on_commit_callbacks(execute=True):
        services.complaint_ask_parent(actor=handler, complaint_id=complaint_id, body="请提供缴费收据照片。")
    assert receiver.delivered()[-1]["awaiting_caller"] is True
    # A message refused (empty) writes no event: the event exists exactly when the message does.
    assert api.post(f"complaints/{complaint_id}/messages", {"body": "  "}).status_code in (400, 422)
    assert HotlineEvent.objects.filter(kind="message").count() == 2


def test_a_message_that_fails_rolls_back_its_event(system, registered, handler, monkeypatch):
    complaint_id = send(system, order(registered)).json()["complaint_id"]
    services.complaint_act(actor=handler, complaint_id=complaint_id, action="accept", data={})

    def broken(**kwargs):
        raise RuntimeError("inbox down")

    monkeypatch.setattr(services, "notify", broken)
    with pytest.raises(RuntimeError):
        services.complaint_message_post(actor=handler, complaint_id=complaint_id, body="请补充缴费凭证。")
    assert not HotlineEvent.objects.filter(kind="message").exists()
    assert not Complaint.objects.get(pk=complaint_id).messages.exists()


def test_messages_of_other_complaints_write_no_event_and_cost_no_query(registered, handler, parent):
    filed = ApiClient(login_tokens(parent)["access"]).post("complaints", complaint_body(registered))
    complaint = Complaint.objects.get(pk=filed.json()["id"])
    services.complaint_act(actor=handler, complaint_id=complaint.pk, action="accept", data={})
    message = services.complaint_message_post(actor=handler, complaint_id=complaint.pk, body="请补充缴费凭证。")
    with CaptureQueriesContext(connection) as queries:
        hotline.on_message(complaint, message)
    assert len(queries) == 0
    assert not HotlineEvent.objects.exists()
    # The parent's own messages are not the bureau's: nothing is sent for them either.
    services.complaint_message_post(actor=parent, complaint_id=complaint.pk, body="凭证已上传。")
    assert not HotlineEvent.objects.exists()


def test_other_complaints_write_no_event_and_cost_no_query(registered, handler, parent):
    filed = ApiClient(login_tokens(parent)["access"]).post("complaints", complaint_body(registered))
    complaint = Complaint.objects.get(pk=filed.json()["id"])
    with CaptureQueriesContext(connection) as queries:
        hotline.on_complaint_change(complaint, verb="complaint.accept", from_state="submitted", data={})
    assert len(queries) == 0
    services.complaint_act(actor=handler, complaint_id=complaint.pk, action="accept", data={})
    assert not HotlineEvent.objects.exists()


def test_a_sender_that_is_down_is_retried_then_failed_visible_and_resent_by_hand_delivered_once(
    system, registered, handler, supervisor, receiver, settings, client, django_capture_on_commit_callbacks
):
    settings.HOTLINE_MAX_ATTEMPTS = 3
    with django_capture_on_commit_callbacks(execute=True):
        complaint_id = send(system, order(registered)).json()["complaint_id"]
    receiver.down = True
    with django_capture_on_commit_callbacks(execute=True):
        services.complaint_act(actor=handler, complaint_id=complaint_id, action="accept", data={})
    event = HotlineEvent.objects.get(kind="accept")
    assert event.state == OutboxState.FAILED and event.attempts == 3 and event.last_error == "HTTP 503"
    assert [r["status"] for r in receiver.received[1:]] == [503, 503, 503]  # retried, each time the same event id
    assert {r["event_id"] for r in receiver.received[1:]} == {str(event.event_id)}
    # The district supervisor is told and sees it on the outbox page, with a resend button.
    assert Notification.objects.filter(recipient=supervisor, kind="hotline.event_failed").exists()
    client.force_login(supervisor)
    page = client.get("/hotline/outbox/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "CQ12345-0001" in html and f'data-testid="resend-{event.pk}"' in html and "HTTP 503" in html

    receiver.down = False
    with django_capture_on_commit_callbacks(execute=True):
        resent = client.post(f"/hotline/outbox/{event.pk}/resend", follow=True)
    assert resent.status_code == 200 and "已重新发送" in resent.content.decode()
    event.refresh_from_db()
    assert event.state == OutboxState.DELIVERED and event.delivered_at
    assert [e["event_id"] for e in receiver.delivered()].count(str(event.event_id)) == 1
    # A delivered event is not sent again: neither by a second press nor by the sweep.
    with django_capture_on_commit_callbacks(execute=True):
        again = client.post(f"/hotline/outbox/{event.pk}/resend", follow=True)
        hotline.outbox_sweep(grace_seconds=0)
    assert "只有发送失败的事件可以重发" in again.content.decode()
    assert [e["event_id"] for e in receiver.delivered()].count(str(event.event_id)) == 1


def test_the_outbox_page_is_the_district_supervisors_only(client, staff_a, parent, system, supervisor):
    assert client.get("/hotline/outbox/").status_code == 302  # to sign in
    for someone in (staff_a, parent):
        client.force_login(someone)
        assert client.get("/hotline/outbox/").status_code == 404
        assert client.post("/hotline/outbox/1/resend").status_code == 404
    client.force_login(supervisor)
    assert client.get("/hotline/outbox/?filter=nonsense").status_code == 404
    assert "12345" in client.get("/").content.decode()  # the menu leads there


def test_the_outbox_page_costs_the_same_queries_for_more_rows(
    system, registered, handler, supervisor, client, settings, receiver, django_capture_on_commit_callbacks
):
    settings.HOTLINE_MAX_ATTEMPTS = 1
    receiver.down = True
    client.force_login(supervisor)

    def count(n):
        for i in range(n):
            with django_capture_on_commit_callbacks(execute=True):
                send(system, order(registered, number=f"Q{n}-{i}"))
        with CaptureQueriesContext(connection) as queries:
            assert client.get("/hotline/outbox/").status_code == 200
        return len(queries)

    assert count(2) == count(12)


def test_a_lost_delivery_is_sent_again_by_the_sweep(system, registered, handler, receiver):
    send(system, order(registered))  # committed without running on_commit: as if the broker dropped the message
    event = HotlineEvent.objects.get()
    assert event.state == OutboxState.PENDING
    HotlineEvent.objects.filter(pk=event.pk).update(created_at=timezone.now() - timedelta(minutes=5))
    from django.test import TestCase

    with TestCase.captureOnCommitCallbacks(execute=True):
        assert hotline.outbox_sweep() == 1
    event.refresh_from_db()
    assert event.state == OutboxState.DELIVERED


def test_backoff_doubles_up_to_ten_minutes():
    assert [hotline.backoff_seconds(n) for n in range(1, 8)] == [30, 60, 120, 240, 480, 600, 600]


# --- Who may send ---------------------------------------------------------------------------------------------------


def test_only_a_registered_active_system_may_send(system, registered, parent):
    assert_error(send(None, order(registered)), 401)
    assert_error(send("sjh_forged", order(registered)), 401)
    bearer = ApiClient(login_tokens(parent)["access"]).post(URL, order(registered))
    assert_error(bearer, 401)  # a person's token is not a system's key
    system.is_active = False
    system.save(update_fields=["is_active"])
    assert_error(send(system, order(registered)), 401)
    assert not Complaint.objects.exists()


def test_keys_are_stored_hashed_and_rotated(system, supervisor, registered, handler):
    assert system.key not in str(type(system).objects.filter(pk=system.pk).values().get())
    new_key = hotline.system_rotate_key(actor=supervisor, system_id=system.pk)
    assert_error(send(system, order(registered)), 401)
    assert send(new_key, order(registered)).status_code == 201


# --- Bad input ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "status", "code", "field"),
    [
        ({"caller": None}, 422, "request.invalid", "caller"),
        ({"order_number": "含空格 的号"}, 422, "request.invalid", "order_number"),
        ({"content": "太短"}, 422, "request.invalid", "content"),
        ({"content": "          空白          "}, 422, "complaint.description_length", "content"),
        ({"deadline": "0001-01-01T00:00:00+08:00"}, 422, "request.invalid", "deadline"),
        ({"deadline": "明天"}, 422, "request.invalid", "deadline"),
        ({"category": "nonsense"}, 422, "complaint.unknown_category", "category"),
        ({"institution_id": None}, 422, "hotline.institution_required", "institution_name"),
        ({"institution_id": None, "institution_name": "无名培训点"}, 422, "hotline.town_required", "town_code"),
        ({"institution_id": 999999}, 422, "complaint.unknown_institution", "institution_id"),
        ({"called_at": "2099-01-01T00:00:00+08:00"}, 422, "complaint.occurred_in_future", "called_at"),
    ],
)
def test_bad_orders_are_refused_in_the_one_error_shape(system, registered, handler, change, status, code, field):
    body = {k: v for k, v in {**order(registered), **change}.items() if v is not None}
    error = assert_error(send(system, body), status, code)
    assert field in error["fields"], error
    assert not Complaint.objects.exists()


def test_malformed_json_is_a_400(system):
    response = ApiClient().raw("post", URL, b"{not json", HTTP_X_HOTLINE_KEY=system.key)
    assert_error(response, 400, "request.malformed_json")


def test_a_new_operator_named_by_the_caller_becomes_an_unlicensed_record(system, registered, handler):
    body = order(registered, institution_id=None, institution_name="某小区家教点", town_code=TOWN_A)
    body.pop("institution_id")
    response = send(system, body)
    assert response.status_code == 201, response.content
    complaint = Complaint.objects.get()
    assert complaint.institution.name == "某小区家教点" and complaint.institution.status == "unlicensed"
    # A name the registry knows is that institution.
    by_name = {**order(registered, number="CQ-2"), "institution_id": None, "institution_name": registered.name}
    known = send(system, by_name)
    assert Complaint.objects.get(pk=known.json()["complaint_id"]).institution == registered


def test_an_order_merged_as_a_duplicate_hears_the_outcome_of_the_complaint_it_joined(
    system, registered, handler, parent, receiver, django_capture_on_commit_callbacks
):
    first = ApiClient(login_tokens(parent)["access"]).post("complaints", complaint_body(registered)).json()["id"]
    with django_capture_on_commit_callbacks(execute=True):
        duplicate = send(system, order(registered)).json()["complaint_id"]
        services.complaint_act(actor=handler, complaint_id=first, action="accept", data={})
        services.complaint_act(
            actor=handler, complaint_id=duplicate, action="reject", data={"reason": "duplicate", "duplicate_of": first}
        )
        for action in ("assign", "start"):
            services.complaint_act(actor=handler, complaint_id=first, action=action, data={})
        answer = {"outcome": "referred", "answer": "已移送市场监管局处理。", "referred_to": "区市场监管局"}
        services.complaint_act(actor=handler, complaint_id=first, action="answer", data=answer)
    events = receiver.delivered()
    assert [e["event"] for e in events] == ["received", "reject", "outcome_shared"]
    assert events[1]["status"] == "rejected" and events[1]["rejection_reason"] == "duplicate"
    shared = events[2]
    assert shared["outcome"] == "referred" and shared["referred_to"] == "区市场监管局"
    assert shared["merged_into"] == Complaint.objects.get(pk=first).tracking_number
