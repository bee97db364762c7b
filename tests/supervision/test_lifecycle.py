"""The whole life of one complaint through the API, from filing to rating, and the rules of each step."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from core.models import AuditEvent, Notification
from supervision.models import Complaint
from tests.conftest import assert_error
from tests.factories import RoutingRuleFactory

from .conftest import file

pytestmark = pytest.mark.django_db


def act(api, complaint_id, action, **fields):
    return api.post(f"complaints/{complaint_id}/actions", {"action": action, **fields})


def kinds(user):
    return list(Notification.objects.filter(recipient=user).order_by("id").values_list("kind", flat=True))


def test_the_whole_life_of_a_complaint(
    api_as, parent, registered, staff_a, supervisor, inst_staff, django_capture_on_commit_callbacks
):
    RoutingRuleFactory(town=registered.town, handler=staff_a)
    p, h, i = api_as(parent), api_as(staff_a), api_as(inst_staff)

    filed = file(p, registered, disclose_identity=False)
    assert filed.status_code == 201 and filed.json()["routed_to_handler"] is True
    cid = filed.json()["id"]
    assert kinds(staff_a) == ["complaint.submitted"]

    listed = h.get("complaints", {"mine": "true"}).json()
    assert [row["id"] for row in listed["items"]] == [cid]
    detail = h.get(f"complaints/{cid}").json()
    assert detail["actions"][:2] == ["accept", "reject"]
    assert detail["parent_contact"] == {"name": parent.name, "phone": parent.phone}

    accepted = act(h, cid, "accept", version=detail["version"])
    assert accepted.status_code == 200, accepted.content
    assert accepted.json()["status"] == "accepted" and accepted.json()["sla_phase"] == "answer"
    assert accepted.json()["due_on"] > detail["due_on"]
    assert act(h, cid, "assign").json()["status"] == "assigned"  # to the caller by default
    assert act(h, cid, "start").json()["status"] == "investigating"

    # The handler asks the parent for more: the clock pauses until the parent answers.
    asked = h.post(f"complaints/{cid}/messages", {"body": "请提供缴费凭证照片。", "awaiting_parent": True})
    assert asked.status_code == 201
    assert p.get(f"complaints/{cid}").json()["paused"] is True
    assert p.post(f"complaints/{cid}/messages", {"body": "凭证已补充在附件说明里。"}).status_code == 201
    assert p.get(f"complaints/{cid}").json()["paused"] is False
    thread = p.get(f"complaints/{cid}/messages").json()
    assert [m["side"] for m in thread] == ["bureau", "parent"] and thread[1]["author"] == "家长"

    # The institution is asked for its statement and answers without learning who complained.
    sr = h.post(f"complaints/{cid}/statement-requests", {"question": "请说明退费申请的处理情况。"})
    assert sr.status_code == 201
    inbox = i.get("statement-requests").json()
    assert inbox["count"] == 1 and inbox["items"][0]["complainant"] is None
    assert parent.name not in str(inbox) and parent.phone not in str(inbox)
    answered = i.post(f"statement-requests/{sr.json()['id']}/answer", {"statement": "已同意按剩余课时退费。"})
    assert answered.status_code == 200 and answered.json()["state"] == "answered"
    assert_error(i.post(f"statement-requests/{sr.json()['id']}/answer", {"statement": "再说一次。"}), 409)
    assert h.get(f"complaints/{cid}").json()["statements"][0]["statement"] == "已同意按剩余课时退费。"

    # Answer: outcome kept apart from the state.
    with django_capture_on_commit_callbacks(execute=True):
        answer = act(h, cid, "answer", outcome="substantiated", answer="经查属实，已责令机构退费。")
    assert answer.json()["status"] == "answered" and answer.json()["outcome"] == "substantiated"
    assert p.get(f"complaints/{cid}").json()["actions"] == ["rate", "reopen"]

    # The parent reopens once, with a comment: back to investigating.
    reopened = act(p, cid, "reopen", comment="机构至今未退费。")
    assert reopened.json()["status"] == "investigating" and reopened.json()["reopen_comment"] == "机构至今未退费。"
    act(h, cid, "answer", outcome="referred", referred_to="涪陵区市场监督管理局", answer="已移送市场监管部门处理退费。")
    assert_error(act(p, cid, "reopen", comment="还是没退。"), 409, "complaint.reopen_used")

    rated = act(p, cid, "rate", rating=4, comment="处理及时。")
    body = rated.json()
    assert body["status"] == "closed" and body["rating"] == 4 and body["closed_how"] == "rated"
    assert body["outcome"] == "referred" and body["referred_to"] == "涪陵区市场监督管理局"

    events = AuditEvent.objects.filter(object_type="supervision.complaint", object_id=str(cid))
    assert events.filter(verb="complaint.outcome_sms").exists()  # the parent was texted the outcome
    verbs = list(
        events.exclude(verb__in=["personal_data.view", "complaint.outcome_sms"])
        .order_by("at", "id")
        .values_list("verb", "from_state", "to_state")
    )
    assert verbs == [
        ("complaint.submit", "", "submitted"),
        ("complaint.accept", "submitted", "accepted"),
        ("complaint.assign", "accepted", "assigned"),
        ("complaint.start", "assigned", "investigating"),
        ("complaint.pause", "investigating", "investigating"),
        ("complaint.resume", "investigating", "investigating"),
        ("complaint.answer", "investigating", "answered"),
        ("complaint.reopen", "answered", "investigating"),
        ("complaint.answer", "investigating", "answered"),
        ("complaint.rate", "answered", "closed"),
    ]
    # The parent heard of every change made by others; the handler of the parent's.
    parent_kinds = kinds(parent)
    for kind in ("complaint.accept", "complaint.assign", "complaint.start", "complaint.message", "complaint.answer"):
        assert kind in parent_kinds
    assert {"complaint.message", "complaint.reopen", "complaint.rate", "statement.answered"} <= set(kinds(staff_a))
    assert kinds(inst_staff) == ["statement.requested"]


def test_parents_and_handlers_may_only_do_their_own_steps(api_as, parent, registered, staff_a):
    cid = file(api_as(parent), registered).json()["id"]
    assert_error(act(api_as(parent), cid, "accept"), 403, "permission_denied")
    assert_error(act(api_as(staff_a), cid, "rate", rating=5), 403)
    assert_error(
        act(api_as(staff_a), cid, "answer", outcome="substantiated", answer="x"), 409, "complaint.invalid_transition"
    )
    assert_error(act(api_as(staff_a), cid, "fly"), 422)


def test_reject_needs_a_reason_and_a_comment(api_as, parent, registered, staff_a):
    cid = file(api_as(parent), registered).json()["id"]
    h = api_as(staff_a)
    assert_error(act(h, cid, "reject"), 422, "complaint.rejection_reason")
    assert_error(act(h, cid, "reject", reason="out_of_remit"), 422, "complaint.field_required")
    done = act(h, cid, "reject", reason="out_of_remit", comment="属于学校内部管理问题，请向学校反映。")
    assert done.json()["status"] == "rejected" and done.json()["rejection_reason"] == "out_of_remit"
    assert done.json()["due_on"] is None
    assert "complaint.reject" in kinds(parent)


def test_answer_referred_needs_the_agency(api_as, parent, registered, staff_a):
    cid = file(api_as(parent), registered).json()["id"]
    h = api_as(staff_a)
    for action in ("accept", "assign", "start"):
        act(h, cid, action)
    assert_error(act(h, cid, "answer", outcome="referred", answer="已移送。"), 422, "complaint.field_required")
    assert_error(act(h, cid, "answer", answer="没有结论。"), 422, "complaint.outcome")


def test_reopen_only_within_seven_days_of_the_answer(api_as, parent, registered, staff_a):
    cid = file(api_as(parent), registered).json()["id"]
    h = api_as(staff_a)
    for action in ("accept", "assign", "start"):
        act(h, cid, action)
    act(h, cid, "answer", outcome="not_substantiated", answer="经查不属实。")
    Complaint.objects.filter(pk=cid).update(answered_at=timezone.now() - timedelta(days=8))
    assert_error(act(api_as(parent), cid, "reopen", comment="不同意。"), 409, "complaint.reopen_expired")
    assert_error(act(api_as(parent), cid, "rate", rating=6), 422)
    assert_error(act(api_as(parent), cid, "rate", rating=0), 422)


def test_a_stale_version_is_refused(api_as, parent, registered, staff_a, supervisor):
    cid = file(api_as(parent), registered).json()["id"]
    seen = api_as(supervisor).get(f"complaints/{cid}").json()["version"]
    assert act(api_as(staff_a), cid, "accept", version=seen).status_code == 200
    assert_error(
        act(api_as(supervisor), cid, "reject", reason="out_of_remit", comment="x" * 5, version=seen),
        409,
        "complaint.conflict",
    )


def test_no_messages_once_closed(api_as, parent, registered, staff_a):
    cid = file(api_as(parent), registered).json()["id"]
    act(api_as(staff_a), cid, "reject", reason="insufficient_information", comment="信息不足，无法核实。")
    assert_error(api_as(parent).post(f"complaints/{cid}/messages", {"body": "补充"}), 409, "complaint.closed")
    assert_error(api_as(parent).post(f"complaints/{cid}/messages", {"body": "补充", "awaiting_parent": True}), 409)


def test_only_the_handler_pauses_the_clock(api_as, parent, registered, staff_a):
    cid = file(api_as(parent), registered).json()["id"]
    act(api_as(staff_a), cid, "accept")
    assert_error(
        api_as(parent).post(f"complaints/{cid}/messages", {"body": "我想暂停", "awaiting_parent": True}),
        422,
        "complaint.cannot_pause",
    )


def test_the_sweep_closes_unrated_answers_after_seven_days(api_as, parent, registered, staff_a):
    from supervision.complaints.services import complaint_sweep

    cid = file(api_as(parent), registered).json()["id"]
    h = api_as(staff_a)
    for action in ("accept", "assign", "start"):
        act(h, cid, action)
    act(h, cid, "answer", outcome="partly_substantiated", answer="部分属实。")
    with time_machine.travel(timezone.now() + timedelta(days=6, hours=23)):
        assert complaint_sweep()["closed"] == 0
    with time_machine.travel(timezone.now() + timedelta(days=7, hours=1)):
        assert complaint_sweep()["closed"] == 1
        assert complaint_sweep()["closed"] == 0
    c = Complaint.objects.get(pk=cid)
    assert c.status == "closed" and c.closed_how == "auto" and c.rating is None
    assert AuditEvent.objects.filter(verb="complaint.auto_close", object_id=str(cid), to_state="closed").exists()
    assert "complaint.closed" in kinds(parent)
