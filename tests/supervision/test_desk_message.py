"""A handler's message to the parent from the desk (no state change): in the parent's thread, and for a complaint
from a 12345 work order, an event in the durable outbox written with the message."""

from __future__ import annotations

import pytest

from supervision.complaints import services
from supervision.complaints.hotline import services as hotline
from supervision.models import Complaint, HotlineEvent
from tests.supervision.test_desk import ANSWER, filed, fresh, routed, signed_in  # noqa: F401 - routed is a fixture
from tests.supervision.test_hotline import order, send

pytestmark = pytest.mark.django_db
WORD = "您好，我们已联系机构核实，请保留好缴费凭证。"


@pytest.fixture
def taken(parent, registered, staff_a, routed):  # noqa: F811
    return services.complaint_take(actor=staff_a, complaint_id=filed(parent, registered).pk)


def test_the_handlers_message_reaches_the_parents_thread_without_changing_the_complaint(taken, staff_a, parent):
    response = signed_in(staff_a).post(f"/desk/complaints/{taken.pk}/message", {"version": taken.version,
                                                                                 "body": WORD})  # fmt: skip
    assert response.status_code == 302 and response["Location"].endswith("?done=message")
    c = fresh(taken)
    assert (c.status, c.version) == (taken.status, taken.version)
    [m] = c.messages.all()
    assert m.body == WORD and m.side == "bureau" and not m.awaiting_parent
    assert WORD in signed_in(parent).get(f"/complaints/{c.pk}/").content.decode()
    assert WORD in signed_in(staff_a).get(f"/desk/complaints/{c.pk}/").content.decode()  # on the timeline


def test_a_hotline_complaints_message_goes_to_the_outbox(supervisor, registered, staff_a, routed):  # noqa: F811
    system, key = hotline.system_register(actor=supervisor, name="重庆12345", callback_url="http://127.0.0.1:9/cb")
    system.key = key
    cid = send(system, order(registered)).json()["complaint_id"]
    services.complaint_take(actor=staff_a, complaint_id=cid)
    page = signed_in(staff_a).get(f"/desk/complaints/{cid}/").content.decode()
    assert "经 12345 转告来电人" in page and 'data-testid="hotline-order"' in page
    version = Complaint.objects.get(pk=cid).version
    response = signed_in(staff_a).post(f"/desk/complaints/{cid}/message", {"version": version, "body": WORD})
    assert response.status_code == 302
    event = HotlineEvent.objects.filter(order__complaint_id=cid).latest("sequence")
    assert event.kind == "message" and event.payload["message"] == WORD and event.state == "pending"


def test_bad_messages_and_outsiders_are_refused(taken, staff_a, staff_b, parent):
    for body in ("", "   ", "字" * 2001):
        response = signed_in(staff_a).post(f"/desk/complaints/{taken.pk}/message", {"version": taken.version,
                                                                                     "body": body})  # fmt: skip
        assert response.status_code in (400, 422)
        assert 'data-testid="field-error-message"' in response.content.decode()
    for outsider in (staff_b, parent):
        response = signed_in(outsider).post(f"/desk/complaints/{taken.pk}/message", {"body": WORD})
        assert response.status_code == 404
    assert not fresh(taken).messages.exists()


def test_no_message_on_a_finished_complaint(taken, staff_a, parent):
    services.complaint_conclude(actor=staff_a, complaint_id=taken.pk, outcome="substantiated", answer=ANSWER)
    services.complaint_act(actor=parent, complaint_id=taken.pk, action="rate", data={"rating": 5})
    page = signed_in(staff_a).get(f"/desk/complaints/{taken.pk}/").content.decode()
    assert 'data-testid="action-message"' not in page
    response = signed_in(staff_a).post(f"/desk/complaints/{taken.pk}/message", {"body": WORD})
    assert response.status_code == 409 and not fresh(taken).messages.exists()
