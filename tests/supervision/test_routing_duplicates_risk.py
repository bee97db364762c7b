"""The routing table, possible duplicates and merging, and the risk grade fed by confirmed complaints."""

import pytest
from asgiref.sync import async_to_sync

from core.models import AuditEvent, Notification
from institutions import risk
from supervision.complaints.services import complaint_risk_signals
from supervision.models import Complaint, RoutingRule
from tests.conftest import TOWN_A, assert_error, make_user, region

from .conftest import file

pytestmark = pytest.mark.django_db


def act(api, cid, action, **fields):
    return api.post(f"complaints/{cid}/actions", {"action": action, **fields})


def to_answer(api, cid, outcome="substantiated", **extra):
    for action in ("accept", "assign", "start"):
        assert act(api, cid, action).status_code == 200
    response = act(api, cid, "answer", outcome=outcome, answer="经查，情况如下。", **extra)
    assert response.status_code == 200, response.content
    return response.json()


# --- Routing --------------------------------------------------------------------------------------------------------


def test_the_most_specific_rule_wins_otherwise_the_district_queue(api_as, parent, registered, staff_a, supervisor):
    from accounts.models import Role

    refunds = make_user("退费专员", Role.BUREAU_STAFF, region=region(TOWN_A))
    admin = api_as(supervisor)
    assert admin.post("complaint-routing", {"town_id": registered.town_id, "handler_id": staff_a.pk}).status_code == 201
    made = admin.post(
        "complaint-routing", {"town_id": registered.town_id, "category": "refund", "handler_id": refunds.pk}
    )
    assert made.status_code == 201 and made.json()["category"] == "refund"
    assert len(admin.get("complaint-routing").json()) == 2

    p = api_as(parent)
    assert Complaint.objects.get(pk=file(p, registered, category="refund").json()["id"]).handler == refunds
    assert Complaint.objects.get(pk=file(p, registered, category="safety").json()["id"]).handler == staff_a

    # Replacing a rule keeps one active rule per town and category; removing it sends complaints to the queue.
    admin.post("complaint-routing", {"town_id": registered.town_id, "handler_id": refunds.pk})
    assert RoutingRule.objects.filter(is_active=True).count() == 2
    for rule in RoutingRule.objects.filter(is_active=True):
        assert admin.raw("delete", f"complaint-routing/{rule.pk}", b"").status_code == 204
    queued = file(p, registered, category="safety").json()
    assert queued["routed_to_handler"] is False
    assert api_as(supervisor).get("complaints", {"queue": "true"}).json()["count"] == 1
    assert Notification.objects.filter(recipient=supervisor, kind="complaint.submitted").count() == 1
    assert AuditEvent.objects.filter(verb="complaint.routing_set").count() == 3


def test_routing_refuses_handlers_who_do_not_cover_the_town(api_as, supervisor, staff_b, registered):
    error = assert_error(
        api_as(supervisor).post("complaint-routing", {"town_id": registered.town_id, "handler_id": staff_b.pk}),
        422,
        "complaint.handler_not_eligible",
    )
    assert "handler_id" in error["fields"]
    assert_error(
        api_as(supervisor).post("complaint-routing", {"category": "nope", "handler_id": staff_b.pk}),
        422,
        "complaint.unknown_category",
    )


# --- Duplicates and merging -----------------------------------------------------------------------------------------


def test_possible_duplicates_are_shown_and_merging_tells_every_parent_the_one_outcome(
    api_as, parent, other_parent, registered, staff_a, django_capture_on_commit_callbacks
):
    first = file(api_as(parent), registered).json()["id"]
    second = file(api_as(other_parent), registered).json()["id"]
    other_category = file(api_as(other_parent), registered, category="safety").json()["id"]
    h = api_as(staff_a)
    dupes = h.get(f"complaints/{second}").json()["possible_duplicates"]
    assert [d["id"] for d in dupes] == [first]  # same institution and category; not the safety complaint
    assert other_category not in [d["id"] for d in dupes]

    merged = act(h, second, "merge", duplicate_of=first)
    assert merged.status_code == 200, merged.content
    body = merged.json()
    assert body["status"] == "rejected" and body["rejection_reason"] == "duplicate"
    assert body["merged_into"]["tracking_number"] == Complaint.objects.get(pk=first).tracking_number
    assert_error(act(h, second, "merge", duplicate_of=first), 409, "complaint.invalid_transition")
    assert_error(act(h, first, "merge", duplicate_of=first), 422, "complaint.duplicate_of")

    with django_capture_on_commit_callbacks(execute=True):
        to_answer(h, first, outcome="substantiated")
    seen_by_second_parent = api_as(other_parent).get(f"complaints/{second}").json()
    assert seen_by_second_parent["outcome"] == "substantiated"
    assert seen_by_second_parent["answer"] == "经查，情况如下。"
    assert seen_by_second_parent["merged_into"]["status"] == "answered"
    assert Notification.objects.filter(recipient=other_parent, kind="complaint.answer").exists()
    assert Notification.objects.filter(recipient=parent, kind="complaint.answer").exists()
    # Merged duplicates count once in the risk grade.
    assert complaint_risk_signals(registered.pk) == {"complaints_substantiated_12m": 1}


def test_reject_as_duplicate_is_a_merge(api_as, parent, other_parent, registered, staff_a):
    first = file(api_as(parent), registered).json()["id"]
    second = file(api_as(other_parent), registered).json()["id"]
    assert_error(act(api_as(staff_a), second, "reject", reason="duplicate"), 422, "complaint.duplicate_of")
    done = act(api_as(staff_a), second, "reject", reason="duplicate", duplicate_of=first).json()
    assert done["merged_into"] is not None


# --- Risk -----------------------------------------------------------------------------------------------------------


def test_a_confirmed_substantiated_complaint_raises_the_risk_grade(
    api_as, parent, registered, staff_a, django_capture_on_commit_callbacks
):
    assert registered.risk_updated_at is None
    assert risk.assess(registered).signals.get("complaints_substantiated_12m") == 0
    h = api_as(staff_a)
    cid = file(api_as(parent), registered).json()["id"]
    with django_capture_on_commit_callbacks(execute=True):
        to_answer(h, cid, outcome="substantiated")
    assert complaint_risk_signals(registered.pk) == {"complaints_substantiated_12m": 1}
    registered.refresh_from_db()
    assert registered.risk_updated_at is not None  # recomputed after the answer was committed
    assert registered.risk_grade == risk.assess(registered).grade
    assert risk.assess(registered).signal_points == 2


def test_an_unconfirmed_institution_does_not_count_until_the_bureau_confirms_it(
    api_as, parent, staff_a, django_capture_on_commit_callbacks
):
    cid = file(
        api_as(parent),
        new_institution_name="无名托管班",
        new_institution_address="敦仁街道某小区",
        town_id=region(TOWN_A).pk,
    ).json()["id"]
    h = api_as(staff_a)
    with django_capture_on_commit_callbacks(execute=True):
        to_answer(h, cid, outcome="substantiated")
    institution_id = Complaint.objects.get(pk=cid).institution_id
    assert complaint_risk_signals(institution_id) == {"complaints_substantiated_12m": 0}
    with django_capture_on_commit_callbacks(execute=True):
        confirmed = act(h, cid, "confirm_institution")
    assert confirmed.json()["institution"]["confirmed"] is True
    assert complaint_risk_signals(institution_id) == {"complaints_substantiated_12m": 1}
    assert AuditEvent.objects.filter(verb="complaint.confirm_institution", object_id=str(cid)).exists()


def test_the_nightly_recompute_asks_supervision_for_its_signals(api_as, parent, registered, staff_a):
    cid = file(api_as(parent), registered).json()["id"]
    to_answer(api_as(staff_a), cid, outcome="partly_substantiated")
    result = risk.risk_recompute(registered.pk)  # what the beat job does, with no signals passed
    assert result.signals["complaints_substantiated_12m"] == 1


# --- Websocket push -------------------------------------------------------------------------------------------------


def test_the_parent_gets_a_push_when_the_handler_acts(
    api_as, parent, registered, staff_a, django_capture_on_commit_callbacks
):
    """After commit, the event goes to the parent's group on the channel layer (what /ws/notifications/ relays; the
    consumer itself is tested in tests/core/test_websocket.py)."""
    from channels.layers import get_channel_layer

    from core.notifications import user_group

    cid = file(api_as(parent), registered).json()["id"]
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(user_group(parent.pk), channel)
    with django_capture_on_commit_callbacks(execute=True):
        assert act(api_as(staff_a), cid, "accept").status_code == 200
    message = async_to_sync(layer.receive)(channel)
    event = message["event"]
    assert message["type"] == "notification.event" and event["type"] == "complaint.accept"
    assert event["payload"]["object"] == {"type": "supervision.complaint", "id": str(cid)}
    assert event["payload"]["status"] == "accepted"
    assert event["id"] == Notification.objects.get(recipient=parent, kind="complaint.accept").pk
